package corpora

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	defaultRetries     = 3
	defaultMaxDownload = 4 << 30
	defaultMaxUnpacked = 8 << 30
)

// Fetch downloads corpus name into the cache folder dir ("" = CacheDir) and
// unpacks it; see Cache.Fetch. The download base URL is $RNNKIT_CORPORA_MIRROR
// if set.
func Fetch(ctx context.Context, name, dir string, progress func(done, total int64)) error {
	c, err := DefaultCache()
	if err != nil && dir == "" {
		return err
	}
	if c == nil {
		c = &Cache{BaseURL: os.Getenv(EnvMirror)}
	}
	if dir != "" {
		c.Dir = dir
	}
	_, err = c.Fetch(ctx, name, progress)
	return err
}

// URL returns where Fetch downloads corpus from: its canonical URL, or
// BaseURL + "/" + its file name when BaseURL is set.
func (c *Cache) URL(corpus Corpus) string {
	if c.BaseURL == "" {
		return corpus.URL
	}
	return strings.TrimRight(c.BaseURL, "/") + "/" + corpus.URL[strings.LastIndexByte(corpus.URL, '/')+1:]
}

// Fetch downloads corpus name into the cache and unpacks it, unless it is
// already there from an earlier download (an import is replaced).
//
// The download goes to <name>/<file>.part and resumes with an HTTP Range
// request: after a dropped connection (up to Retries times) and across
// calls, so running Fetch again after a failure continues where it
// stopped. A complete download is checked against the registry's sha256
// (when pinned; a mismatch removes the file and is an error), renamed into
// place, and unpacked: entries that would land outside the corpus folder,
// links and special files are refused, and the unpacked total is capped by
// MaxUnpacked. progress, if not nil, gets the bytes downloaded so far and
// the total (-1 if unknown).
func (c *Cache) Fetch(ctx context.Context, name string, progress func(done, total int64)) (*Manifest, error) {
	corpus, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if c.Dir == "" {
		return nil, errors.New("corpora: Cache.Dir is empty")
	}
	cdir := c.corpusDir(name)
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return nil, err
	}
	// One fetch per corpus at a time, across processes: a second one waits,
	// then finds the corpus in place.
	unlock, err := lockFile(ctx, filepath.Join(c.Dir, "."+name+".lock"))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: waiting for another fetch: %w", name, err)
	}
	defer unlock()
	if m, err := c.Manifest(name); err == nil && m.Source == "download" {
		if _, err := c.Path(name); err == nil {
			return m, nil
		}
	}
	url := c.URL(corpus)
	file := corpus.FileName()
	part := filepath.Join(cdir, file+".part")
	if err := c.download(ctx, url, part, progress); err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", name, url, err)
	}
	sum, err := hashFile(part, 0, nil)
	if err != nil {
		return nil, err
	}
	if corpus.Pinned() && sum != corpus.SHA256 {
		os.Remove(part)
		return nil, fmt.Errorf("fetch %s from %s: sha256 mismatch: got %s, want %s; the download was removed, run the fetch again (if it repeats, the server serves a different file)", name, url, sum, corpus.SHA256)
	}
	if err := c.clear(name); err != nil {
		return nil, err
	}
	m := &Manifest{Name: name, Source: "download", URL: url, SHA256: sum, Verified: corpus.Pinned(),
		Path: filepath.FromSlash(corpus.Main), Created: time.Now().UTC().Truncate(time.Second)}
	if corpus.Archive == ArchiveNone {
		dst := filepath.Join(cdir, filepath.FromSlash(corpus.Main))
		if err := os.Rename(part, dst); err != nil {
			return nil, err
		}
		if m.Files, err = summarize(cdir, corpus.Main); err != nil {
			return nil, err
		}
	} else {
		archive := filepath.Join(cdir, file)
		if err := os.Rename(part, archive); err != nil {
			return nil, err
		}
		top, err := c.unpack(corpus.Archive, archive, cdir)
		os.Remove(archive)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: unpack %s: %w; the download was removed, run the fetch again", name, file, err)
		}
		if m.Files, err = summarize(cdir, top...); err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(cdir, m.Path)); err != nil {
			return nil, fmt.Errorf("fetch %s: the archive %s has no %s (it holds %s)", name, file, corpus.Main, strings.Join(top, ", "))
		}
	}
	if err := writeManifest(cdir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// errRetry marks a transfer that stopped early and may be resumed.
type errRetry struct{ error }

func (e errRetry) Unwrap() error { return e.error }

func (c *Cache) download(ctx context.Context, url, part string, progress func(done, total int64)) error {
	retries := c.Retries
	if retries == 0 {
		retries = defaultRetries
	}
	for attempt := 0; ; attempt++ {
		err := c.downloadOnce(ctx, url, part, progress)
		var re errRetry
		if err == nil || !errors.As(err, &re) || ctx.Err() != nil || attempt >= retries {
			if err == nil {
				return nil
			}
			kept := "the partial download was kept, run the fetch again to resume"
			if st, serr := os.Stat(part); serr != nil || st.Size() == 0 {
				os.Remove(part)
				kept = "nothing was downloaded; check the network connection (or the mirror), or register a copy you have with \"rnnkit corpora import\""
			}
			if errors.As(err, &re) && ctx.Err() == nil {
				return fmt.Errorf("%w; %s", err, kept)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%w; %s", ctx.Err(), kept)
			}
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		}
	}
}

// downloadOnce makes one request, resuming from the size of part.
func (c *Cache) downloadOnce(ctx context.Context, url, part string, progress func(done, total int64)) (err error) {
	maxDownload := c.MaxDownload
	if maxDownload <= 0 {
		maxDownload = defaultMaxDownload
	}
	var offset int64
	if st, err := os.Stat(part); err == nil {
		offset = st.Size()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return errRetry{err}
	}
	defer resp.Body.Close()
	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		offset = 0
		total = resp.ContentLength
	case http.StatusPartialContent:
		start, t, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			// The server sent another range than asked: start again.
			os.Remove(part)
			return errRetry{fmt.Errorf("server answered a Range request with %q", resp.Header.Get("Content-Range"))}
		}
		total = t
	case http.StatusRequestedRangeNotSatisfiable:
		// Either the part file is already complete or it is longer than
		// the file on the server: check the size, else start again.
		if _, t, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && t == offset {
			return nil
		}
		os.Remove(part)
		return errRetry{errors.New("partial download does not match the file on the server; starting again")}
	default:
		return fmt.Errorf("server answered %s", resp.Status)
	}
	if total > maxDownload {
		return fmt.Errorf("download is %d bytes, more than the limit of %d", total, maxDownload)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if offset == 0 {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if progress != nil {
		progress(offset, total)
	}
	body := io.LimitReader(resp.Body, maxDownload-offset+1)
	n, err := copyProgress(f, body, offset, total, progress)
	if offset+n > maxDownload {
		return fmt.Errorf("download is more than the limit of %d bytes", maxDownload)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errRetry{fmt.Errorf("transfer interrupted at %d bytes: %w", offset+n, err)}
	}
	if total >= 0 && offset+n != total {
		return errRetry{fmt.Errorf("transfer interrupted at %d of %d bytes", offset+n, total)}
	}
	return f.Sync()
}

// parseContentRange parses "bytes start-end/total" (total may be "*", then
// -1) and "bytes */total".
func parseContentRange(s string) (start, total int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t < 0 {
			return 0, 0, false
		}
		total = t
	}
	if rng == "*" {
		return -1, total, true
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	return start, total, true
}

// unpack extracts archive into a temporary folder inside dir, then moves its
// top-level entries into dir (replacing entries of the same name). It
// returns the names of the top-level entries.
func (c *Cache) unpack(kind Archive, archive, dir string) (top []string, err error) {
	tmp, err := os.MkdirTemp(dir, ".unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	limit := c.MaxUnpacked
	if limit <= 0 {
		limit = defaultMaxUnpacked
	}
	x := &extractor{root: tmp, left: limit, limit: limit}
	switch kind {
	case ArchiveZip:
		err = x.zip(archive)
	case ArchiveTarGz:
		err = x.tarGz(archive)
	default:
		err = fmt.Errorf("unknown archive kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("the archive is empty")
	}
	for _, e := range entries {
		dst := filepath.Join(dir, e.Name())
		if e.Name() == ManifestFile {
			return nil, fmt.Errorf("the archive holds a top-level %s", ManifestFile)
		}
		if err := os.RemoveAll(dst); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(tmp, e.Name()), dst); err != nil {
			return nil, err
		}
		top = append(top, e.Name())
	}
	return top, nil
}

// extractor writes archive entries below root, refusing anything that would
// escape it and stopping when more than limit bytes have been written.
type extractor struct {
	root        string
	left, limit int64
}

// target returns the path an archive entry name maps to, or an error if
// the name is absolute, climbs out with "..", or is otherwise not local.
func (x *extractor) target(name string) (string, error) {
	clean := strings.TrimSuffix(name, "/")
	if clean == "" || strings.Contains(clean, "\\") || strings.ContainsRune(clean, 0) {
		return "", fmt.Errorf("unsafe entry name %q", name)
	}
	local := filepath.FromSlash(clean)
	if !filepath.IsLocal(local) {
		return "", fmt.Errorf("entry %q would be written outside the corpus folder; refusing the archive", name)
	}
	return filepath.Join(x.root, local), nil
}

func (x *extractor) file(name string, r io.Reader, mode fs.FileMode) (err error) {
	dst, err := x.target(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// O_EXCL: a second entry with the same name (or one that went through
	// an earlier symlink, which we never create) is refused.
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm()|0o600)
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	n, err := io.Copy(f, io.LimitReader(r, x.left+1))
	x.left -= n
	if x.left < 0 {
		return fmt.Errorf("unpacked size exceeds the limit of %d bytes", x.limit)
	}
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	return nil
}

func (x *extractor) dir(name string) error {
	dst, err := x.target(name)
	if err != nil {
		return err
	}
	return os.MkdirAll(dst, 0o755)
}

func skipEntry(name string) bool {
	return strings.HasPrefix(name, "__MACOSX/") || strings.HasSuffix(name, "/.DS_Store") || name == ".DS_Store"
}

func (x *extractor) zip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if skipEntry(f.Name) {
			continue
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := x.dir(f.Name); err != nil {
				return err
			}
		case mode.IsRegular():
			if f.UncompressedSize64 > uint64(x.left) {
				return fmt.Errorf("entry %q: unpacked size exceeds the limit of %d bytes", f.Name, x.limit)
			}
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("entry %q: %w", f.Name, err)
			}
			err = x.file(f.Name, rc, mode)
			rc.Close()
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q is a %v, not a file or folder; refusing the archive", f.Name, mode.Type())
		}
	}
	return nil
}

func (x *extractor) tarGz(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if skipEntry(h.Name) {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := x.dir(h.Name); err != nil {
				return err
			}
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives use TypeRegA
			if h.Size > x.left {
				return fmt.Errorf("entry %q: unpacked size exceeds the limit of %d bytes", h.Name, x.limit)
			}
			if err := x.file(h.Name, tr, fs.FileMode(h.Mode)); err != nil {
				return err
			}
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		default:
			return fmt.Errorf("entry %q has type %q (a link or special file); refusing the archive", h.Name, h.Typeflag)
		}
	}
}
