package sentiment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/corpora"
)

func writeDocsFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestReadDocsFormats(t *testing.T) {
	lines := writeDocsFile(t, "unsup.txt", "first doc\n\n  \nsecond doc\nthird\n")
	docs, warnings, err := ReadDocs(lines, DocOptions{})
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, []string{"first doc", "second doc", "third"}, docs)

	docs, _, err = ReadDocs(lines, DocOptions{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"first doc", "second doc"}, docs)

	tsv := writeDocsFile(t, "train.tsv", "review\tlabel\ngood film\tpos\nbad film\tneg\n")
	docs, _, err = ReadDocs(tsv, DocOptions{Header: true, Text: "review"})
	require.NoError(t, err)
	assert.Equal(t, []string{"good film", "bad film"}, docs)

	jsonl := writeDocsFile(t, "d.jsonl", `{"body": "one"}`+"\n"+`{"body": "two"}`+"\n")
	docs, _, err = ReadDocs(jsonl, DocOptions{Text: "body"})
	require.NoError(t, err)
	assert.Equal(t, []string{"one", "two"}, docs)
}

func TestReadDocsBadRecords(t *testing.T) {
	tsv := writeDocsFile(t, "bad.tsv", "a\tb\nc\nd\te\nf\n")
	docs, warnings, err := ReadDocs(tsv, DocOptions{Format: "tsv", Text: "1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "e"}, docs)
	require.Len(t, warnings, 2)
	var re *corpora.RecordError
	require.ErrorAs(t, warnings[0], &re)
	assert.Equal(t, 2, re.Line)

	docs, warnings, err = ReadDocs(tsv, DocOptions{Format: "tsv", Text: "1", MaxBad: 1})
	assert.Nil(t, docs)
	assert.Len(t, warnings, 1)
	var bad *BadRecordsError
	require.ErrorAs(t, err, &bad)
	assert.Equal(t, 1, bad.Max)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 4, re.Line)
	assert.Contains(t, err.Error(), "(more than 1 bad records; is the format right?)")
	assert.NotContains(t, err.Error(), "--")

	_, _, err = ReadDocs(tsv, DocOptions{Format: "tsv", Text: "1", MaxBad: -1})
	require.ErrorAs(t, err, &bad)
	assert.Equal(t, 0, bad.Max)
}

func TestReadDocsRefusals(t *testing.T) {
	empty := writeDocsFile(t, "empty.txt", "\n \n")
	docs, _, err := ReadDocs(empty, DocOptions{})
	assert.Nil(t, docs)
	require.ErrorIs(t, err, ErrNoDocuments)
	assert.Equal(t, empty+": no documents found", err.Error())

	dir := t.TempDir()
	_, _, err = ReadDocs(dir, DocOptions{})
	require.ErrorIs(t, err, corpora.ErrNotRegular)
	assert.True(t, strings.HasPrefix(err.Error(), dir+": "), err.Error())

	_, _, err = ReadDocs(filepath.Join(dir, "missing.txt"), DocOptions{})
	assert.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
}

func TestLMDataAddSplitsEachPartOnItsOwn(t *testing.T) {
	var a, b []string
	for i := range 50 {
		a = append(a, fmt.Sprintf("a%d", i))
		b = append(b, fmt.Sprintf("b%d", i))
	}
	var d LMData
	d.Add(a, 0.1, 7)
	d.Add(b, 0.1, 7)
	require.Len(t, d.Val, 10)
	require.Len(t, d.Train, 90)
	s := corpora.Split(50, 0.1, 0, 7)
	for k, i := range s.Validation {
		assert.Equal(t, a[i], d.Val[k])
		assert.Equal(t, b[i], d.Val[5+k])
	}
	for k, i := range s.Train {
		assert.Equal(t, a[i], d.Train[k])
		assert.Equal(t, b[i], d.Train[45+k])
	}
}
