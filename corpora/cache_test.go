package corpora

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistry(t *testing.T) {
	names := Names()
	assert.Equal(t, []string{"imdb", "spa-eng", "sst2", "tinyshakespeare", "uci-sentences"}, names)
	for _, c := range All() {
		assert.NotEmpty(t, c.Description, c.Name)
		assert.True(t, strings.HasPrefix(c.URL, "http"), c.Name)
		assert.NotEmpty(t, c.License, c.Name)
		assert.NotEmpty(t, c.Attribution, c.Name)
		assert.NotEmpty(t, c.Layout, c.Name)
		assert.NotEmpty(t, c.Main, c.Name)
		assert.True(t, c.SHA256 == "" || len(c.SHA256) == 64, c.Name)
	}
	ts, err := Lookup("tinyshakespeare")
	require.NoError(t, err)
	assert.True(t, ts.Pinned())
	assert.Equal(t, "input.txt", ts.FileName())
	uci, _ := Lookup("uci-sentences")
	assert.Equal(t, "sentiment labelled sentences.zip", uci.FileName())
	spa, _ := Lookup("spa-eng")
	assert.Contains(t, spa.Attribution, "www.manythings.org/anki and tatoeba.org")
	_, err = Lookup("imbd")
	assert.EqualError(t, err, `unknown corpus "imbd"; known corpora: imdb, spa-eng, sst2, tinyshakespeare, uci-sentences`)
}

func TestCacheDir(t *testing.T) {
	d := t.TempDir()
	t.Setenv(EnvCache, d)
	got, err := CacheDir()
	require.NoError(t, err)
	assert.Equal(t, d, got)
	t.Setenv(EnvCache, "")
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	t.Setenv("HOME", "/home/u")
	got, err = CacheDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("/x/cache", "rnnkit", "corpora"), got)
}

func TestImportFileAndPath(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Path("spa-eng")
	assert.EqualError(t, err, "corpus spa-eng is not in the cache ("+c.Dir+"); run `rnnkit corpora fetch spa-eng` or `rnnkit corpora import spa-eng PATH`")

	src := filepath.Join(t.TempDir(), "spa-train.txt")
	require.NoError(t, os.WriteFile(src, []byte("The owl sings.\tEl búho canta.\n"), 0o644))
	var last int64
	m, err := c.Import("spa-eng", src, ImportOptions{Progress: func(d, _ int64) { last = d }})
	require.NoError(t, err)
	assert.Equal(t, int64(31), last)
	assert.Equal(t, "import", m.Source)
	assert.Equal(t, "symlink", m.Mode)
	assert.Equal(t, src, m.ImportedFrom)
	assert.Equal(t, sha([]byte("The owl sings.\tEl búho canta.\n")), m.SHA256)
	assert.False(t, m.Verified)
	assert.Equal(t, []FileInfo{{Path: "spa-train.txt", Size: 31, Count: 1}}, m.Files)
	p, err := c.Path("spa-eng")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(c.Dir, "spa-eng", "spa-train.txt"), p)
	pairs, errs := collect(ReadPairs(mustOpen(t, p), ReadOptions{}))
	assert.Empty(t, errs)
	assert.Equal(t, []Pair{{"The owl sings.", "El búho canta.", "", 1}}, pairs)

	// The manifest on disk is JSON with the documented fields.
	b, err := os.ReadFile(filepath.Join(c.Dir, "spa-eng", ManifestFile))
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	for _, k := range []string{"name", "source", "sha256", "imported_from", "mode", "path", "files", "created"} {
		assert.Contains(t, raw, k)
	}

	// Status.
	st, err := c.Status("spa-eng")
	require.NoError(t, err)
	assert.True(t, st.Cached)
	st, err = c.Status("imdb")
	require.NoError(t, err)
	assert.False(t, st.Cached)

	// Moving the source breaks the symlink; Path says what to do.
	require.NoError(t, os.Rename(src, src+".moved"))
	_, err = c.Path("spa-eng")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was "+src+" moved? run `rnnkit corpora import spa-eng PATH` again")
	st, _ = c.Status("spa-eng")
	assert.False(t, st.Cached)
	assert.NotEmpty(t, st.Problem)

	// Re-importing replaces the registration, here as a copy.
	m, err = c.Import("spa-eng", src+".moved", ImportOptions{Copy: true})
	require.NoError(t, err)
	assert.Equal(t, "copy", m.Mode)
	entries, _ := os.ReadDir(filepath.Join(c.Dir, "spa-eng"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{ManifestFile, "spa-train.txt.moved"}, names, "the old symlink is gone")
	require.NoError(t, os.Remove(src+".moved"))
	_, err = c.Path("spa-eng")
	assert.NoError(t, err, "a copy survives the source")
}

func TestImportVerifiesPinnedFile(t *testing.T) {
	body := []byte(pseudoText(1000))
	ts, _ := Lookup("tinyshakespeare")
	ts.SHA256 = sha(body)
	withCorpus(t, ts)
	src := filepath.Join(t.TempDir(), "input.txt")
	require.NoError(t, os.WriteFile(src, body, 0o644))
	c := &Cache{Dir: t.TempDir()}
	m, err := c.Import("tinyshakespeare", src, ImportOptions{})
	require.NoError(t, err)
	assert.True(t, m.Verified)
}

func TestImportFolder(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"train/pos/1_8.txt": "good", "train/neg/2_1.txt": "bad!", "README": "r"})
	for _, copy := range []bool{false, true} {
		c := &Cache{Dir: t.TempDir()}
		m, err := c.Import("imdb", src, ImportOptions{Copy: copy})
		require.NoError(t, err)
		assert.Empty(t, m.SHA256, "folders are not hashed")
		assert.Equal(t, int64(9), m.Size())
		assert.Equal(t, 3, m.Files[0].Count)
		p, err := c.Path("imdb")
		require.NoError(t, err)
		recs, errs := collect(ReadFolder(filepath.Join(p, "train"), FolderOptions{}))
		assert.Empty(t, errs)
		assert.Len(t, recs, 2)
	}
}

func TestImportErrors(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Import("nope", "/tmp", ImportOptions{})
	assert.ErrorContains(t, err, "unknown corpus")
	_, err = c.Import("imdb", filepath.Join(t.TempDir(), "missing.tsv"), ImportOptions{})
	assert.ErrorContains(t, err, "no such file")
	// Importing from inside the cache folder is refused.
	inside := filepath.Join(c.Dir, "imdb", "x.tsv")
	writeFiles(t, filepath.Join(c.Dir, "imdb"), map[string]string{"x.tsv": "a\t1\n"})
	_, err = c.Import("imdb", inside, ImportOptions{})
	assert.ErrorContains(t, err, "inside the cache folder")
	// A damaged manifest is reported.
	require.NoError(t, os.WriteFile(filepath.Join(c.Dir, "imdb", ManifestFile), []byte("{oops"), 0o644))
	_, err = c.Path("imdb")
	assert.ErrorContains(t, err, "damaged manifest")
	require.NoError(t, os.WriteFile(filepath.Join(c.Dir, "imdb", ManifestFile), []byte(`{"path":"../../etc/passwd"}`), 0o644))
	_, err = c.Path("imdb")
	assert.ErrorContains(t, err, "not inside the corpus folder")
	require.NoError(t, c.Remove("imdb"))
	_, err = os.Stat(filepath.Join(c.Dir, "imdb"))
	assert.True(t, os.IsNotExist(err))
}

func TestPackageLevelImport(t *testing.T) {
	t.Setenv(EnvCache, t.TempDir())
	src := filepath.Join(t.TempDir(), "train.tsv")
	require.NoError(t, os.WriteFile(src, []byte("sentence\tlabel\nok \t1\n"), 0o644))
	_, err := Import("sst2", src)
	require.NoError(t, err)
	p, err := Path("sst2")
	require.NoError(t, err)
	recs, errs := collect(ReadGLUE(mustOpen(t, p), ReadOptions{Name: p}))
	assert.Empty(t, errs)
	assert.Len(t, recs, 1)
}

func mustOpen(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}
