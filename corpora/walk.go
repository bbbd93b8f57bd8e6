package corpora

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNotRegular and ErrSymlinkDir are wrapped by the *RecordError of an
// entry that WalkFiles skips: a named pipe, socket or device (which could
// block a reader forever, or never end), and a symbolic link to a folder
// (not followed, so a link cannot make the walk loop).
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrSymlinkDir = errors.New("symbolic link to a folder, not followed")
)

// WalkOptions configure WalkFiles. The zero value is ready to use.
type WalkOptions struct {
	// Chunk, if positive, reads each folder Chunk entries at a time and
	// sorts each chunk by name, so that a folder of millions of files is
	// walked in bounded memory; the order is then by name within each chunk
	// only. 0 sorts each folder's names as a whole (holding the names, never
	// the contents, of one folder).
	Chunk int
}

// WalkFiles streams the paths (root joined with the path inside it) of the
// regular files under the folder root, recursively, in name order. Hidden
// entries (names starting with ".") are skipped silently. Only folders are
// opened: an entry that is not a regular file (a named pipe, a socket, a
// device), also behind a symbolic link, is reported as a *RecordError
// wrapping ErrNotRegular and never opened, so that a FIFO cannot block the
// walk or its reader; a symbolic link to a regular file is yielded; a
// symbolic link to a folder is reported with ErrSymlinkDir and not followed;
// a dangling link and an unreadable folder are *RecordErrors too. The walk
// goes on after each of them.
func WalkFiles(root string, o WalkOptions) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		walkFiles(root, o, yield)
	}
}

// walkFiles walks dir; false means the consumer stopped.
func walkFiles(dir string, o WalkOptions, yield func(string, error) bool) bool {
	f, err := os.Open(dir)
	if err != nil {
		return yield("", &RecordError{File: dir, Err: unwrapPathErr(err)})
	}
	defer f.Close()
	n := o.Chunk
	if n <= 0 {
		n = -1
	}
	for {
		entries, err := f.ReadDir(n)
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			mode := e.Type()
			if mode&fs.ModeSymlink != 0 {
				st, err := os.Stat(p) // stat, unlike open, never blocks on a FIFO
				if err != nil {
					if !yield("", &RecordError{File: p, Err: fmt.Errorf("symbolic link: %w", unwrapPathErr(err))}) {
						return false
					}
					continue
				}
				if st.IsDir() {
					if !yield("", &RecordError{File: p, Err: ErrSymlinkDir}) {
						return false
					}
					continue
				}
				mode = st.Mode().Type()
			}
			switch {
			case mode.IsDir():
				if !walkFiles(p, o, yield) {
					return false
				}
			case mode.IsRegular():
				if !yield(p, nil) {
					return false
				}
			default:
				if !yield("", &RecordError{File: p, Err: fmt.Errorf("%w (%s)", ErrNotRegular, FileKind(mode))}) {
					return false
				}
			}
		}
		if err == io.EOF || (n < 0 && err == nil) {
			return true
		}
		if err != nil {
			return yield("", &RecordError{File: dir, Err: unwrapPathErr(err)})
		}
	}
}

// FileKind names the kind of file a mode describes: "regular file",
// "folder", "named pipe", "socket", "device"...
func FileKind(mode fs.FileMode) string {
	switch t := mode.Type(); {
	case t.IsRegular():
		return "regular file"
	case t.IsDir():
		return "folder"
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "device"
	}
	return "irregular file"
}

// CheckRegular returns nil if path is a regular file (or a symbolic link to
// one), and otherwise an error saying what it is, without opening it: a
// named pipe given where a file is read whole (a model file, a data file)
// would block the open forever.
func CheckRegular(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (a %s)", ErrNotRegular, FileKind(st.Mode()))}
	}
	return nil
}
