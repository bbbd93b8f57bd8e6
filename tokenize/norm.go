package tokenize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normText is text after NFC and/or lowercasing, with the way back to the
// original bytes when they moved.
type normText struct {
	s          string
	start, end []int32 // per byte of s: the original byte range; nil = identity
	origLen    int
}

// orig maps the normalized byte range [a, b) back to the original text.
func (n *normText) orig(a, b int) (int, int) {
	if n.start == nil {
		return a, b
	}
	if a >= len(n.s) {
		return n.origLen, n.origLen
	}
	if b <= a {
		return int(n.start[a]), int(n.start[a])
	}
	return int(n.start[a]), int(n.end[b-1])
}

// normalize applies NFC then lowercasing (each optional), like the HF
// "Sequence[NFC, Lowercase]" normalizer, keeping an alignment.
func normalize(s string, nfc, lower bool) normText {
	n := normText{s: s, origLen: len(s)}
	if nfc && !norm.NFC.IsNormalString(s) {
		var b strings.Builder
		var it norm.Iter
		it.InitString(norm.NFC, s)
		n.start = make([]int32, 0, len(s))
		n.end = make([]int32, 0, len(s))
		for !it.Done() {
			from := it.Pos()
			seg := it.Next()
			to := it.Pos()
			b.Write(seg)
			for range seg {
				n.start = append(n.start, int32(from))
				n.end = append(n.end, int32(to))
			}
		}
		n.s = b.String()
	}
	if lower {
		n.lowercase()
	}
	return n
}

// lowercase maps each rune with unicode.ToLower (strings.ToLower's rule,
// which sugarme's Lowercase normalizer uses).
func (n *normText) lowercase() {
	s := n.s
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		n.s = strings.ToLower(s)
		return
	}
	var b strings.Builder
	b.Grow(len(s))
	moved := false
	var start, end []int32
	for i, c := range s {
		size := utf8.RuneLen(c)
		if c == utf8.RuneError {
			size = 3
		}
		l := unicode.ToLower(c)
		ls := utf8.RuneLen(l)
		if ls != size && !moved {
			moved = true
			start = make([]int32, 0, len(s)+8)
			end = make([]int32, 0, len(s)+8)
			for j := 0; j < i; j++ { // identity so far
				start = append(start, n.mapStart(j))
				end = append(end, n.mapEnd(j))
			}
		}
		b.WriteRune(l)
		if moved {
			from, to := n.mapStart(i), n.mapEnd(i+size-1)
			for k := 0; k < ls; k++ {
				start = append(start, from)
				end = append(end, to)
			}
		}
	}
	if moved {
		n.start, n.end = start, end
	} else if n.start != nil {
		// byte positions unchanged: keep the NFC alignment
	}
	n.s = b.String()
}

func (n *normText) mapStart(i int) int32 {
	if n.start == nil {
		return int32(i)
	}
	return n.start[i]
}

func (n *normText) mapEnd(i int) int32 {
	if n.end == nil {
		return int32(i + 1)
	}
	return n.end[i]
}
