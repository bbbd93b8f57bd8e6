package embed

import (
	"bytes"
	"testing"
)

// FuzzReadVectors feeds arbitrary bytes to the word-vector readers in every
// format: they may return an error but must never panic, and never hold more
// vectors than the input could encode.
func FuzzReadVectors(f *testing.F) {
	v := &Vectors{Words: []string{"hola", "niño", "año"}, Dim: 3, Data: []float32{1, 2, 3, 4, 5, 6, 0.5, -1, 1e-3}}
	var text, bin bytes.Buffer
	if err := v.WriteText(&text); err == nil {
		f.Add(text.Bytes())
	}
	if err := v.WriteBinary(&bin); err == nil {
		f.Add(bin.Bytes())
	}
	f.Add([]byte("hola 1 2 3\nniño 4 5 6\n"))
	f.Add([]byte("2 3\nhola 1 2\n"))
	f.Add([]byte("1000000000 1000000000\n"))
	f.Add([]byte("1 2\nx \x00\x00\x80\x3f\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{Auto, Word2VecText, Word2VecBinary, GloVe} {
			got, err := ReadFrom(bytes.NewReader(data), format, "fuzz.vec")
			if err != nil {
				continue
			}
			if len(got.Data) != len(got.Words)*got.Dim || len(got.Data) > len(data) {
				t.Fatalf("format %v: %d words x dim %d = %d values from %d bytes", format, len(got.Words), got.Dim, len(got.Data), len(data))
			}
		}
	})
}
