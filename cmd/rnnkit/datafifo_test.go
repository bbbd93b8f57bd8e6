package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every command that reads a --data file whole, or a --model file, refuses
// a named pipe at once (opening one with no writer would block forever).
func TestDataFIFORefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "data")
	makeFIFO(t, fifo)
	out := filepath.Join(dir, "m.safetensors")
	tsv := filepath.Join(dir, "r.tsv")
	require.NoError(t, os.WriteFile(tsv, []byte("fine film\tpositive\nbad film\tnegative\n"), 0o644))
	for _, args := range [][]string{
		{"train", "charrnn", "--data", fifo, "--out", out},
		{"eval", "charrnn", "--data", fifo},
		{"train", "seq2seq", "--data", fifo, "--out", out},
		{"eval", "seq2seq", "--data", fifo},
		{"train", "sentiment", "--data", fifo, "--out", out},
		{"eval", "sentiment", "--data", fifo},
		{"train", "lm", "--data", fifo, "--out", out},
		{"embed", "train", "--data", fifo, "--out", filepath.Join(dir, "v.vec")},
		// A named pipe as --model too: deciding whether it runs int8 must
		// not open it either.
		{"generate", "--model", fifo, "-n", "1"},
		{"eval", "sentiment", "--model", fifo, "--data", tsv},
		{"classify", "--model", fifo, tsv},
		{"corpora", "split", fifo, "--train-out", filepath.Join(dir, "a.tsv"), "--val-out", filepath.Join(dir, "b.tsv")},
	} {
		done := make(chan error, 1)
		go func() { _, _, err := runCLI(t, append(args, "-q")...); done <- err }()
		select {
		case err := <-done:
			if assert.Error(t, err, args) {
				assert.Contains(t, err.Error(), "named pipe", args)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%v blocked on a named pipe", args)
		}
	}
}
