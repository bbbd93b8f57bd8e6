package corpora

import (
	"math"
	"slices"
	"strings"
	"unicode"
)

// BlockOptions tunes BlockSplit. DefaultBlockOptions gives the values
// measured on IMDB's train reviews; a zero field means zero.
type BlockOptions struct {
	// Gap drops this many training items of each class just before its
	// validation block, so that a run of related items (one movie's
	// reviews) straddling the boundary does not sit on both sides.
	Gap int
	// MaxDF: a key links items only when at most this many items carry it
	// (and at least two), so that it names one source (a film, its cast),
	// not a common phrase.
	MaxDF int
	// Bin is the width, in positions within a class, of the windows in
	// which links to the validation items of other classes are counted.
	Bin int
	// Sigmas: a window whose link count exceeds the median window's by more
	// than Sigmas Poisson standard deviations (plus MinExcess) is taken for
	// a run of the validation items' sources and dropped from training,
	// with one window of margin on each side.
	Sigmas, MinExcess float64
}

// DefaultBlockOptions returns the options used by `rnnkit train sentiment
// --split block`: a gap of 30 items (IMDB holds at most 30 reviews of a
// film), keys seen 2-6 times, windows of 100 items, 6 sigmas plus 5.
func DefaultBlockOptions() BlockOptions {
	return BlockOptions{Gap: 30, MaxDF: 6, Bin: 100, Sigmas: 6, MinExcess: 5}
}

// BlockReport says what BlockSplit dropped from training, and why.
type BlockReport struct {
	// Gap is the number of items dropped at the class boundaries.
	Gap int
	// Linked lists the windows dropped because they are linked to the
	// validation items of other classes.
	Linked []LinkedRun
}

// Dropped is the number of items in neither part.
func (r BlockReport) Dropped() int {
	n := r.Gap
	for _, l := range r.Linked {
		n += l.Items
	}
	return n
}

// LinkedRun is a window of one class's items (positions [From, To) among
// that class's items in input order) that shares unusually many rare keys
// with the validation items of other classes.
type LinkedRun struct {
	Class, From, To, Items int
	Links                  int     // rare keys shared with validation items of other classes
	Median                 float64 // links in the median window of the class
}

// BlockSplit splits labelled items, given in their original order, so that
// sources (a film, a product, an author) are not shared across the split,
// for data that keeps the items of one source together, as IMDB's files do.
// The last valFrac of each class's items (in input order) go to
// validation. The rest is training, except
//
//   - Gap items of each class just before its validation block, and
//   - windows of a class's training items that share many rare keys (see
//     NameKeys) with the validation items of the other classes: the
//     other-class reviews of the held-out sources, wherever the file put
//     them.
//
// classes[i] is item i's class (0..k-1) and keys[i] its keys (nil for
// none: the window test is then skipped).
func BlockSplit(classes []int, keys [][]string, valFrac float64, o BlockOptions) (Splits, BlockReport) {
	mustFractions(valFrac, 0)
	k := 0
	for _, c := range classes {
		k = max(k, c+1)
	}
	members := make([][]int, k) // members[c]: item indices of class c in order
	for i, c := range classes {
		members[c] = append(members[c], i)
	}
	const (
		train = iota
		val
		dropped
	)
	part := make([]uint8, len(classes))
	var rep BlockReport
	for _, m := range members {
		nVal := min(len(m), int(math.Round(float64(len(m))*valFrac)))
		start := len(m) - nVal
		for _, i := range m[start:] {
			part[i] = val
		}
		if nVal > 0 {
			gap := min(o.Gap, start/10) // never more than a tenth of the class's training items
			for _, i := range m[start-gap : start] {
				part[i] = dropped
				rep.Gap++
			}
		}
	}
	if keys != nil && o.Bin > 0 {
		df := map[string]int{}
		for _, ks := range keys {
			for _, key := range dedupe(ks) {
				df[key]++
			}
		}
		rare := func(key string) bool { n := df[key]; return n >= 2 && n <= o.MaxDF }
		// valKeys[c]: the rare keys of the validation items of class c.
		valKeys := make([]map[string]bool, k)
		for c := range valKeys {
			valKeys[c] = map[string]bool{}
		}
		for i, ks := range keys {
			if part[i] == val {
				for _, key := range ks {
					if rare(key) {
						valKeys[classes[i]][key] = true
					}
				}
			}
		}
		for c, m := range members {
			bins := make([]int, (len(m)+o.Bin-1)/o.Bin)
			for pos, i := range m {
				if part[i] != train {
					continue
				}
				for _, key := range dedupe(keys[i]) {
					for v := range valKeys {
						if v != c && valKeys[v][key] {
							bins[pos/o.Bin]++
						}
					}
				}
			}
			if len(bins) == 0 {
				continue
			}
			sorted := slices.Clone(bins)
			slices.Sort(sorted)
			med := float64(sorted[len(sorted)/2])
			threshold := med + o.Sigmas*math.Sqrt(med) + o.MinExcess
			hot := make([]bool, len(bins)+2) // with one window of margin each side
			for b, n := range bins {
				if float64(n) > threshold {
					hot[b], hot[b+1], hot[b+2] = true, true, true
				}
			}
			for b := 0; b < len(bins); {
				if !hot[b+1] {
					b++
					continue
				}
				run := LinkedRun{Class: c, From: b * o.Bin, Median: med}
				for ; b < len(bins) && hot[b+1]; b++ {
					run.Links += bins[b]
				}
				run.To = min(len(m), b*o.Bin)
				for _, i := range m[run.From:run.To] {
					if part[i] == train {
						part[i] = dropped
						run.Items++
					}
				}
				rep.Linked = append(rep.Linked, run)
			}
		}
	}
	var s Splits
	for i, p := range part {
		switch p {
		case train:
			s.Train = append(s.Train, i)
		case val:
			s.Validation = append(s.Validation, i)
		}
	}
	return s, rep
}

func dedupe(ks []string) []string {
	if len(ks) < 2 {
		return ks
	}
	out := slices.Clone(ks)
	slices.Sort(out)
	return slices.Compact(out)
}

// NameKeys returns the names in a text: runs of two or more capitalised
// words ("Stanley Kubrick", "Bromwell High"), joined by single spaces, in
// order of appearance and without repeats. In reviews they name films,
// casts and characters, so items that share a rare one are likely about
// the same film. Markup such as "<br />" separates words.
func NameKeys(text string) []string {
	var names, run []string
	seen := map[string]bool{}
	flush := func() {
		if len(run) >= 2 {
			if n := strings.Join(run, " "); !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
		run = run[:0]
	}
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || r == '<' || r == '>' || r == '/' }) {
		word, trail := trimWord(f)
		if isCapitalised(word) {
			run = append(run, word)
		} else {
			flush()
			continue
		}
		if trail { // punctuation after the word ends the name
			flush()
		}
	}
	flush()
	return names
}

// trimWord strips punctuation around a word and says whether some followed it.
func trimWord(f string) (string, bool) {
	w := strings.TrimLeftFunc(f, func(r rune) bool { return !unicode.IsLetter(r) })
	t := strings.TrimRightFunc(w, func(r rune) bool { return !unicode.IsLetter(r) })
	return t, len(t) < len(w)
}

// isCapitalised: an upper-case letter followed by at least one lower-case
// letter and only letters ("Kubrick", not "I", "USA" or "x").
func isCapitalised(w string) bool {
	rs := []rune(w)
	if len(rs) < 2 || !unicode.IsUpper(rs[0]) {
		return false
	}
	for _, r := range rs[1:] {
		if !unicode.IsLower(r) {
			return false
		}
	}
	return true
}
