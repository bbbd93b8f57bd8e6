package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	require.NoError(t, WriteBytes(p, []byte("one")))
	require.NoError(t, WriteBytes(p, []byte("two")))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())

	// A failed write leaves the old file and no temporary file.
	boom := errors.New("boom")
	err = Write(p, func(w io.Writer) error {
		_, _ = w.Write([]byte("partial"))
		return boom
	})
	assert.ErrorIs(t, err, boom)
	b, _ = os.ReadFile(p)
	assert.Equal(t, "two", string(b))
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	assert.Empty(t, left)

	assert.Error(t, WriteBytes(filepath.Join(dir, "missing", "f.txt"), nil))
	assert.Equal(t, ".f.txt.tmp-*", TempPattern(p))
}
