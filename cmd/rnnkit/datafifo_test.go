package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Every command that reads a --data file whole refuses a named pipe at once
// (opening one with no writer would block forever).
func TestDataFIFORefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "data")
	makeFIFO(t, fifo)
	out := filepath.Join(dir, "m.safetensors")
	for _, args := range [][]string{
		{"train", "charrnn", "--data", fifo, "--out", out},
		{"eval", "charrnn", "--data", fifo},
		{"train", "seq2seq", "--data", fifo, "--out", out},
		{"eval", "seq2seq", "--data", fifo},
		{"train", "sentiment", "--data", fifo, "--out", out},
		{"eval", "sentiment", "--data", fifo},
		{"train", "lm", "--data", fifo, "--out", out},
		{"embed", "train", "--data", fifo, "--out", filepath.Join(dir, "v.vec")},
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
