package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	f16 := filepath.Join(dir, "c16.safetensors")
	// The default charrnn is stored as int8: make an f16 file of it first.
	exported := filepath.Join(dir, "c.safetensors")
	_, _, err := runCLI(t, "models", "export", "charrnn", exported)
	require.NoError(t, err)
	_, _, err = runCLI(t, "convert", exported, f16, "--dtype", "f16")
	require.NoError(t, err)
	q8 := filepath.Join(dir, "c8.safetensors")
	out, _, err := runCLI(t, "convert", f16, q8, "--dtype", "int8")
	require.NoError(t, err)
	assert.Contains(t, out, "wrote "+q8+" (int8,")
	a, err := os.Stat(f16)
	require.NoError(t, err)
	b, err := os.Stat(q8)
	require.NoError(t, err)
	assert.Less(t, b.Size(), a.Size()*6/10, "int8 is about half of f16")
	ts, meta, err := rnn.ReadHeader(q8)
	require.NoError(t, err)
	assert.Equal(t, "charrnn", meta[rnn.MetaKind])
	dtypes := map[rnn.DType]bool{}
	for _, ti := range ts {
		dtypes[ti.DType] = true
	}
	assert.True(t, dtypes[rnn.Q8], "weight matrices in int8")

	// the int8 file generates text, greedy text close to the f16 file's
	g16, _, err := runCLI(t, "generate", "--model", f16, "--seed", "ROMEO:", "-n", "40", "--temperature", "0")
	require.NoError(t, err)
	g8, _, err := runCLI(t, "generate", "--model", q8, "--seed", "ROMEO:", "-n", "40", "--temperature", "0")
	require.NoError(t, err)
	assert.Equal(t, g16[:20], g8[:20])

	// and back to f32: the same config and tokenizer
	f32 := filepath.Join(dir, "c32.safetensors")
	_, _, err = runCLI(t, "convert", q8, f32, "--dtype", "f32")
	require.NoError(t, err)
	_, m32, err := rnn.ReadHeader(f32)
	require.NoError(t, err)
	assert.Equal(t, meta[rnn.MetaConfig], m32[rnn.MetaConfig])

	_, _, err = runCLI(t, "convert", f16, filepath.Join(dir, "x.safetensors"))
	assert.ErrorContains(t, err, `required flag(s) "dtype" not set`)
	_, _, err = runCLI(t, "convert", f16, filepath.Join(dir, "x.safetensors"), "--dtype", "i4")
	assert.ErrorContains(t, err, "--dtype must be f32, f16 or int8")
	_, _, err = runCLI(t, "convert", f16, dir, "--dtype", "int8")
	assert.ErrorContains(t, err, "is a directory")
	_, _, err = runCLI(t, "convert", filepath.Join(dir, "missing.safetensors"), filepath.Join(dir, "x.safetensors"), "--dtype", "int8")
	assert.ErrorContains(t, err, "missing.safetensors")
	assert.NoFileExists(t, filepath.Join(dir, "x.safetensors"))
}
