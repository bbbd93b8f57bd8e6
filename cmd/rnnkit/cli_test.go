package main

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// runCLI runs the CLI in-process and returns stdout, stderr and the error.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
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
