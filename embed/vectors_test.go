package embed

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixture(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

var small = &Vectors{
	Words: []string{"the", "niño", "año", "King"},
	Dim:   3,
	Data:  []float32{0.1, -0.2, 0.3, 1.5, 2.25, -3, 1e-7, 3.4028235e38, -0.0078125, 0.5, 0.25, 0.125},
}

func binaryFixture(words []string, dim int, data []float32) []byte {
	var b bytes.Buffer
	b.WriteString(strconv.Itoa(len(words)) + " " + strconv.Itoa(dim) + "\n")
	raw := make([]byte, 4)
	for i, w := range words {
		b.WriteString(w + " ")
		for _, x := range data[i*dim : (i+1)*dim] {
			binary.LittleEndian.PutUint32(raw, math.Float32bits(x))
			b.Write(raw)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestReadFormats(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		format              Format
	}{
		{"word2vec text", "v.txt", "4 3\nthe 0.1 -0.2 0.3\nniño 1.5 2.25 -3\naño 1e-07 3.4028235e+38 -0.0078125\nKing 0.5 0.25 0.125\n", Word2VecText},
		{"fastText vec (trailing spaces, CRLF)", "v.vec", "4 3\r\nthe 0.1 -0.2 0.3 \r\nniño 1.5 2.25 -3 \r\naño 1e-07 3.4028235e+38 -0.0078125 \r\nKing 0.5 0.25 0.125 \r\n", FastText},
		{"GloVe", "glove.txt", "the 0.1 -0.2 0.3\nniño 1.5 2.25 -3\naño 1e-07 3.4028235e+38 -0.0078125\nKing 0.5 0.25 0.125", GloVe},
		{"word2vec binary", "v.bin", string(binaryFixture(small.Words, small.Dim, small.Data)), Word2VecBinary},
		{"word2vec binary, other name", "v.w2v", string(binaryFixture(small.Words, small.Dim, small.Data)), Word2VecBinary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fixture(t, tc.file, tc.content)
			for _, f := range []Format{tc.format, Auto} {
				v, err := ReadVectors(p, f)
				require.NoError(t, err, "format %v", f)
				assert.Equal(t, small.Words, v.Words)
				assert.Equal(t, small.Dim, v.Dim)
				assert.Equal(t, small.Data, v.Data)
			}
		})
	}
}

func TestGloVeWordWithSpaces(t *testing.T) {
	v, err := ReadVectors(fixture(t, "g.txt", ". . . 1 2\nab 3 4\n"), GloVe)
	require.NoError(t, err)
	assert.Equal(t, []string{". . .", "ab"}, v.Words)
	assert.Equal(t, 2, v.Dim)
}

func TestWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		file   string
		format Format
	}{{"a.vec", Word2VecText}, {"a.bin", Word2VecBinary}, {"b.bin", Auto}, {"b.txt", Auto}} {
		p := filepath.Join(dir, tc.file)
		require.NoError(t, small.Save(p, tc.format))
		v, err := ReadVectors(p, Auto)
		require.NoError(t, err, tc.file)
		assert.Equal(t, small, v, tc.file)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "a.bin"))
	require.NoError(t, err)
	assert.Equal(t, binaryFixture(small.Words, small.Dim, small.Data), raw, "word2vec.c's byte layout")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 4, "no temp files left behind")

	bad := &Vectors{Words: []string{"a b"}, Dim: 1, Data: []float32{1}}
	require.ErrorContains(t, bad.Save(filepath.Join(dir, "bad.vec"), Word2VecText), "whitespace")
	require.ErrorContains(t, small.Save(filepath.Join(dir, "g.txt"), GloVe), "cannot write")
}

func TestReadErrors(t *testing.T) {
	bin := binaryFixture(small.Words, small.Dim, small.Data)
	for _, tc := range []struct {
		name, file, content string
		format              Format
		want                string
	}{
		{"dim mismatch text", "d.vec", "2 3\na 1 2 3\nb 1 2\n", Auto, "d.vec:3: dimension mismatch: 2 values, want 3"},
		{"dim mismatch longer line", "d.vec", "2 3\na 1 2 3\nb 1 2 3 4\n", Auto, "d.vec:3: dimension mismatch: 4 values, want 3"},
		{"dim mismatch glove", "g.txt", "a 1 2 3\nb 1 2 3\nc 1 2\n", GloVe, "g.txt:3: dimension mismatch"},
		{"malformed float", "m.vec", "2 2\na 1 2\nb 1 x2\n", Word2VecText, `m.vec:3: value 2 of "b": malformed number "x2"`},
		{"malformed float glove", "m.txt", "a 1 2\nb 1,5 2\n", GloVe, `m.txt:2: value 1 of "b": malformed number "1,5"`},
		{"truncated text", "t.vec", "3 2\na 1 2\nb 1 2\n", Word2VecText, "t.vec:3: truncated: the header announces 3 vectors, the file has 2"},
		{"extra lines", "x.vec", "1 2\na 1 2\nb 1 2\n", Word2VecText, "x.vec:3: more vectors than the 1"},
		{"bad header", "h.vec", "two 2\na 1 2\n", Word2VecText, "h.vec:1: want a header"},
		{"empty", "e.vec", "", Auto, "e.vec: empty file"},
		{"truncated binary vector", "t.bin", string(bin[:len(bin)-7]), Auto, `t.bin: record 4 of 4 ("King"): truncated`},
		{"truncated binary word", "t.bin", string(bin[:len(bin)-15]), Auto, `t.bin: record 4 of 4: truncated`},
		{"binary with trailing data", "t.bin", string(bin) + "junk", Auto, "data after the 4 records"},
		{"binary NaN", "n.bin", string(binaryFixture([]string{"a"}, 1, []float32{float32(math.NaN())})), Auto, "not finite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fixture(t, tc.file, tc.content)
			_, err := ReadVectors(p, tc.format)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), p, "names the file")
		})
	}
	_, err := ReadVectors(filepath.Join(t.TempDir(), "missing.vec"), Auto)
	require.ErrorContains(t, err, "missing.vec")
}

func TestAlign(t *testing.T) {
	vocab := []string{"<pad>", "<unk>", "The", "niño", "king", "zebra"}
	m, found, oov := small.Align(vocab, true)
	assert.Equal(t, 2, found, `"The" via its lowercase, "niño"; the file's "King" does not match "king"`)
	assert.Equal(t, []string{"<pad>", "<unk>", "king", "zebra"}, oov)
	assert.Equal(t, small.Vector(0), m[2*3:3*3])
	assert.Equal(t, small.Vector(1), m[3*3:4*3])
	assert.Equal(t, make([]float32, 3), m[0:3], "OOV rows are zero")

	_, found, _ = small.Align(vocab, false)
	assert.Equal(t, 1, found, "without fallback only niño matches")
}

func TestParseFormat(t *testing.T) {
	for s, want := range map[string]Format{"": Auto, "bin": Word2VecBinary, "vec": Word2VecText, "GloVe": GloVe, "text": Word2VecText} {
		f, err := ParseFormat(s)
		require.NoError(t, err)
		assert.Equal(t, want, f, s)
	}
	_, err := ParseFormat("hdf5")
	require.Error(t, err)
}
