package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/sentiment"
)

// writeSplitData writes n invented reviews per class, grouped by class as
// the IMDB files are, with a header.
func writeSplitData(t *testing.T, dir string, n int) (string, []string) {
	t.Helper()
	var b strings.Builder
	var rows []string
	b.WriteString("review\tstars\n")
	for _, class := range []string{"bad", "good"} {
		for i := 0; i < n; i++ {
			text := fmt.Sprintf("%s review number %d of film%d, a %s one", class, i, i%7, class)
			rows = append(rows, text+"\t"+class)
			b.WriteString(text + "\t" + class + "\n")
		}
	}
	p := filepath.Join(dir, "reviews.tsv")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p, rows
}

func readRows(t *testing.T, path string) []string {
	t.Helper()
	raw, warnings, err := sentiment.ReadExamples(path, sentiment.ReadOptions{})
	require.NoError(t, err)
	require.Empty(t, warnings)
	var rows []string
	for _, r := range raw {
		rows = append(rows, r.Text+"\t"+r.Label)
	}
	return rows
}

func TestCorporaSplitRandom(t *testing.T) {
	dir := t.TempDir()
	data, rows := writeSplitData(t, dir, 50)
	tr, va := filepath.Join(dir, "train.tsv"), filepath.Join(dir, "val.jsonl")
	_, stderr, err := runCLI(t, "corpora", "split", data, "--header", "--text-col", "review", "--label-col", "stars",
		"--split", "random", "--val-frac", "0.2", "--train-out", tr, "--val-out", va)
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "80 for training, 20 for validation")
	got := append(readRows(t, tr), readRows(t, va)...)
	assert.Len(t, readRows(t, va), 20)
	sort.Strings(got)
	sort.Strings(rows)
	assert.Equal(t, rows, got, "the two files together hold every review once")
	b, err := os.ReadFile(va)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), `{"text":`), "a .jsonl output is JSONL: %.40q", b)

	// The same seed gives the same files; another seed another split.
	tr2, va2 := filepath.Join(dir, "train2.tsv"), filepath.Join(dir, "val2.jsonl")
	_, _, err = runCLI(t, "corpora", "split", data, "--header", "--text-col", "review", "--label-col", "stars",
		"--split", "random", "--val-frac", "0.2", "--train-out", tr2, "--val-out", va2)
	require.NoError(t, err)
	assert.Equal(t, readRows(t, va), readRows(t, va2))
	_, _, err = runCLI(t, "corpora", "split", data, "--header", "--text-col", "review", "--label-col", "stars",
		"--split", "random", "--split-seed", "2", "--val-frac", "0.2", "--train-out", tr2, "--val-out", va2)
	require.NoError(t, err)
	assert.NotEqual(t, readRows(t, va), readRows(t, va2))
}

func TestCorporaSplitBlockMatchesTrainSentiment(t *testing.T) {
	dir := t.TempDir()
	data, _ := writeSplitData(t, dir, 40)
	tr, va := filepath.Join(dir, "train.csv"), filepath.Join(dir, "val.tsv")
	_, stderr, err := runCLI(t, "corpora", "split", data, "--header", "--text-col", "review", "--label-col", "stars",
		"--train-out", tr, "--val-out", va)
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "block split")

	// What train sentiment holds out of the same file.
	raw, _, err := sentiment.ReadExamples(data, sentiment.ReadOptions{Text: "review", Label: "stars", Header: true})
	require.NoError(t, err)
	prep, err := sentiment.Prepare([]sentiment.Part{{Name: data, Examples: raw}}, nil, sentiment.DefaultPrepareOptions())
	require.NoError(t, err)
	var want []string
	for _, e := range prep.Data.Val {
		want = append(want, e.Text+"\t"+prep.Labels[e.Label])
	}
	assert.Equal(t, want, readRows(t, va))
	assert.Len(t, readRows(t, tr), len(prep.Data.Train))
	// The last of each class is held out.
	assert.Contains(t, readRows(t, va), "good review number 39 of film4, a good one\tgood")
}

func TestCorporaSplitErrors(t *testing.T) {
	dir := t.TempDir()
	data, _ := writeSplitData(t, dir, 10)
	tr, va := filepath.Join(dir, "t.tsv"), filepath.Join(dir, "v.tsv")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{data, "--val-out", va}, "--train-out and --val-out are both required"},
		{[]string{data, "--train-out", tr, "--val-out", tr}, "the same file"},
		{[]string{data, "--train-out", data, "--val-out", va}, "would overwrite the data file"},
		{[]string{data, "--train-out", tr, "--val-out", va, "--split", "films"}, "--split must be block or random"},
		{[]string{data, "--train-out", tr, "--val-out", va, "--val-frac", "1"}, "--val-frac must be in (0, 1)"},
		{[]string{data, "--train-out", tr, "--val-out", va, "--out-format", "xml"}, "--out-format must be tsv, csv or jsonl"},
		{[]string{filepath.Join(dir, "missing.tsv"), "--train-out", tr, "--val-out", va}, "missing.tsv"},
	} {
		_, _, err := runCLI(t, append([]string{"corpora", "split"}, tc.args...)...)
		require.Error(t, err, tc.args)
		assert.Contains(t, err.Error(), tc.want, tc.args)
	}
	_, err := os.Stat(tr)
	assert.True(t, os.IsNotExist(err), "a failed split writes nothing")

	// A text with a line break cannot be TSV: the error says what can hold it,
	// and no partial file is left.
	csvData := filepath.Join(dir, "multi.csv")
	require.NoError(t, os.WriteFile(csvData, []byte("\"two\nlines\",good\nfine,good\nbad,bad\nworse,bad\nawful,bad\nnice,good\n"), 0o644))
	_, _, err = runCLI(t, "corpora", "split", csvData, "--split", "random", "--val-frac", "0.5", "--train-out", tr, "--val-out", filepath.Join(dir, "v.csv"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "write CSV or JSONL")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".tmp-"), "temporary file %s left behind", e.Name())
	}
}
