package tokenize

import (
	"fmt"
	"sort"
)

// vocab is an id <-> token table whose first entries are Specials.
type vocab struct {
	tokens []string
	ids    map[string]int32
}

func newVocab(tokens []string) vocab {
	ids := make(map[string]int32, len(tokens))
	for i, t := range tokens {
		ids[t] = int32(i)
	}
	return vocab{tokens: tokens, ids: ids}
}

func (v *vocab) VocabSize() int { return len(v.tokens) }

func (v *vocab) Token(id int32) string {
	if id < 0 || int(id) >= len(v.tokens) {
		return ""
	}
	return v.tokens[id]
}

func (v *vocab) ID(token string) (int32, bool) {
	id, ok := v.ids[token]
	return id, ok
}

// vocabFromMap turns a tokenizer.json vocab into an id-ordered table. It
// fails unless the ids are exactly 0..n-1 and the specials sit at their
// fixed ids.
func vocabFromMap(m map[string]int) ([]string, error) {
	toks := make([]string, len(m))
	seen := make([]bool, len(m))
	for t, id := range m {
		if id < 0 || id >= len(m) || seen[id] {
			return nil, fmt.Errorf("vocab ids are not 0..%d", len(m)-1)
		}
		seen[id] = true
		toks[id] = t
	}
	for i, s := range Specials {
		if i >= len(toks) || toks[i] != s {
			return nil, fmt.Errorf("special token %q is not at id %d", s, i)
		}
	}
	return toks, nil
}

// countedToken is a token with its corpus frequency.
type countedToken struct {
	tok string
	n   int64
}

// sortCounts orders by count descending, then token ascending.
func sortCounts(c map[string]int64) []countedToken {
	out := make([]countedToken, 0, len(c))
	for t, n := range c {
		out = append(out, countedToken{t, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].tok < out[j].tok
	})
	return out
}
