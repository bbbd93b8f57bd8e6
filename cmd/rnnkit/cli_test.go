package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLI runs the CLI in-process and returns stdout, stderr and the error.
func runCLI(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := NewRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	_, err = root.ExecuteContextC(context.Background())
	return out.String(), errb.String(), err
}

func TestVersion(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil || !bytes.Contains([]byte(out), []byte("rnnkit ")) {
		t.Fatalf("version: out=%q err=%v", out, err)
	}
}

// TestThreadsFlag: --threads N limits the process to N cores; a negative
// count is a usage error.
func TestThreadsFlag(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	_, _, err := runCLI(t, "--threads", "1", "version")
	require.NoError(t, err)
	require.Equal(t, 1, runtime.GOMAXPROCS(0))
	require.Equal(t, 2, run([]string{"version", "--threads", "-1"}))
}

// CLI conventions from the outside test: --version on the root, a bare
// group command prints its help, and an unwritable --out fails before any
// training.
func TestCLIConventions(t *testing.T) {
	out, _, err := runCLI(t, "--version")
	require.NoError(t, err)
	assert.Contains(t, out, "rnnkit "+version)

	out, _, err = runCLI(t, "tokenizer")
	require.NoError(t, err)
	assert.Contains(t, out, "Available Commands")

	dir := t.TempDir()
	data := filepath.Join(dir, "t.txt")
	require.NoError(t, os.WriteFile(data, []byte(strings.Repeat("to be or not to be, that is the question.\n", 200)), 0o644))
	for _, args := range [][]string{
		{"train", "charrnn", "--data", data},
		{"train", "seq2seq", "--data", data},
		{"train", "sentiment", "--data", data},
		{"train", "lm", "--data", data},
	} {
		_, stderr, err := runCLI(t, append(args, "--out", filepath.Join(dir, "missing", "m.safetensors"))...)
		require.Error(t, err, "%v", args)
		assert.Contains(t, err.Error(), "cannot write --out", "%v", args)
		assert.NotContains(t, stderr, "training", "%v: failed only after starting", args)
	}
}
