package main

import (
	"bytes"
	"context"
	"testing"
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
