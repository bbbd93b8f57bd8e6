package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/seq2seq"
)

// TestZeroFlagsKeepTheirOldMeaning: the library's options take a zero at
// its word, but the training commands keep reading --warmup 0, --clip 0,
// --seed 0 (for training; initialization uses it as given), --val-frac 0
// and --teacher-forcing 0 as before (legacyZeros), so that a run resumed
// with the flags it began with continues exactly.
func TestZeroFlagsKeepTheirOldMeaning(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "text.txt", []byte(tinyText()))
	char := func(name string, flags ...string) *charrnn.Model {
		out := filepath.Join(dir, name+".safetensors")
		args := append([]string{"train", "charrnn", "--data", data, "--out", out, "-q", "--hidden", "8", "--layers", "1",
			"--embedding", "4", "--seq-len", "8", "--batch", "4", "--epochs", "1", "--seed", "1"}, flags...)
		_, stderr, err := runCLI(t, args...)
		require.NoError(t, err, stderr)
		m, err := charrnn.Load(out)
		require.NoError(t, err)
		return m
	}
	want := char("defaults", "--warmup", "100", "--clip", "5", "--val-frac", "0.1")
	got := char("zeros", "--warmup", "0", "--clip", "0", "--val-frac", "0")
	assert.Equal(t, want.Params.Values, got.Params.Values)

	pairs := writeToyPairs(t, dir, 200, 1)
	s2s := func(name string, flags ...string) *seq2seq.Model {
		out := filepath.Join(dir, name+".safetensors")
		args := append([]string{"train", "seq2seq", "--data", pairs, "--out", out, "-q", "--tokenizer", "word", "--embedding", "8",
			"--enc-hidden", "8", "--dec-hidden", "8", "--batch", "32", "--epochs", "1", "--val-frac", "0.1", "--val-max", "20"}, flags...)
		_, stderr, err := runCLI(t, args...)
		require.NoError(t, err, stderr)
		m, err := seq2seq.Load(out)
		require.NoError(t, err)
		return m
	}
	assert.Equal(t, s2s("tf1", "--teacher-forcing", "1", "--warmup", "200").Params.Values,
		s2s("tf0", "--teacher-forcing", "0", "--warmup", "0").Params.Values)
}
