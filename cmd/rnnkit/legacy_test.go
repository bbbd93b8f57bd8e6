package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/internal/modelio"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/seq2seq"
)

// TestZeroMeansZero: a zero --warmup, --clip, --seed or --teacher-forcing
// is taken at its word, and an out-of-range --val-frac is refused, not
// replaced.
func TestZeroMeansZero(t *testing.T) {
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
		assert.Equal(t, zerosLiteral, m.Meta[metaZeros])
		return m
	}
	base := char("base", "--warmup", "100", "--clip", "5")
	assert.NotEqual(t, base.Params.Values, char("warmup0", "--warmup", "0", "--clip", "5").Params.Values)
	assert.NotEqual(t, base.Params.Values, char("seed0", "--warmup", "100", "--clip", "5", "--seed", "0").Params.Values)
	assert.Equal(t, char("clip0", "--clip", "0").Params.Values, char("clipoff", "--clip", "-1").Params.Values)
	_, _, err := runCLI(t, "train", "charrnn", "--data", data, "--out", filepath.Join(dir, "v.safetensors"), "-q", "--val-frac", "0")
	assert.ErrorContains(t, err, "--val-frac must be in (0, 1), got 0")

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
	assert.NotEqual(t, s2s("tf1", "--teacher-forcing", "1").Params.Values, s2s("tf0", "--teacher-forcing", "0").Params.Values)
	_, _, err = runCLI(t, "train", "seq2seq", "--data", pairs, "--out", filepath.Join(dir, "x.safetensors"), "-q", "--teacher-forcing", "1.5")
	assert.ErrorContains(t, err, "--teacher-forcing must be a probability in [0, 1], got 1.5")
}

// TestOldCheckpointsKeepTheirZeros: a checkpoint written before zero meant
// zero (no train_zeros record) resumes with the flags' old meanings, so
// --warmup 0 resumes as the default warm-up did and the run continues
// exactly.
func TestOldCheckpointsKeepTheirZeros(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "text.txt", []byte(tinyText()))
	args := func(out string, flags ...string) []string {
		return append([]string{"train", "charrnn", "--data", data, "--out", out, "-q", "--hidden", "8", "--layers", "1",
			"--embedding", "4", "--seq-len", "8", "--batch", "4", "--seed", "1", "--eval-every", "5", "--checkpoint-every", "5"}, flags...)
	}
	first := filepath.Join(dir, "first.safetensors")
	_, _, err := runCLI(t, args(first, "--epochs", "1", "--warmup", "100")...)
	require.NoError(t, err)
	ck, err := os.ReadFile(first + ".ckpt")
	require.NoError(t, err)
	old, err := modelio.EditMeta(ck, func(meta map[string]string) { delete(meta, metaZeros) })
	require.NoError(t, err)
	resume := func(name string, ckpt []byte, flags ...string) *charrnn.Model {
		out := filepath.Join(dir, name+".safetensors")
		require.NoError(t, os.WriteFile(out+".ckpt", ckpt, 0o644))
		_, stderr, err := runCLI(t, args(out, append([]string{"--epochs", "2", "--resume", out + ".ckpt"}, flags...)...)...)
		require.NoError(t, err, stderr)
		m, err := charrnn.Load(out + ".ckpt")
		require.NoError(t, err)
		return m
	}
	assert.False(t, legacyRun(first+".ckpt"), "a new run is not legacy")
	want := resume("old100", old, "--warmup", "100")
	assert.Equal(t, want.Params.Values, resume("old0", old, "--warmup", "0").Params.Values, "an old run's --warmup 0 is the default")
	assert.NotEqual(t, resume("new100", ck, "--warmup", "100").Params.Values, resume("new0", ck, "--warmup", "0").Params.Values,
		"a new run's --warmup 0 is none")
	_, meta, err := rnn.ReadHeader(filepath.Join(dir, "old0.safetensors.ckpt"))
	require.NoError(t, err)
	assert.NotEqual(t, zerosLiteral, meta[metaZeros], "a resumed old run stays old")
}
