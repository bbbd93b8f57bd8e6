package corpora

import (
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FolderOptions selects the class folders of a folder layout.
type FolderOptions struct {
	// ReadOptions.MaxLineBytes caps the size of one file; Name is unused.
	ReadOptions
	// Classes are the class folders to read, in this order. The default is
	// every subfolder of the root in name order, except "unsup" (IMDB's
	// unlabelled reviews).
	Classes []string
	// Unsorted lists folders in the order the file system returns them, in
	// batches, so that memory stays flat even for folders of millions of
	// files. By default each folder's names are sorted (holding the names,
	// never the contents, of one folder), which makes the order, and so any
	// seeded shuffle of it, reproducible.
	Unsorted bool
}

// ReadFolder streams a folder-per-class layout such as IMDB's
// aclImdb/train: root/pos/*.txt and root/neg/*.txt, one text per file,
// labelled by the name of its top-level class folder ("pos", "neg").
// Subfolders of a class folder are read recursively; hidden files (".*")
// are skipped. Example.File is the path relative to root; Example.ID and
// Rating come from names of the form <id>_<rating>.txt. An unreadable, too
// large or non-UTF-8 file is a *RecordError and reading goes on.
func ReadFolder(root string, o FolderOptions) iter.Seq2[Example, error] {
	return func(yield func(Example, error) bool) {
		classes := o.Classes
		if len(classes) == 0 {
			entries, err := os.ReadDir(root)
			if err != nil {
				yield(Example{}, err)
				return
			}
			for _, e := range entries {
				if isDir(root, e) && e.Name() != "unsup" && !strings.HasPrefix(e.Name(), ".") {
					classes = append(classes, e.Name())
				}
			}
			if slices.Contains(classes, "train") && slices.Contains(classes, "test") {
				yield(Example{}, fmt.Errorf("%s holds train/ and test/ rather than class folders; read %s or %s",
					root, filepath.Join(root, "train"), filepath.Join(root, "test")))
				return
			}
			if len(classes) == 0 {
				yield(Example{}, fmt.Errorf("%s has no class folders (expected e.g. pos/ and neg/)", root))
				return
			}
		}
		w := &folderWalker{root: root, o: o, yield: yield}
		for _, class := range classes {
			if _, err := os.Stat(filepath.Join(root, class)); err != nil {
				yield(Example{}, fmt.Errorf("class folder: %w", err))
				return
			}
			if !w.walk(class, class) {
				return
			}
		}
	}
}

func isDir(dir string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink != 0 {
		st, err := os.Stat(filepath.Join(dir, e.Name()))
		return err == nil && st.IsDir()
	}
	return false
}

type folderWalker struct {
	root  string
	o     FolderOptions
	yield func(Example, error) bool
}

// walk reads folder rel (relative to root) recursively; false means stop.
func (w *folderWalker) walk(rel, class string) bool {
	dir := filepath.Join(w.root, rel)
	f, err := os.Open(dir)
	if err != nil {
		return w.yield(Example{}, &RecordError{File: rel, Err: unwrapPathErr(err)})
	}
	defer f.Close()
	for {
		n := 256
		if !w.o.Unsorted {
			n = -1
		}
		entries, err := f.ReadDir(n)
		if !w.o.Unsorted {
			slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			p := filepath.Join(rel, name)
			switch {
			case e.IsDir():
				if !w.walk(p, class) {
					return false
				}
			case e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0:
				ex, err := w.read(p, class)
				if err != nil {
					if !w.yield(Example{}, err) {
						return false
					}
					continue
				}
				if ex != nil && !w.yield(*ex, nil) {
					return false
				}
			}
		}
		if err == io.EOF || (n < 0 && err == nil) {
			return true
		}
		if err != nil {
			return w.yield(Example{}, &RecordError{File: rel, Err: unwrapPathErr(err)})
		}
	}
}

// read reads one example file; nil, nil for a symlink that is not a file.
func (w *folderWalker) read(rel, class string) (*Example, error) {
	path := filepath.Join(w.root, rel)
	f, err := os.Open(path)
	if err != nil {
		return nil, &RecordError{File: rel, Err: unwrapPathErr(err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &RecordError{File: rel, Err: unwrapPathErr(err)}
	}
	if !st.Mode().IsRegular() {
		return nil, nil
	}
	max := w.o.maxLine()
	if st.Size() > int64(max) {
		return nil, &RecordError{File: rel, Err: fmt.Errorf("%w: the file has %d bytes (the limit is %d)", ErrLineTooLong, st.Size(), max)}
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, &RecordError{File: rel, Err: unwrapPathErr(err)}
	}
	if len(b) > max {
		return nil, &RecordError{File: rel, Err: fmt.Errorf("%w: the file has more than %d bytes", ErrLineTooLong, max)}
	}
	b = trimBOM(b)
	text := ""
	if !utf8.Valid(b) {
		if !w.o.ReplaceInvalidUTF8 {
			line, start := 1, 0
			for i := 0; i < len(b); {
				r, size := utf8.DecodeRune(b[i:])
				if r == utf8.RuneError && size <= 1 {
					break
				}
				if r == '\n' {
					line, start = line+1, i+1
				}
				i += size
			}
			end := bytesIndexByte(b[start:], '\n')
			return nil, &RecordError{File: rel, Line: line, Err: invalidUTF8(b[start : start+end])}
		}
		text = strings.ToValidUTF8(string(b), "\uFFFD")
	} else {
		text = string(b)
	}
	text = strings.TrimRight(text, "\r\n")
	ex := &Example{Text: text, Label: class, File: filepath.ToSlash(rel), Line: 1}
	ex.ID, ex.Rating = parseIDRating(filepath.Base(rel))
	return ex, nil
}

// parseIDRating splits "200_8.txt" into "200" and 8.
func parseIDRating(base string) (string, int) {
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	i := strings.LastIndexByte(stem, '_')
	if i < 0 {
		return stem, 0
	}
	r, err := strconv.Atoi(stem[i+1:])
	if err != nil || r < 0 {
		return stem, 0
	}
	return stem[:i], r
}

func bytesIndexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return len(b)
}
