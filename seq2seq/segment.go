package seq2seq

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SegmentPairs finds the shorter pairs that lie inside pairs, for
// training on the short, everyday sentences that Tatoeba holds mostly
// inside longer ones ("Goodbye. See you tomorrow." / "Adiós. Hasta
// mañana." holds "Goodbye." / "Adiós."):
//
//   - a pair whose source and target are both two or more sentences, the
//     same number on each side, gives each aligned sentence pair;
//   - a pair whose source and target both address the same person, as
//     ", Tom." at the end or "Tom, " at the start, gives the pair without
//     the name ("Good luck, Tom." / "Buena suerte, Tom." gives "Good
//     luck." / "Buena suerte.").
//
// Aligned sentences whose lengths differ much more than the pair's own do
// are left out. It returns only pairs that are new (neither in pairs nor
// found twice), in the order found; a function of pairs only. Drop those
// that are near-duplicates of the validation pairs (DropNearDuplicates)
// before training on them, or validation stops predicting new text.
func SegmentPairs(pairs []Pair) []Pair {
	type key struct{ src, tgt string }
	seen := make(map[key]bool, len(pairs))
	for _, p := range pairs {
		seen[key{p.Source, p.Target}] = true
	}
	var out []Pair
	add := func(p Pair) {
		k := key{p.Source, p.Target}
		if p.Source == "" || p.Target == "" || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, p)
	}
	for _, p := range pairs {
		if ss, ts := Sentences(p.Source), Sentences(p.Target); len(ss) >= 2 && len(ss) == len(ts) {
			ratio := float64(utf8.RuneCountInString(p.Target)) / float64(max(1, utf8.RuneCountInString(p.Source)))
			aligned := true
			for i := range ss {
				r := float64(utf8.RuneCountInString(ts[i])) / float64(max(1, utf8.RuneCountInString(ss[i])))
				if r > 2.5*ratio || r < ratio/2.5 {
					aligned = false
					break
				}
			}
			if aligned {
				for i := range ss {
					add(Pair{Source: ss[i], Target: ts[i]})
				}
			}
		}
		if s, t, ok := dropVocative(p); ok {
			add(Pair{Source: s, Target: t})
		}
	}
	return out
}

// Sentences cuts s at sentence ends: a . ! ? or … (with any closing
// quotes) followed by white space and a capital letter or digit, which
// may be preceded by ¿ ¡ or an opening quote, unless the stop ends a
// title such as "Mr." or "Sra.". A text without such a boundary is one
// sentence.
func Sentences(s string) []string {
	s = strings.TrimSpace(s)
	var out []string
	start := 0
	for i, r := range s {
		if !unicode.IsSpace(r) || i == 0 {
			continue
		}
		prev, _ := utf8.DecodeLastRuneInString(strings.TrimRight(s[:i], `"”»'`))
		if !strings.ContainsRune(".!?…", prev) || abbreviations[lastWord(s[:i])] {
			continue
		}
		rest := strings.TrimLeft(s[i:], " \t")
		next, _ := utf8.DecodeRuneInString(strings.TrimLeft(rest, `¿¡"“«'`))
		if !unicode.IsUpper(next) && !unicode.IsDigit(next) {
			continue
		}
		if part := strings.TrimSpace(s[start:i]); part != "" {
			out = append(out, part)
		}
		start = i
	}
	if part := strings.TrimSpace(s[start:]); part != "" {
		out = append(out, part)
	}
	return out
}

// abbreviations end in a full stop that does not end a sentence.
var abbreviations = map[string]bool{"Mr.": true, "Mrs.": true, "Ms.": true, "Dr.": true, "St.": true, "Jr.": true,
	"Sr.": true, "Sra.": true, "Srta.": true, "Dra.": true, "vs.": true, "etc.": true}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// dropVocative removes a name that both sides of p address, at the end
// ("…, Tom." on both sides) or at the start ("Tom, …"), and reports
// whether it did.
func dropVocative(p Pair) (src, tgt string, ok bool) {
	sn, sRest, sEnd := trailingName(p.Source)
	tn, tRest, tEnd := trailingName(p.Target)
	if sn != "" && sn == tn && sEnd == tEnd {
		return sRest + sEnd, tRest + tEnd, true
	}
	sn, sRest = leadingName(p.Source)
	tn, tRest = leadingName(p.Target)
	if sn != "" && sn == tn {
		return capitalize(sRest), capitalize(tRest), true
	}
	return "", "", false
}

// trailingName splits "Good luck, Tom!" into "Tom", "Good luck" and "!".
func trailingName(s string) (name, rest, end string) {
	s = strings.TrimSpace(s)
	last, size := utf8.DecodeLastRuneInString(s)
	if !strings.ContainsRune(".!?", last) {
		return "", "", ""
	}
	body := s[:len(s)-size]
	i := strings.LastIndex(body, ", ")
	if i <= 0 || !isName(body[i+2:]) || !strings.ContainsFunc(body[:i], unicode.IsLetter) {
		return "", "", ""
	}
	return body[i+2:], body[:i], string(last)
}

// leadingName splits "Tom, where are you?" into "Tom" and "where are you?".
func leadingName(s string) (name, rest string) {
	s = strings.TrimSpace(s)
	i := strings.Index(s, ", ")
	if i <= 0 || !isName(s[:i]) || !strings.ContainsFunc(s[i+2:], unicode.IsLetter) {
		return "", ""
	}
	return s[:i], s[i+2:]
}

// isName: one capitalised word of two or more letters, not all capitals.
func isName(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	if !unicode.IsUpper(r) || utf8.RuneCountInString(w) < 2 || strings.ToUpper(w) == w {
		return false
	}
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// capitalize upper-cases the first letter of s, after any opening ¿ ¡ or
// quote.
func capitalize(s string) string {
	i := len(s) - len(strings.TrimLeft(s, `¿¡"“«'`))
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError {
		return s
	}
	return s[:i] + string(unicode.ToUpper(r)) + s[i+size:]
}

// DropNearDuplicates returns the pairs that share no near-duplicate key
// (NearDuplicateKeys, as ClusterSplitPairs links them) with any pair of
// of, so that pairs derived from the training part (SegmentPairs) keep
// the validation part free of near-paraphrases.
func DropNearDuplicates(pairs, of []Pair) []Pair {
	const minDeletionWords = 6 // ClusterOptions' default
	keys := map[string]bool{}
	for _, p := range of {
		for _, k := range NearDuplicateKeys(p, minDeletionWords) {
			keys[k] = true
		}
	}
	var out []Pair
next:
	for _, p := range pairs {
		for _, k := range NearDuplicateKeys(p, minDeletionWords) {
			if keys[k] {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}
