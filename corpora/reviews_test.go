package corpora

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckText(t *testing.T) {
	assert.NoError(t, CheckText([]byte("plain\ntext é\n")))
	var te *TextError
	require.ErrorAs(t, CheckText([]byte("ab\x00c")), &te)
	assert.Equal(t, TextError{NUL: true, Offset: 2}, *te)
	require.ErrorAs(t, CheckText([]byte("ok\nbad \xff here")), &te)
	assert.Equal(t, TextError{Offset: 7, Line: 2, Byte: 0xff}, *te)
	assert.EqualError(t, te, "invalid UTF-8 on line 2 (byte 0xff at offset 7); convert the file to UTF-8")
	_, err := ReviewText([]byte(" \n\t"))
	assert.EqualError(t, err, "file is empty")
}

func TestWalkReviews(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	a := write("f/a.txt", "first review")
	b := write("f/b.txt", "second review")
	write("f/.hidden", "not read")
	lines := write("l.tsv", "text\tlabel\none\t1\n\t0\ntwo\t0\n")
	empty := write("empty.txt", "")
	missing := filepath.Join(dir, "missing.txt")

	var got []Review
	for r := range WalkReviews([]string{filepath.Join(dir, "f"), missing, "-"}, ReviewOptions{Stdin: strings.NewReader("ignored")}) {
		got = append(got, r)
	}
	require.Len(t, got, 4)
	assert.Equal(t, []string{a, b, missing, "-"}, []string{got[0].Path, got[1].Path, got[2].Path, got[3].Path})
	assert.True(t, errors.Is(got[2].Err, os.ErrNotExist))
	assert.Empty(t, got[0].Text, "without Lines the consumer reads the file")
	text, err := ReadReview(a, nil, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, "first review", text)
	_, err = ReadReview(dir, nil, 1<<20)
	assert.EqualError(t, err, "is a directory")

	got = got[:0]
	o := ReviewOptions{Lines: true, Text: TextOptions{Header: true}, Stdin: strings.NewReader("text\nfrom stdin\n")}
	for r := range WalkReviews([]string{lines, empty, "-"}, o) {
		got = append(got, r)
	}
	require.Len(t, got, 5)
	assert.Equal(t, Review{Path: lines, Line: 2, Text: "one"}, got[0])
	assert.Equal(t, 3, got[1].Line)
	assert.ErrorIs(t, got[1].Err, ErrEmptyText)
	assert.Equal(t, Review{Path: lines, Line: 4, Text: "two"}, got[2])
	assert.Equal(t, Review{Path: empty, Err: errors.New("no header: the file is empty")}, got[3])
	assert.Equal(t, Review{Path: "-", Line: 2, Text: "from stdin"}, got[4])

	for r := range WalkReviews([]string{empty}, ReviewOptions{Lines: true}) {
		assert.Equal(t, Review{Path: empty, Err: errors.New("no reviews: the input is empty")}, r)
	}

	n := 0
	for range WalkReviews([]string{lines, lines}, o) {
		if n++; n == 2 {
			break
		}
	}
	assert.Equal(t, 2, n, "the walk stops when the consumer does")
}
