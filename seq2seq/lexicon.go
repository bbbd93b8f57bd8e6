package seq2seq

import (
	"slices"
	"strings"
	"unicode"
)

// LexiconMetaKey is the model-file metadata key that holds the target
// lexicon: the words of the training targets, lowercased, one per line.
const LexiconMetaKey = "target_words"

// TargetLexicon is the sorted set of the words (runs of letters,
// lowercased) of the targets of pairs. Stored in a model under
// LexiconMetaKey, it lets Translate tell a real word from one the subword
// decoder made up.
func TargetLexicon(pairs []Pair) []string {
	seen := map[string]bool{}
	for _, p := range pairs {
		for _, w := range lexWords(p.Target) {
			seen[w] = true
		}
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	slices.Sort(out)
	return out
}

// SetLexicon stores words as the model's target lexicon (see TargetLexicon).
func (m *Model) SetLexicon(words []string) {
	if m.Meta == nil {
		m.Meta = map[string]string{}
	}
	m.Meta[LexiconMetaKey] = strings.Join(words, "\n")
}

// lexicon is the model's target lexicon, nil when the file has none. It is
// parsed on each call (about a millisecond for 30,000 words), so the Model
// stays free of lazily built state and safe for concurrent use.
func (m *Model) lexicon() map[string]bool {
	s := m.Meta[LexiconMetaKey]
	if s == "" {
		return nil
	}
	lex := map[string]bool{}
	for _, w := range strings.Split(s, "\n") {
		lex[w] = true
	}
	return lex
}

// unknownWords counts the words of text that are neither in lex nor in
// the source sentence (names and numbers copied through are fine).
func unknownWords(text string, source map[string]bool, lex map[string]bool) int {
	n := 0
	for _, w := range lexWords(text) {
		if !lex[w] && !source[w] {
			n++
		}
	}
	return n
}

// lexWords are the words of s as the lexicon holds them: splitWords, lowercased.
func lexWords(s string) []string { return splitWords(strings.ToLower(s)) }

func wordsOf(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range lexWords(s) {
		m[w] = true
	}
	return m
}

// sourceNames are the words of text a translation should carry over as
// they are: capitalised words that do not start a sentence, and numbers.
func sourceNames(text string) []string {
	var out []string
	start := true
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) }) {
		core := strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		r := []rune(core)
		switch {
		case len(r) == 0:
		case unicode.IsDigit(r[0]):
			out = append(out, core)
		case !start && len(r) >= 2 && unicode.IsUpper(r[0]) && !unicode.IsUpper(r[1]):
			out = append(out, core)
		}
		if len(r) > 0 {
			start = strings.ContainsAny(w[len(w)-1:], ".!?:;")
		}
		if strings.ContainsAny(w, "¿¡") && len(r) == 0 {
			start = true
		}
	}
	return out
}

// missingNames counts the names that text does not contain as words.
func missingNames(text string, names []string) int {
	if len(names) == 0 {
		return 0
	}
	have := map[string]bool{}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		have[w] = true
	}
	n := 0
	for _, w := range names {
		if !have[w] {
			n++
		}
	}
	return n
}
