package corpora

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withCorpus adds (or replaces) a registry entry for the test's duration.
func withCorpus(t *testing.T, c Corpus) {
	t.Helper()
	saved := append([]Corpus(nil), registry...)
	t.Cleanup(func() { registry = saved })
	for i := range registry {
		if registry[i].Name == c.Name {
			registry[i] = c
			return
		}
	}
	registry = append(registry, c)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type zipEntry struct {
	name, body string
	mode       os.FileMode
}

func buildZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = w.Write([]byte(e.body))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

type tarEntry struct {
	name, body, link string
	typ              byte
}

func buildTarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if typ == tar.TypeDir {
			h.Mode = 0o755
		}
		require.NoError(t, tw.WriteHeader(h))
		if typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// fileServer serves files by base name with Range support. If cutOnce is
// set, the first full request is cut off after half of the body.
type fileServer struct {
	mu       sync.Mutex
	files    map[string][]byte
	cutOnce  bool
	requests []string // "GET name range"
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	s.requests = append(s.requests, name+" "+r.Header.Get("Range"))
	body, ok := s.files[name]
	cut := s.cutOnce && r.Header.Get("Range") == ""
	if cut {
		s.cutOnce = false
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if cut {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	http.ServeContent(w, r, name, time.Unix(0, 0), bytes.NewReader(body))
}

func newServer(t *testing.T, files map[string][]byte) (*fileServer, *Cache) {
	t.Helper()
	fs := &fileServer{files: files}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	return fs, &Cache{Dir: t.TempDir(), BaseURL: srv.URL, Client: srv.Client()}
}

// pseudoText is deterministic synthetic text of about n bytes.
func pseudoText(n int) string {
	words := []string{"the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "slept", "señor", "niño"}
	var sb strings.Builder
	r := splitmix{state: 7}
	for sb.Len() < n {
		sb.WriteString(words[r.below(uint64(len(words)))])
		if r.below(9) == 0 {
			sb.WriteString(".\n")
		} else {
			sb.WriteByte(' ')
		}
	}
	return sb.String()
}

func TestFetchZip(t *testing.T) {
	spa := "The owl sings.\tEl búho canta.\nBlue kites fly.\tLas cometas azules vuelan.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (a) & #2 (b)\n"
	archive := buildZip(t, zipEntry{name: "spa-eng/"}, zipEntry{name: "spa-eng/spa.txt", body: spa},
		zipEntry{name: "__MACOSX/spa-eng/._spa.txt", body: "junk"})
	srv, c := newServer(t, map[string][]byte{"spa-eng.zip": archive})
	var last, total int64
	m, err := c.Fetch(context.Background(), "spa-eng", func(d, tot int64) { last, total = d, tot })
	require.NoError(t, err)
	assert.Equal(t, int64(len(archive)), last)
	assert.Equal(t, int64(len(archive)), total)
	assert.Equal(t, "download", m.Source)
	assert.Equal(t, sha(archive), m.SHA256)
	assert.False(t, m.Verified, "spa-eng is not pinned")
	p, err := c.Path("spa-eng")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(c.Dir, "spa-eng", "spa-eng", "spa.txt"), p)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, spa, string(b))
	_, err = os.Stat(filepath.Join(c.Dir, "spa-eng", "__MACOSX"))
	assert.True(t, os.IsNotExist(err), "__MACOSX is skipped")
	_, err = os.Stat(filepath.Join(c.Dir, "spa-eng", "spa-eng.zip"))
	assert.True(t, os.IsNotExist(err), "the archive is removed after unpacking")

	// A second fetch is a no-op.
	n := len(srv.requests)
	_, err = c.Fetch(context.Background(), "spa-eng", nil)
	require.NoError(t, err)
	assert.Equal(t, n, len(srv.requests))

	// The package-level Fetch uses the mirror variable.
	dir := t.TempDir()
	t.Setenv(EnvMirror, c.BaseURL)
	require.NoError(t, Fetch(context.Background(), "spa-eng", dir, nil))
	_, err = os.Stat(filepath.Join(dir, "spa-eng", ManifestFile))
	require.NoError(t, err)
}

func TestFetchTarGzPinned(t *testing.T) {
	archive := buildTarGz(t,
		tarEntry{name: "aclImdb/", typ: tar.TypeDir},
		tarEntry{name: "aclImdb/train/pos/0_9.txt", body: "Great film."},
		tarEntry{name: "aclImdb/train/neg/1_2.txt", body: "Dull film."},
		tarEntry{name: "aclImdb/test/pos/2_8.txt", body: "Fine film."},
	)
	imdb, _ := Lookup("imdb")
	imdb.SHA256 = sha(archive)
	withCorpus(t, imdb)
	_, c := newServer(t, map[string][]byte{"aclImdb_v1.tar.gz": archive})
	m, err := c.Fetch(context.Background(), "imdb", nil)
	require.NoError(t, err)
	assert.True(t, m.Verified)
	require.Equal(t, []FileInfo{{Path: "aclImdb", Size: int64(len("Great film.Dull film.Fine film.")), Count: 3}}, m.Files)
	p, err := c.Path("imdb")
	require.NoError(t, err)
	var got []string
	for ex, err := range ReadFolder(filepath.Join(p, "train"), FolderOptions{}) {
		require.NoError(t, err)
		got = append(got, ex.Label+":"+ex.ID+":"+ex.Text)
	}
	assert.Equal(t, []string{"neg:1:Dull film.", "pos:0:Great film."}, got)
}

func TestFetchPlainFileResumes(t *testing.T) {
	body := []byte(pseudoText(300 << 10))
	ts, _ := Lookup("tinyshakespeare")
	ts.SHA256 = sha(body)
	withCorpus(t, ts)
	srv, c := newServer(t, map[string][]byte{"input.txt": body})
	srv.cutOnce = true
	m, err := c.Fetch(context.Background(), "tinyshakespeare", nil)
	require.NoError(t, err)
	assert.True(t, m.Verified)
	require.Len(t, srv.requests, 2)
	assert.Equal(t, "input.txt ", srv.requests[0])
	assert.True(t, strings.HasPrefix(srv.requests[1], "input.txt bytes="), "second request resumes: %q", srv.requests[1])
	assert.NotEqual(t, "input.txt bytes=0-", srv.requests[1])
	p, err := c.Path("tinyshakespeare")
	require.NoError(t, err)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, body, b)
}

func TestFetchResumesAcrossCalls(t *testing.T) {
	body := []byte(pseudoText(200 << 10))
	archive := buildZip(t, zipEntry{name: "spa-eng/spa.txt", body: string(body)})
	srv, c := newServer(t, map[string][]byte{"spa-eng.zip": archive})
	srv.cutOnce = true
	c.Retries = -1
	_, err := c.Fetch(context.Background(), "spa-eng", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run the fetch again to resume")
	st, err := os.Stat(filepath.Join(c.Dir, "spa-eng", "spa-eng.zip.part"))
	require.NoError(t, err)
	assert.Equal(t, int64(len(archive)/2), st.Size())

	_, err = c.Fetch(context.Background(), "spa-eng", nil)
	require.NoError(t, err)
	assert.Equal(t, "spa-eng.zip bytes="+strconv.Itoa(len(archive)/2)+"-", srv.requests[len(srv.requests)-1])
	p, err := c.Path("spa-eng")
	require.NoError(t, err)
	b, _ := os.ReadFile(p)
	assert.Equal(t, body, b)
}

func TestFetchBadChecksum(t *testing.T) {
	_, c := newServer(t, map[string][]byte{"input.txt": []byte("not the real file\n")})
	_, err := c.Fetch(context.Background(), "tinyshakespeare", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sha256 mismatch")
	entries, _ := os.ReadDir(filepath.Join(c.Dir, "tinyshakespeare"))
	assert.Empty(t, entries, "the bad download is removed")
	_, err = c.Path("tinyshakespeare")
	assert.ErrorContains(t, err, "not in the cache")
}

func TestFetchBadArchives(t *testing.T) {
	big := strings.Repeat("a", 4096)
	cases := []struct {
		name, corpus, file string
		body               []byte
		max                int64
		want               string
	}{
		{"corrupt zip", "spa-eng", "spa-eng.zip", []byte("PK\x03\x04 this is not a zip"), 0, "not a valid zip"},
		{"truncated zip", "spa-eng", "spa-eng.zip", buildZip(t, zipEntry{name: "spa-eng/spa.txt", body: big})[:100], 0, "zip"},
		{"corrupt tar.gz", "imdb", "aclImdb_v1.tar.gz", []byte("\x1f\x8b\x08\x00garbage"), 0, "unpack"},
		{"not gzip", "imdb", "aclImdb_v1.tar.gz", []byte("<html>404</html>"), 0, "gzip"},
		{"zip traversal", "spa-eng", "spa-eng.zip", buildZip(t, zipEntry{name: "../../evil.txt", body: "x"}), 0, "outside the corpus folder"},
		{"zip absolute", "spa-eng", "spa-eng.zip", buildZip(t, zipEntry{name: "/etc/evil.txt", body: "x"}), 0, "outside the corpus folder"},
		{"zip symlink", "spa-eng", "spa-eng.zip", buildZip(t, zipEntry{name: "spa-eng/spa.txt", body: "/etc/passwd", mode: os.ModeSymlink | 0o777}), 0, "refusing"},
		{"tar traversal", "imdb", "aclImdb_v1.tar.gz", buildTarGz(t, tarEntry{name: "aclImdb/../../evil.txt", body: "x"}), 0, "outside the corpus folder"},
		{"tar symlink", "imdb", "aclImdb_v1.tar.gz", buildTarGz(t, tarEntry{name: "aclImdb/link", link: "/etc", typ: tar.TypeSymlink}), 0, "refusing"},
		{"tar hardlink", "imdb", "aclImdb_v1.tar.gz", buildTarGz(t, tarEntry{name: "aclImdb/link", link: "../../x", typ: tar.TypeLink}), 0, "refusing"},
		{"zip bomb", "spa-eng", "spa-eng.zip", buildZip(t, zipEntry{name: "spa-eng/spa.txt", body: big}), 1000, "limit"},
		{"tar bomb", "imdb", "aclImdb_v1.tar.gz", buildTarGz(t, tarEntry{name: "aclImdb/a.txt", body: big}), 1000, "limit"},
		{"missing main", "spa-eng", "spa-eng.zip", buildZip(t, zipEntry{name: "other/file.txt", body: "x"}), 0, "has no spa-eng/spa.txt"},
		{"empty archive", "spa-eng", "spa-eng.zip", buildZip(t), 0, "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newServer(t, map[string][]byte{tc.file: tc.body})
			c.MaxUnpacked = tc.max
			_, err := c.Fetch(context.Background(), tc.corpus, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, err = os.Stat(filepath.Join(filepath.Dir(c.Dir), "evil.txt"))
			assert.True(t, os.IsNotExist(err))
			_, err = c.Path(tc.corpus)
			assert.Error(t, err)
			// Nothing is left but (at most) an empty-of-data corpus folder.
			entries, _ := os.ReadDir(filepath.Join(c.Dir, tc.corpus))
			for _, e := range entries {
				assert.NotContains(t, e.Name(), ".unpack-", "temporary folders are removed")
			}
		})
	}
}

func TestFetchHTTPErrors(t *testing.T) {
	_, c := newServer(t, map[string][]byte{})
	_, err := c.Fetch(context.Background(), "sst2", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")

	_, err = c.Fetch(context.Background(), "nope", nil)
	assert.ErrorContains(t, err, "unknown corpus")

	// A download larger than the cap is refused.
	_, c = newServer(t, map[string][]byte{"SST-2.zip": make([]byte, 5000)})
	c.MaxDownload = 1000
	_, err = c.Fetch(context.Background(), "sst2", nil)
	assert.ErrorContains(t, err, "limit")

	// A cancelled context stops the fetch.
	_, c = newServer(t, map[string][]byte{"SST-2.zip": buildZip(t, zipEntry{name: "SST-2/train.tsv", body: "sentence\tlabel\n"})})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Fetch(ctx, "sst2", nil)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/*", 0, -1, true},
		{"bytes */300", -1, 300, true},
		{"bytes x-1/2", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"", 0, 0, false},
	} {
		s, tot, ok := parseContentRange(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		if ok {
			assert.Equal(t, tc.start, s, tc.in)
			assert.Equal(t, tc.total, tot, tc.in)
		}
	}
}

func TestFetchServerWithoutRange(t *testing.T) {
	body := []byte(pseudoText(100 << 10))
	archive := buildZip(t, zipEntry{name: "spa-eng/spa.txt", body: string(body)})
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
		w.WriteHeader(http.StatusOK) // ignores Range: always the whole file
		if first {
			w.Write(archive[:len(archive)/3])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		w.Write(archive)
	}))
	defer srv.Close()
	c := &Cache{Dir: t.TempDir(), BaseURL: srv.URL}
	_, err := c.Fetch(context.Background(), "spa-eng", nil)
	require.NoError(t, err)
	p, err := c.Path("spa-eng")
	require.NoError(t, err)
	b, _ := os.ReadFile(p)
	assert.Equal(t, body, b, "a 200 answer to a Range request starts the file again")
}

func TestFetchCompletePartFile(t *testing.T) {
	archive := buildZip(t, zipEntry{name: "spa-eng/spa.txt", body: "A.\tB.\n"})
	srv, c := newServer(t, map[string][]byte{"spa-eng.zip": archive})
	require.NoError(t, os.MkdirAll(filepath.Join(c.Dir, "spa-eng"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(c.Dir, "spa-eng", "spa-eng.zip.part"), archive, 0o644))
	_, err := c.Fetch(context.Background(), "spa-eng", nil)
	require.NoError(t, err)
	require.Len(t, srv.requests, 1)
	assert.Equal(t, "spa-eng.zip bytes="+strconv.Itoa(len(archive))+"-", srv.requests[0], "answered 416: already complete")

	// A part file longer than the file on the server is thrown away.
	_, c = newServer(t, map[string][]byte{"spa-eng.zip": archive})
	require.NoError(t, os.MkdirAll(filepath.Join(c.Dir, "spa-eng"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(c.Dir, "spa-eng", "spa-eng.zip.part"), append(archive, "junk"...), 0o644))
	_, err = c.Fetch(context.Background(), "spa-eng", nil)
	require.NoError(t, err)
	p, _ := c.Path("spa-eng")
	b, _ := os.ReadFile(p)
	assert.Equal(t, "A.\tB.\n", string(b))
}

func TestFetchConcurrent(t *testing.T) {
	archive := buildZip(t, zipEntry{name: "spa-eng/spa.txt", body: pseudoText(50 << 10)})
	srv, c := newServer(t, map[string][]byte{"spa-eng.zip": archive})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c2 := *c
			_, errs[i] = c2.Fetch(context.Background(), "spa-eng", nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	assert.Len(t, srv.requests, 1, "one download; the others wait and find it")
}

// Offline (the server refuses the connection), a fetch says that nothing
// was downloaded and leaves no empty .part file, rather than speaking of a
// partial download to resume.
func TestFetchOfflineSaysNothingDownloaded(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	c := &Cache{Dir: t.TempDir(), BaseURL: url, Retries: -1}
	_, err := c.Fetch(context.Background(), "sst2", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nothing was downloaded")
	assert.NotContains(t, err.Error(), "partial download")
	_, statErr := os.Stat(filepath.Join(c.Dir, "sst2", "SST-2.zip.part"))
	assert.True(t, os.IsNotExist(statErr), "no empty .part file")
}
