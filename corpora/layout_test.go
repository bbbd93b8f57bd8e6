package corpora

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Import checks that what it registers looks like the corpus: the IMDB
// folders, a text file, tab-separated pairs, a GLUE header. A file in a
// format rnnkit reads for the corpus (a TSV for imdb) is accepted.
func TestImportChecksLayout(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	dir := t.TempDir()
	write := func(rel, data string) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		return p
	}
	write("good/aclImdb/train/pos/1_9.txt", "Great.")
	write("bad/aclImdb/x.txt", "hi")
	write("sst/SST-2/train.tsv", "sentence\tlabel\nok\t1\n")
	cases := []struct {
		name, path, want string
	}{
		{"imdb", filepath.Join(dir, "good/aclImdb"), ""},
		{"imdb", filepath.Join(dir, "bad/aclImdb"), "has no train/pos, train/neg, test/pos, test/neg, pos or neg folder"},
		{"imdb", write("imdb.tsv", "A fine film.\t1\n"), ""},
		{"imdb", write("notes.txt", "just some notes\n"), "has no tab in its first line"},
		{"sst2", filepath.Join(dir, "sst/SST-2"), ""},
		{"sst2", write("sst.tsv", "a\tb\n"), ""},
		{"sst2", write("sst.txt", "a b\n"), "has no tab in its first line"},
		{"spa-eng", write("spa.txt", "Go.\tVe.\n"), ""},
		{"spa-eng", write("one.txt", "no tabs here\n"), "has no tab in its first line"},
		{"tinyshakespeare", write("input.txt", "First Citizen:\n"), ""},
		{"tinyshakespeare", write("bin.txt", "ab\x00cd"), "is a binary file"},
		{"tinyshakespeare", write("latin1.txt", "caf\xe9\n"), "is not UTF-8 text"},
		{"tinyshakespeare", write("empty.txt", ""), "is empty"},
		{"tinyshakespeare", filepath.Join(dir, "good"), "is a folder, but this corpus is one file"},
	}
	for _, tc := range cases {
		_, err := c.Import(tc.name, tc.path, ImportOptions{})
		if tc.want == "" {
			require.NoError(t, err, "%s %s", tc.name, tc.path)
			continue
		}
		require.ErrorContains(t, err, tc.want, "%s %s", tc.name, tc.path)
		require.ErrorContains(t, err, "expected ", "the error gives the expected layout")
	}
}
