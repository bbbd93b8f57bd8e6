//go:build unix

package rnn

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLoadModelFIFO: a named pipe given as a model file is refused at
// once instead of blocking in open until a writer comes.
func TestLoadModelFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, syscall.Mkfifo(p, 0o644))
	done := make(chan error, 1)
	go func() { _, _, err := LoadModel(p, ""); done <- err }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "named pipe")
	case <-time.After(10 * time.Second):
		t.Fatal("LoadModel blocked on a FIFO")
	}
}
