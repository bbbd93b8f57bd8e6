package embed

import (
	"unicode"
	"unicode/utf8"
)

// AppendWords appends to dst the words of text as the word2vec trainer sees
// them: lowercased runs of letters, digits and combining marks (Unicode
// aware); everything else separates words. "Don't stop!" gives "don", "t",
// "stop". Invalid UTF-8 separates words.
func AppendWords(dst []string, text string) []string {
	var buf []byte
	forEachWord(&buf, []byte(text), func(w []byte) { dst = append(dst, string(w)) })
	return dst
}

// forEachWord calls fn with each lowercased word of text; the slice passed
// to fn is reused (buf) and valid only during the call.
func forEachWord(buf *[]byte, text []byte, fn func(w []byte)) {
	b := (*buf)[:0]
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf { // ASCII fast path
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				b = append(b, c)
				continue
			case 'A' <= c && c <= 'Z':
				b = append(b, c+('a'-'A'))
				continue
			}
		} else {
			r, size := utf8.DecodeRune(text[i:])
			i += size
			if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r) || (unicode.Is(unicode.Mn, r) && len(b) > 0)) {
				b = utf8.AppendRune(b, unicode.ToLower(r))
				continue
			}
		}
		if len(b) > 0 {
			fn(b)
			b = b[:0]
		}
	}
	if len(b) > 0 {
		fn(b)
		b = b[:0]
	}
	*buf = b
}
