package seq2seq

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTokenize13a(t *testing.T) {
	cases := map[string][]string{
		"Hello, world!":            {"Hello", ",", "world", "!"},
		"¿Dónde está la estación?": {"¿Dónde", "está", "la", "estación", "?"}, // ¿ is not ASCII: kept attached, as sacreBLEU
		"3.5 and 1,000 or 7.":      {"3.5", "and", "1,000", "or", "7", "."},
		"It's a well-known fact":   {"It's", "a", "well-known", "fact"},
		"5-3 (ok) $x":              {"5", "-", "3", "(", "ok", ")", "$", "x"},
		"&quot;hi&quot; &amp; bye": {`"`, "hi", `"`, "&", "bye"},
		"  spaced   out  ":         {"spaced", "out"},
	}
	for in, want := range cases {
		assert.Equal(t, want, Tokenize13a(in), in)
	}
}

// The expected values are computed by hand from sacreBLEU's definition.
func TestBLEUHandComputed(t *testing.T) {
	one := func(h, r string) float64 { return BLEU([]string{h}, [][]string{{r}}).Score }
	assert.InDelta(t, 100, one("the cat sat on the mat", "the cat sat on the mat"), 1e-9)
	// p = 3/4, 2/3, 1/2, and the first zero 4-gram precision smoothed to 1/(2·1): BLEU = (75·66.67·50·50)^¼
	assert.InDelta(t, math.Pow(75*200.0/3*50*50, 0.25), one("a b c d", "a b c e"), 1e-9)
	assert.InDelta(t, 59.4604, one("a b c d", "a b c e"), 1e-4)
	// no 4-gram at all: precision 0, BLEU 0 (sacreBLEU without effective order)
	assert.InDelta(t, 0, one("a b c", "a b c"), 1e-6)
	// brevity penalty exp(1 - 5/4)
	assert.InDelta(t, 100*math.Exp(-0.25), one("a b c d", "a b c d e"), 1e-9)
	// two references: n-grams clipped by the max count over them, closest
	// length (ties go to the shorter) for the brevity penalty
	s := BLEU([]string{"a b c d"}, [][]string{{"a b c", "x b c d e"}})
	assert.Equal(t, 3, s.RefLen)
	assert.InDelta(t, math.Pow(100*100*100*50, 0.25), s.Score, 1e-9) // 4/4, 3/3, 2/2, smoothed 1/(2·1)
	assert.Equal(t, "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.0", s.Signature)
	// corpus level: statistics are summed before the geometric mean
	c := BLEU([]string{"a b c d", "a b c e"}, [][]string{{"a b c d"}, {"a b c d"}})
	// 1g 7/8, 2g 5/6, 3g 3/4, 4g 1/2
	assert.InDelta(t, math.Pow(87.5*(500.0/6)*75*50, 0.25), c.Score, 1e-9)
	assert.Equal(t, "var", nrefsSig([][]string{{"a"}, {"a", "b"}}))
}

func TestChrFHandComputed(t *testing.T) {
	one := func(h, r string) float64 { return ChrF([]string{h}, [][]string{{r}}).Score }
	assert.InDelta(t, 100, one("ab", "ab"), 1e-9)
	assert.InDelta(t, 100, one("a b", "ab"), 1e-9) // white space is removed
	// order 1: P = R = 1/2; order 2: P = R = 0; averaged over the 2 orders present: P = R = 1/4 -> F2 = 25
	assert.InDelta(t, 25, one("ab", "ac"), 1e-9)
	// P = 1, R = 1/2 at order 1 ("a" vs "ab"), order 2 absent from the hypothesis:
	// avgP = (1 + ε)/1, avgR = (1/2 + 0)/1 -> F2 = 5·1·0.5/(4·1 + 0.5) = 55.56
	assert.InDelta(t, 100*5*0.5/4.5, one("a", "ab"), 1e-6)
	assert.InDelta(t, 0, one("", "ab"), 1e-9)
	// the better of two references is used
	s := ChrF([]string{"ab"}, [][]string{{"xy", "ab"}})
	assert.InDelta(t, 100, s.Score, 1e-9)
	assert.Equal(t, "chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.4.0", s.Signature)
}
