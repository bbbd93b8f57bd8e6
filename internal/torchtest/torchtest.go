// Package torchtest finds the Python with PyTorch that the cross-checks
// against python/rnnkit_torch.py run, for tests only.
package torchtest

import (
	"os"
	"os/exec"
	"testing"
)

// Python returns a python3 that imports torch (RNNKIT_PYTHON, else
// /usr/bin/python3), or skips the test (also under -short).
func Python(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no PyTorch")
	}
	python := os.Getenv("RNNKIT_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s cannot import torch: %v", python, err)
	}
	return python
}
