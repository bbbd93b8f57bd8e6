package rnn

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSaveRemovesStaleTemps: a save killed midway leaves ".NAME.tmp-*" as
// large as the file; the next save of the same target removes it once it is
// stale, and leaves a fresh one (a save in progress) and other files alone.
func TestSaveRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m[1].safetensors")
	stale := filepath.Join(dir, ".m[1].safetensors.tmp-123")
	fresh := filepath.Join(dir, ".m[1].safetensors.tmp-456")
	other := filepath.Join(dir, ".other.safetensors.tmp-789")
	for _, f := range []string{stale, fresh, other} {
		require.NoError(t, os.WriteFile(f, []byte("partial"), 0o644))
	}
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))
	require.NoError(t, os.Chtimes(other, old, old))

	ps := NewParams()
	ps.Add("w", 3)
	require.NoError(t, SaveModel(path, ModelInfo{Kind: "test", Config: []byte("{}")}, ps, F32))
	assert.NoFileExists(t, stale)
	assert.FileExists(t, fresh)
	assert.FileExists(t, other)
	assert.FileExists(t, path)
}
