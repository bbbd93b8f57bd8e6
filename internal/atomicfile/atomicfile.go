// Package atomicfile writes files so that a reader, a crash or an error
// never leaves a partial one: the one atomic write of model files,
// tokenizers, corpus manifests and split files.
package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// TempPattern is the os.CreateTemp pattern of the temporary file beside
// path that Write renames over it ("." + base + ".tmp-*"); a crash can leave
// one behind, which callers may clean up by this name.
func TempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// Write writes the file at path with write through a temporary file in the
// same folder: write, chmod 0644, fsync, close, rename over path, then
// fsync the folder so that the rename is durable (a file system that
// cannot sync a folder is let be: the file is complete either way). On
// any error the temporary file is removed and path is untouched.
func Write(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPattern(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	closed = true
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil && !errors.Is(serr, syscall.EINVAL) && !errors.Is(serr, syscall.ENOTSUP) {
			return &os.PathError{Op: "sync", Path: dir, Err: serr}
		}
	}
	return nil
}

// WriteBytes is Write of data.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
