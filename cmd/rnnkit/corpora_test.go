package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCorporaList(t *testing.T) {
	t.Setenv("RNNKIT_CACHE", t.TempDir())
	out, _, err := runCLI(t, "corpora", "list")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 6)
	assert.Regexp(t, `^NAME\s+STATUS\s+SIZE\s+SHA256\s+LICENCE$`, lines[0])
	assert.Regexp(t, `^imdb\s+not cached\s+~84\.1 MB download\s+not pinned\s+research use`, lines[1])
	assert.Regexp(t, `^tinyshakespeare\s+not cached\s+~1\.1 MB download\s+pinned\s+public domain`, lines[4])

	out, _, err = runCLI(t, "corpora", "list", "--json")
	require.NoError(t, err)
	var rows []map[string]any // one object per line, as every --json list
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var row map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &row))
		rows = append(rows, row)
	}
	require.Len(t, rows, 5)
	assert.Equal(t, "imdb", rows[0]["name"])
	assert.Equal(t, false, rows[0]["cached"])
	assert.Equal(t, true, rows[3]["sha256_pinned"])
}

func TestCorporaImportPathInfo(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("RNNKIT_CACHE", cache)
	src := filepath.Join(t.TempDir(), "train.tsv")
	require.NoError(t, os.WriteFile(src, []byte("A fine film.\t1\nA dull one.\t0\n"), 0o644))

	_, _, err := runCLI(t, "corpora", "path", "imdb")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "corpus imdb is not in the cache")
	assert.Contains(t, err.Error(), "rnnkit corpora import imdb PATH")

	out, _, err := runCLI(t, "corpora", "import", "imdb", src)
	require.NoError(t, err)
	want := filepath.Join(cache, "imdb", "train.tsv")
	assert.Contains(t, out, "imported imdb from "+src+" (symlink; 29 B in 1 file(s); sha256 ")
	assert.True(t, strings.HasSuffix(out, want+"\n"), out)

	out, _, err = runCLI(t, "corpora", "path", "imdb")
	require.NoError(t, err)
	assert.Equal(t, want+"\n", out)

	out, _, err = runCLI(t, "corpora", "path", "imdb", "--json")
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"imdb","path":"`+want+`"}`, out)

	out, _, err = runCLI(t, "corpora", "list")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^imdb\s+imported\s+29 B\s+`, out)

	// An imported variant of a pinned corpus is never shown as pinned.
	variant := filepath.Join(t.TempDir(), "input.txt")
	require.NoError(t, os.WriteFile(variant, []byte("First Citizen:\nA variant.\n"), 0o644))
	_, _, err = runCLI(t, "corpora", "import", "tinyshakespeare", variant)
	require.NoError(t, err)
	out, _, err = runCLI(t, "corpora", "list")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^tinyshakespeare\s+imported\s+\S+ B\s+differs\s+`, out)
	out, _, err = runCLI(t, "corpora", "list", "--json")
	require.NoError(t, err)
	assert.Contains(t, out, `"name":"tinyshakespeare","status":"imported"`)
	assert.Regexp(t, `"name":"tinyshakespeare".*"verified":false`, out)

	out, _, err = runCLI(t, "corpora", "info", "imdb")
	require.NoError(t, err)
	assert.Contains(t, out, "Maas, Daly, Pham, Huang, Ng and Potts")
	assert.Contains(t, out, "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz")
	assert.Regexp(t, `Status:\s+imported, 29 B at `+want, out)

	out, _, err = runCLI(t, "corpora", "info", "spa-eng", "--json")
	require.NoError(t, err)
	var info map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	assert.Equal(t, "www.manythings.org/anki and tatoeba.org", info["attribution"], "snake_case keys, as every --json")

	out, _, err = runCLI(t, "corpora", "import", "sst2", src, "--copy", "--json")
	require.NoError(t, err)
	var res struct {
		Path     string
		Manifest struct{ Mode, Source string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.Equal(t, "copy", res.Manifest.Mode)
	assert.Equal(t, filepath.Join(cache, "sst2", "train.tsv"), res.Path)
}

func TestCorporaUsageErrors(t *testing.T) {
	t.Setenv("RNNKIT_CACHE", t.TempDir())
	for _, args := range [][]string{
		{"corpora", "info", "imbd"},
		{"corpora", "fetch", "nope"},
		{"corpora", "import", "imdb"},
		{"corpora", "path"},
		{"corpora", "list", "extra"},
	} {
		_, _, err := runCLI(t, args...)
		require.Error(t, err, args)
		var ue usageError
		assert.True(t, errors.As(err, &ue) || isCobraUsageErr(err), "%v: %v is a usage error", args, err)
	}
	_, _, err := runCLI(t, "corpora", "info", "imbd")
	assert.EqualError(t, err, `unknown corpus "imbd"; known corpora: imdb, spa-eng, sst2, tinyshakespeare, uci-sentences`)
	_, _, err = runCLI(t, "corpora", "import", "imdb", filepath.Join(t.TempDir(), "missing"))
	assert.ErrorContains(t, err, "no such file or directory")
}

func TestCorporaFetch(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("SST-2/train.tsv")
	w.Write([]byte("sentence\tlabel\ngood \t1\n"))
	require.NoError(t, zw.Close())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/SST-2.zip" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "SST-2.zip", time.Unix(0, 0), bytes.NewReader(buf.Bytes()))
	}))
	defer srv.Close()
	cache := t.TempDir()
	t.Setenv("RNNKIT_CACHE", cache)
	t.Setenv("RNNKIT_CORPORA_MIRROR", srv.URL)

	out, errOut, err := runCLI(t, "corpora", "fetch", "sst2")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "sst2", "SST-2")+"\n", out)
	assert.Contains(t, errOut, "fetching sst2 from "+srv.URL+"/SST-2.zip")
	assert.Contains(t, errOut, "sha256 not pinned")

	out, _, err = runCLI(t, "corpora", "list")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^sst2\s+cached\s+23 B\s+not pinned`, out)

	out, _, err = runCLI(t, "--quiet", "corpora", "fetch", "sst2", "--force", "--json")
	require.NoError(t, err)
	assert.Contains(t, out, `"source":"download"`)

	_, _, err = runCLI(t, "-q", "corpora", "fetch", "imdb")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404 Not Found")
}

func TestCorporaHelp(t *testing.T) {
	for _, sub := range []string{"list", "info", "fetch", "import", "path"} {
		out, _, err := runCLI(t, "corpora", sub, "--help")
		require.NoError(t, err)
		assert.Contains(t, out, "rnnkit corpora "+sub, sub)
		assert.Contains(t, out, "Examples:", sub)
	}
}

func TestCorporaCompletion(t *testing.T) {
	out, _, err := runCLI(t, "__complete", "corpora", "info", "")
	require.NoError(t, err)
	for _, name := range []string{"imdb\t", "spa-eng\t", "sst2\t", "tinyshakespeare\t", "uci-sentences\t"} {
		assert.Contains(t, out, name)
	}
	assert.Contains(t, out, ":4") // ShellCompDirectiveNoFileComp
}
