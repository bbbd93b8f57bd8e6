package seq2seq

import (
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AugmentOptions configure Augment. Each fraction is the share of the
// eligible training pairs that get one altered copy; 0 turns that kind off.
type AugmentOptions struct {
	// Names: pairs holding a name (HarvestNames) on both sides get a copy
	// with the name replaced, on both sides, by another harvested name or an
	// invented one, so the model learns to copy names it has never seen
	// ("My name is Anna.") instead of spelling a similar word.
	Names float64
	// NoPunct: pairs get a copy whose source lacks its final . ! or ?, as
	// people often type it; the target keeps its punctuation.
	NoPunct float64
	// Lower: pairs get a copy with a lowercased source.
	Lower float64
	// Short: pairs whose source has at most ShortWords words get this many
	// extra copies, so that greetings, thanks and one-word answers, which
	// are rare among Tatoeba's pairs, weigh more in training.
	Short      int
	ShortWords int // 0 = 3
	Seed       uint64
}

// DefaultAugmentOptions are the augmentations the default translators
// were trained with.
func DefaultAugmentOptions() AugmentOptions {
	return AugmentOptions{Names: 0.25, NoPunct: 0.05, Lower: 0.03, Seed: 1}
}

// Augment returns pairs followed by the altered copies opt asks for, in a
// deterministic order (a function of pairs and opt only), so a resumed
// training sees the same data. Apply it to the training part only, after
// the validation split.
func Augment(pairs []Pair, opt AugmentOptions) []Pair {
	out := slices.Clip(pairs)
	rng := rand.New(rand.NewPCG(opt.Seed, 0xa06))
	var names []string
	isName := map[string]bool{}
	if opt.Names > 0 {
		names = HarvestNames(pairs, 2)
		for _, n := range names {
			isName[n] = true
		}
		names = append(names, inventNames(rng, len(names)+200)...)
	}
	shortWords := opt.ShortWords
	if shortWords <= 0 {
		shortWords = 3
	}
	for _, p := range pairs {
		if opt.Short > 0 && len(strings.Fields(p.Source)) <= shortWords {
			for range opt.Short {
				out = append(out, p)
			}
		}
		if opt.Names > 0 && len(names) > 1 {
			if n := sharedName(p, isName); n != "" && rng.Float64() < opt.Names {
				r := names[rng.IntN(len(names))]
				for r == n {
					r = names[rng.IntN(len(names))]
				}
				out = append(out, Pair{Source: replaceWord(p.Source, n, r), Target: replaceWord(p.Target, n, r)})
			}
		}
		if opt.NoPunct > 0 && rng.Float64() < opt.NoPunct {
			if s := strings.TrimRight(p.Source, ".!? "); s != "" && s != p.Source {
				out = append(out, Pair{Source: s, Target: p.Target})
			}
		}
		if opt.Lower > 0 && rng.Float64() < opt.Lower {
			if s := strings.ToLower(p.Source); s != p.Source {
				out = append(out, Pair{Source: s, Target: p.Target})
			}
		}
	}
	return out
}

// HarvestNames finds the names in pairs: capitalised words of two or more
// letters that occur, spelt the same, on both sides of at least minPairs
// pairs, never as the first word of the source, and never in lower case
// on the source side (so "English" or "Monday", which the target spells
// differently or in lower case, are left out). Sorted.
func HarvestNames(pairs []Pair, minPairs int) []string {
	count := map[string]int{}
	lower := map[string]bool{}
	for _, p := range pairs {
		tw := map[string]bool{}
		for _, w := range splitWords(p.Target) {
			tw[w] = true
		}
		seen := map[string]bool{}
		for i, w := range splitWords(p.Source) {
			r, _ := utf8.DecodeRuneInString(w)
			if !unicode.IsUpper(r) {
				lower[w] = true
				continue
			}
			if i == 0 || seen[w] || utf8.RuneCountInString(w) < 2 || !tw[w] || strings.ToUpper(w) == w {
				continue
			}
			seen[w] = true
			count[w]++
		}
	}
	var out []string
	for w, c := range count {
		if c >= minPairs && !lower[strings.ToLower(w)] {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// sharedName is a name of isName that occurs as often in the source as in
// the target of p (the first such, or "").
func sharedName(p Pair, isName map[string]bool) string {
	tw := splitWords(p.Target)
	for _, w := range splitWords(p.Source) {
		if isName[w] && countWord(tw, w) == countWord(splitWords(p.Source), w) {
			return w
		}
	}
	return ""
}

func countWord(ws []string, w string) int {
	n := 0
	for _, x := range ws {
		if x == w {
			n++
		}
	}
	return n
}

// splitWords cuts s into maximal runs of letters.
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
}

// replaceWord replaces every whole-word occurrence of old in s by new.
func replaceWord(s, old, new string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], old)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		j += i
		before, _ := utf8.DecodeLastRuneInString(s[:j])
		after, _ := utf8.DecodeRuneInString(s[j+len(old):])
		b.WriteString(s[i:j])
		if (j == 0 || !unicode.IsLetter(before)) && (j+len(old) == len(s) || !unicode.IsLetter(after)) {
			b.WriteString(new)
		} else {
			b.WriteString(old)
		}
		i = j + len(old)
	}
	return b.String()
}

// inventNames makes n pronounceable capitalised names of two or three
// syllables ("Kelaro", "Tima").
func inventNames(rng *rand.Rand, n int) []string {
	cons := []string{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr", "st"}
	vow := []string{"a", "e", "i", "o", "u"}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for range 2 + rng.IntN(2) {
			b.WriteString(cons[rng.IntN(len(cons))])
			b.WriteString(vow[rng.IntN(len(vow))])
		}
		if rng.IntN(3) == 0 {
			b.WriteString([]string{"n", "r", "s", "l"}[rng.IntN(4)])
		}
		w := b.String()
		out[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return out
}
