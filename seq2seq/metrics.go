package seq2seq

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
)

// SacreBLEUVersion is the sacreBLEU release whose BLEU and chrF definitions
// (13a tokenization, exp smoothing; chrF with nc=6, nw=0, β=2) these
// metrics reproduce; it is printed in the signatures.
const SacreBLEUVersion = "2.4.0"

// Score is a corpus-level metric with its sacreBLEU-style signature.
type Score struct {
	Name       string    `json:"name"`
	Score      float64   `json:"score"`
	Signature  string    `json:"signature"`
	Precisions []float64 `json:"precisions,omitempty"` // BLEU: n-gram precisions (percent), n = 1..4
	BP         float64   `json:"bp,omitempty"`         // BLEU: brevity penalty
	SysLen     int       `json:"sys_len,omitempty"`
	RefLen     int       `json:"ref_len,omitempty"`
}

func (s Score) String() string {
	if s.Name == "BLEU" {
		p := s.Precisions
		return fmt.Sprintf("%s = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
			s.Signature, s.Score, p[0], p[1], p[2], p[3], s.BP, float64(s.SysLen)/math.Max(float64(s.RefLen), 1), s.SysLen, s.RefLen)
	}
	return fmt.Sprintf("%s = %.2f", s.Signature, s.Score)
}

var tok13a = []struct {
	re  *regexp.Regexp
	rep string
}{
	{regexp.MustCompile(`([\{-\~\[-\` + "`" + ` -\&\(-\+\:-\@\/])`), " ${1} "},
	{regexp.MustCompile(`([^0-9])([\.,])`), "${1} ${2} "},
	{regexp.MustCompile(`([\.,])([^0-9])`), " ${1} ${2}"},
	{regexp.MustCompile(`([0-9])(-)`), "${1} ${2} "},
}

// Tokenize13a is sacreBLEU's default "13a" tokenizer (mteval-v13a.pl):
// punctuation and symbols are split off, periods and commas unless next to
// digits. Non-ASCII punctuation such as ¿ and ¡ is left attached.
func Tokenize13a(line string) []string {
	line = strings.ReplaceAll(line, "<skipped>", "")
	line = strings.ReplaceAll(line, "-\n", "")
	line = strings.ReplaceAll(line, "\n", " ")
	if strings.Contains(line, "&") {
		line = strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(line)
	}
	line = " " + line + " "
	for _, r := range tok13a {
		line = r.re.ReplaceAllString(line, r.rep)
	}
	return strings.Fields(line)
}

func ngrams(toks []string, n int) map[string]int {
	c := map[string]int{}
	for i := 0; i+n <= len(toks); i++ {
		c[strings.Join(toks[i:i+n], "\x00")]++
	}
	return c
}

func nrefsSig(refs [][]string) string {
	n := -1
	for _, r := range refs {
		if n >= 0 && len(r) != n {
			return "var"
		}
		n = len(r)
	}
	return fmt.Sprint(max(n, 1))
}

// BLEU is corpus BLEU as sacreBLEU computes it by default: 13a tokenization,
// case-sensitive, n-grams up to 4 clipped by the maximum count over the
// references, the closest reference length for the brevity penalty, and
// "exp" smoothing (the k-th zero precision counts as 1/(2^k·total)). refs[i]
// holds the references of hyps[i] (one or more).
func BLEU(hyps []string, refs [][]string) Score {
	var correct, total [4]int
	sysLen, refLen := 0, 0
	for i, h := range hyps {
		ht := Tokenize13a(h)
		sysLen += len(ht)
		best := -1
		maxRef := [4]map[string]int{}
		for n := range maxRef {
			maxRef[n] = map[string]int{}
		}
		for _, r := range refs[i] {
			rt := Tokenize13a(r)
			d := abs(len(rt) - len(ht))
			if best < 0 || d < abs(best-len(ht)) || (d == abs(best-len(ht)) && len(rt) < best) {
				best = len(rt)
			}
			for n := 0; n < 4; n++ {
				for g, c := range ngrams(rt, n+1) {
					maxRef[n][g] = max(maxRef[n][g], c)
				}
			}
		}
		refLen += max(best, 0)
		for n := 0; n < 4; n++ {
			for g, c := range ngrams(ht, n+1) {
				correct[n] += min(c, maxRef[n][g])
				total[n] += c
			}
		}
	}
	s := Score{Name: "BLEU", SysLen: sysLen, RefLen: refLen, Precisions: make([]float64, 4),
		Signature: fmt.Sprintf("BLEU|nrefs:%s|case:mixed|eff:no|tok:13a|smooth:exp|version:%s", nrefsSig(refs), SacreBLEUVersion)}
	smooth := 1.0
	for n := 0; n < 4; n++ {
		if total[n] == 0 {
			break
		}
		if correct[n] == 0 {
			smooth *= 2
			s.Precisions[n] = 100 / (smooth * float64(total[n]))
		} else {
			s.Precisions[n] = 100 * float64(correct[n]) / float64(total[n])
		}
	}
	s.BP = 1
	if sysLen < refLen {
		s.BP = 0
		if sysLen > 0 {
			s.BP = math.Exp(1 - float64(refLen)/float64(sysLen))
		}
	}
	var logSum float64
	for _, p := range s.Precisions {
		if p == 0 {
			logSum += -9999999999
		} else {
			logSum += math.Log(p)
		}
	}
	s.Score = s.BP * math.Exp(logSum/4)
	return s
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// charNgrams counts the character n-grams of s with white space removed.
func charNgrams(s string, n int) map[string]int {
	rs := []rune(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
	c := map[string]int{}
	for i := 0; i+n <= len(rs); i++ {
		c[string(rs[i:i+n])]++
	}
	return c
}

// chrfStats returns per order n = 1..6: hyp n-grams, ref n-grams, matches.
func chrfStats(h, r string) []float64 {
	st := make([]float64, 18)
	for n := 1; n <= 6; n++ {
		hc, rc := charNgrams(h, n), charNgrams(r, n)
		var nh, nr, m int
		for g, c := range hc {
			nh += c
			m += min(c, rc[g])
		}
		for _, c := range rc {
			nr += c
		}
		st[3*(n-1)], st[3*(n-1)+1], st[3*(n-1)+2] = float64(nh), float64(nr), float64(m)
	}
	return st
}

// chrfF is sacreBLEU's CHRF._compute_f_score: precision and recall averaged
// over the orders that occur in both, combined with β = 2.
func chrfF(st []float64) float64 {
	const eps = 1e-16
	const factor = 4.0 // β²
	var ap, ar float64
	eff := 0
	for i := 0; i < len(st)/3; i++ {
		nh, nr, m := st[3*i], st[3*i+1], st[3*i+2]
		p, r := eps, eps
		if nh > 0 {
			p = m / nh
		}
		if nr > 0 {
			r = m / nr
		}
		if nh > 0 && nr > 0 {
			eff++
		}
		ap += p
		ar += r
	}
	if eff == 0 {
		return 0
	}
	ap /= float64(eff)
	ar /= float64(eff)
	if ap+ar == 0 {
		return 0
	}
	return 100 * (1 + factor) * ap * ar / (factor*ap + ar)
}

// ChrF is corpus chrF2 as sacreBLEU computes it by default: character
// n-grams of order 1 to 6 with white space removed, no word n-grams, β = 2;
// statistics summed over the corpus, taking for each sentence the reference
// with the best sentence-level score.
func ChrF(hyps []string, refs [][]string) Score {
	sum := make([]float64, 18)
	for i, h := range hyps {
		var best []float64
		bestF := -1.0
		for _, r := range refs[i] {
			st := chrfStats(h, r)
			if f := chrfF(st); f > bestF {
				best, bestF = st, f
			}
		}
		for j := range sum {
			sum[j] += best[j]
		}
	}
	return Score{Name: "chrF2", Score: chrfF(sum),
		Signature: fmt.Sprintf("chrF2|nrefs:%s|case:mixed|eff:yes|nc:6|nw:0|space:no|version:%s", nrefsSig(refs), SacreBLEUVersion)}
}
