package corpora

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rnnkit/rnnkit/internal/atomicfile"
)

// EnvCache is the environment variable that overrides the cache folder.
const EnvCache = "RNNKIT_CACHE"

// EnvMirror is the environment variable that overrides the download base URL:
// when set, corpus NAME is fetched from $RNNKIT_CORPORA_MIRROR/<file name of
// its canonical URL>, e.g. a local mirror or a test server.
const EnvMirror = "RNNKIT_CORPORA_MIRROR"

// ManifestFile is the name of the manifest inside each corpus folder.
const ManifestFile = "manifest.json"

// CacheDir returns the corpus cache folder: $RNNKIT_CACHE if set, otherwise
// os.UserCacheDir()/rnnkit/corpora (on Linux $XDG_CACHE_HOME/rnnkit/corpora
// or ~/.cache/rnnkit/corpora). The folder is not created.
func CacheDir() (string, error) {
	if d := os.Getenv(EnvCache); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache folder (%v); set %s to a folder for corpora", err, EnvCache)
	}
	return filepath.Join(d, "rnnkit", "corpora"), nil
}

// Cache is a corpus cache rooted at Dir: one folder per corpus, each with a
// manifest.json. The zero value of the other fields means their defaults.
type Cache struct {
	Dir string
	// BaseURL, if set, replaces the scheme, host and path of every canonical
	// URL: the corpus is fetched from BaseURL + "/" + its file name.
	BaseURL string
	// Client is the HTTP client for Fetch (default: http.DefaultClient).
	Client *http.Client
	// Retries is how many times Fetch resumes an interrupted transfer
	// (default 3; negative means none).
	Retries int
	// MaxDownload caps the size of one download in bytes (default 4 GiB).
	MaxDownload int64
	// MaxUnpacked caps the total size of the files unpacked from one
	// archive in bytes (default 8 GiB), against zip and gzip bombs.
	MaxUnpacked int64
}

// DefaultCache returns the cache at CacheDir, with BaseURL from $RNNKIT_CORPORA_MIRROR.
func DefaultCache() (*Cache, error) {
	d, err := CacheDir()
	if err != nil {
		return nil, err
	}
	return &Cache{Dir: d, BaseURL: os.Getenv(EnvMirror)}, nil
}

// Manifest records what a corpus folder in the cache holds.
type Manifest struct {
	Name string `json:"name"`
	// Source is "download" or "import".
	Source string `json:"source"`
	// URL is where a download came from.
	URL string `json:"url,omitempty"`
	// SHA256 is the hex sha256 of the download, or of an imported file.
	SHA256 string `json:"sha256,omitempty"`
	// Verified is true when SHA256 equals the registry's pinned checksum.
	Verified bool `json:"verified"`
	// ImportedFrom is the absolute path an imported corpus came from.
	ImportedFrom string `json:"imported_from,omitempty"`
	// Mode is how an import was made: "symlink" or "copy".
	Mode string `json:"mode,omitempty"`
	// Path is the registered file or folder, relative to the corpus folder.
	Path string `json:"path"`
	// Files lists the top-level entries of the corpus folder with their
	// total size and number of regular files.
	Files   []FileInfo `json:"files"`
	Created time.Time  `json:"created"`
}

// FileInfo summarises one entry of a corpus folder.
type FileInfo struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	Count int    `json:"count"` // regular files (1 for a file)
}

// Size is the total size of the registered files in bytes.
func (m *Manifest) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

func defaultCache() (*Cache, error) { return DefaultCache() }

// Path returns the registered file or folder of corpus name in the default cache.
func Path(name string) (string, error) {
	c, err := defaultCache()
	if err != nil {
		return "", err
	}
	return c.Path(name)
}

// Import registers a local copy of corpus name in the default cache.
func Import(name, path string) (*Manifest, error) {
	c, err := defaultCache()
	if err != nil {
		return nil, err
	}
	return c.Import(name, path, ImportOptions{})
}

func (c *Cache) corpusDir(name string) string { return filepath.Join(c.Dir, name) }

// Manifest returns the manifest of corpus name, or an error wrapping
// fs.ErrNotExist if the corpus is not in the cache.
func (c *Cache) Manifest(name string) (*Manifest, error) {
	if _, err := Lookup(name); err != nil {
		return nil, err
	}
	p := filepath.Join(c.corpusDir(name), ManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: damaged manifest (%v); run `rnnkit corpora fetch %s` or `rnnkit corpora import %s PATH` again", p, err, name, name)
	}
	if m.Path == "" || !filepath.IsLocal(m.Path) {
		return nil, fmt.Errorf("%s: manifest path %q is not inside the corpus folder", p, m.Path)
	}
	return &m, nil
}

// Path returns the registered file or folder of corpus name: the file a
// download unpacked to (e.g. spa-eng/spa.txt, the aclImdb folder) or the
// imported file or folder. It fails with a hint when the corpus is not cached
// or its files have gone (e.g. an imported symlink whose target moved).
func (c *Cache) Path(name string) (string, error) {
	m, err := c.Manifest(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("corpus %s is not in the cache (%s); run `rnnkit corpora fetch %s` or `rnnkit corpora import %s PATH`", name, c.Dir, name, name)
	}
	if err != nil {
		return "", err
	}
	p := filepath.Join(c.corpusDir(name), m.Path)
	if _, err := os.Stat(p); err != nil {
		hint := fmt.Sprintf("run `rnnkit corpora fetch %s` again", name)
		if m.Source == "import" {
			hint = fmt.Sprintf("was %s moved? run `rnnkit corpora import %s PATH` again", m.ImportedFrom, name)
		}
		return "", fmt.Errorf("corpus %s is registered but %s is missing (%v); %s", name, p, unwrapPathErr(err), hint)
	}
	return p, nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ImportOptions controls Cache.Import.
type ImportOptions struct {
	// Copy copies the files into the cache instead of symlinking them.
	Copy bool
	// Progress, if not nil, is called with the bytes hashed or copied so far
	// and the total.
	Progress func(done, total int64)
}

// Import registers the local file or folder path as corpus name: it replaces
// any previous registration with a symlink to path (or a copy, if symlinks
// are not possible or opts.Copy is set) and a manifest. A file is hashed,
// and Manifest.Verified says whether it is the canonical download.
func (c *Cache) Import(name, path string, opts ImportOptions) (*Manifest, error) {
	corpus, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil, fmt.Errorf("import %s: %s is neither a file nor a folder", name, abs)
	}
	if err := checkLayout(corpus, abs, fi); err != nil {
		return nil, err
	}
	cdir := c.corpusDir(name)
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(cdir, abs); err == nil && (rel == "." || filepath.IsLocal(rel)) {
		return nil, fmt.Errorf("import %s: %s is inside the cache folder %s", name, abs, cdir)
	}
	m := &Manifest{Name: name, Source: "import", ImportedFrom: abs, Created: time.Now().UTC().Truncate(time.Second)}
	if fi.Mode().IsRegular() {
		sum, err := hashFile(abs, fi.Size(), opts.Progress)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", name, err)
		}
		m.SHA256 = sum
		m.Verified = corpus.Pinned() && sum == corpus.SHA256
	}
	// Remove the previous registration first, so Path never points at a
	// half-made entry, then build the new entry under a temporary name.
	if err := c.clear(name); err != nil {
		return nil, err
	}
	base := filepath.Base(abs)
	if base == ManifestFile || strings.HasPrefix(base, ".") {
		base = "data-" + strings.TrimPrefix(base, ".")
	}
	dst := filepath.Join(cdir, base)
	m.Mode = "symlink"
	if opts.Copy || os.Symlink(abs, dst) != nil {
		m.Mode = "copy"
		if err := copyTree(abs, dst, opts.Progress); err != nil {
			os.RemoveAll(dst)
			return nil, fmt.Errorf("import %s: %w", name, err)
		}
	}
	m.Path = base
	if m.Files, err = summarize(cdir, base); err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	if err := writeManifest(cdir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Remove deletes corpus name from the cache (a symlinked import's target
// is left alone).
func (c *Cache) Remove(name string) error {
	if _, err := Lookup(name); err != nil {
		return err
	}
	return os.RemoveAll(c.corpusDir(name))
}

// clear removes the manifest and the registered entry of a corpus, keeping
// partial downloads.
func (c *Cache) clear(name string) error {
	cdir := c.corpusDir(name)
	m, err := c.Manifest(name)
	if err := os.Remove(filepath.Join(cdir, ManifestFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err == nil {
		// os.RemoveAll removes a symlink itself, never its target.
		if err := os.RemoveAll(filepath.Join(cdir, m.Path)); err != nil {
			return err
		}
		for _, f := range m.Files {
			if filepath.IsLocal(f.Path) {
				if err := os.RemoveAll(filepath.Join(cdir, f.Path)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Status describes one registry entry and its state in a cache.
type Status struct {
	Corpus
	Cached   bool      `json:"cached"`
	Manifest *Manifest `json:"manifest,omitempty"`
	Problem  string    `json:"problem,omitempty"` // why a registered corpus is unusable
}

// Status reports whether corpus name is cached and usable.
func (c *Cache) Status(name string) (Status, error) {
	corpus, err := Lookup(name)
	if err != nil {
		return Status{}, err
	}
	s := Status{Corpus: corpus}
	m, err := c.Manifest(name)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		s.Problem = err.Error()
		return s, nil
	}
	s.Manifest = m
	if _, err := c.Path(name); err != nil {
		s.Problem = err.Error()
		return s, nil
	}
	s.Cached = true
	return s, nil
}

func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// summarize lists the given entries of dir with their recursive sizes.
func summarize(dir string, names ...string) ([]FileInfo, error) {
	var out []FileInfo
	for _, n := range names {
		fi := FileInfo{Path: n}
		root := filepath.Join(dir, n)
		// Follow a top-level symlink (an import), but no symlinks below it.
		st, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if st.Mode().IsRegular() {
			fi.Size, fi.Count = st.Size(), 1
		} else {
			err := filepath.WalkDir(root+string(filepath.Separator), func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() {
					info, err := d.Info()
					if err != nil {
						return err
					}
					fi.Size += info.Size()
					fi.Count++
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// hashFile returns the hex sha256 of a file.
func hashFile(path string, size int64, progress func(done, total int64)) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := copyProgress(h, f, 0, size, progress); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyProgress copies src to dst, calling progress(done+n, total) as it goes.
func copyProgress(dst io.Writer, src io.Reader, done, total int64, progress func(done, total int64)) (int64, error) {
	if progress == nil {
		return io.Copy(dst, src)
	}
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			w, werr := dst.Write(buf[:k])
			n += int64(w)
			progress(done+n, total)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// copyTree copies a file or folder (regular files and folders only; symlinks
// inside a folder are followed only if they point at regular files).
func copyTree(src, dst string, progress func(done, total int64)) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if st.Mode().IsRegular() {
		return copyFile(src, dst, st.Mode().Perm(), progress)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		default:
			info, err := os.Stat(p)
			if err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			return copyFile(p, target, info.Mode().Perm(), nil)
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode, progress func(done, total int64)) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm|0o200)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = copyProgress(out, in, 0, st.Size(), progress)
	return err
}
