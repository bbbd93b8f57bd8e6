package corpora

import (
	"fmt"
	"io"
	"iter"
	"strings"
)

// Pair is one sentence pair of a parallel corpus.
type Pair struct {
	Source      string // e.g. the English sentence
	Target      string // e.g. the Spanish sentence
	Attribution string // the third Tatoeba column, if any
	Line        int    // 1-based line number
}

// ReadPairs streams a Tatoeba/manythings TSV file: one pair per line,
// Source<TAB>Target, optionally <TAB>attribution ("CC-BY 2.0 (France)
// Attribution: tatoeba.org #...") as in newer manythings files. Fields are
// trimmed of surrounding spaces. Blank lines are skipped; a line with another
// number of columns or an empty side is a *RecordError.
func ReadPairs(r io.Reader, o ReadOptions) iter.Seq2[Pair, error] {
	return func(yield func(Pair, error) bool) {
		lr := newLineReader(r, o)
		for {
			s, n, err := lr.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !yieldErr(err, yield) {
					return
				}
				continue
			}
			if strings.TrimSpace(s) == "" {
				continue
			}
			p, err := parsePair(s)
			if err != nil {
				if !yield(Pair{}, lr.errorf(n, err)) {
					return
				}
				continue
			}
			p.Line = n
			if !yield(p, nil) {
				return
			}
		}
	}
}

func parsePair(s string) (Pair, error) {
	f := strings.Split(s, "\t")
	if len(f) != 2 && len(f) != 3 {
		return Pair{}, fmt.Errorf("want 2 or 3 tab-separated columns (source, target[, attribution]), got %d", len(f))
	}
	p := Pair{Source: strings.TrimSpace(f[0]), Target: strings.TrimSpace(f[1])}
	if len(f) == 3 {
		p.Attribution = strings.TrimSpace(f[2])
	}
	if p.Source == "" || p.Target == "" {
		return Pair{}, fmt.Errorf("empty sentence in the pair")
	}
	return p, nil
}
