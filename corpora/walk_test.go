//go:build unix

package corpora

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// walkWithin runs WalkFiles to the end, failing the test if it takes longer
// than a few seconds (a FIFO opened by mistake blocks forever).
func walkWithin(t *testing.T, root string, o WalkOptions) (files []string, errs []error) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p, err := range WalkFiles(root, o) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			files = append(files, p)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("WalkFiles did not finish: did it open a FIFO?")
	}
	return files, errs
}

func TestWalkFiles(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) string {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	a := write("a.txt", "Loved it.")
	c := write("sub/c.txt", "Hated it.")
	write(".hidden", "skipped")
	write(".git/x.txt", "skipped")
	outside := filepath.Join(t.TempDir(), "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "o.txt"), []byte("not reached"), 0o644))
	fifo := filepath.Join(root, "b.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	linkFifo := filepath.Join(root, "d-link-to-fifo")
	require.NoError(t, os.Symlink(fifo, linkFifo))
	linkDir := filepath.Join(root, "e-link-to-dir")
	require.NoError(t, os.Symlink(outside, linkDir))
	loop := filepath.Join(root, "sub", "loop")
	require.NoError(t, os.Symlink(root, loop))
	linkFile := filepath.Join(root, "f-link-to-file")
	require.NoError(t, os.Symlink(a, linkFile))
	dangling := filepath.Join(root, "g-dangling")
	require.NoError(t, os.Symlink(filepath.Join(root, "nowhere"), dangling))

	for _, chunk := range []int{0, 1, 4096} {
		files, errs := walkWithin(t, root, WalkOptions{Chunk: chunk})
		if chunk != 1 { // chunks of one entry keep the file system's order
			assert.Equal(t, []string{a, linkFile, c}, files)
		} else {
			assert.ElementsMatch(t, []string{a, linkFile, c}, files)
		}
		require.Len(t, errs, 5, "%v", errs)
		byFile := map[string]error{}
		for _, err := range errs {
			var re *RecordError
			require.ErrorAs(t, err, &re)
			byFile[re.File] = err
		}
		assert.ErrorIs(t, byFile[fifo], ErrNotRegular)
		assert.Equal(t, fifo+": not a regular file (named pipe)", byFile[fifo].Error())
		assert.ErrorIs(t, byFile[linkFifo], ErrNotRegular)
		assert.ErrorIs(t, byFile[linkDir], ErrSymlinkDir)
		assert.ErrorIs(t, byFile[loop], ErrSymlinkDir)
		assert.ErrorIs(t, byFile[dangling], os.ErrNotExist)
	}

	// A missing or unreadable root is one *RecordError.
	_, errs := walkWithin(t, filepath.Join(root, "missing"), WalkOptions{})
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], os.ErrNotExist)

	// Breaking out of the loop stops the walk.
	n := 0
	for range WalkFiles(root, WalkOptions{}) {
		n++
		break
	}
	assert.Equal(t, 1, n)
}

func TestCheckRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "m.safetensors")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	fifo := filepath.Join(dir, "m.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	assert.NoError(t, CheckRegular(file))
	err := CheckRegular(fifo)
	assert.ErrorIs(t, err, ErrNotRegular)
	assert.Contains(t, err.Error(), "named pipe")
	err = CheckRegular(dir)
	assert.ErrorIs(t, err, ErrNotRegular)
	assert.Contains(t, err.Error(), "folder")
	assert.True(t, errors.Is(CheckRegular(filepath.Join(dir, "none")), os.ErrNotExist))
}
