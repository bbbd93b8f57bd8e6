package rnn

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rnnkit/rnnkit/internal/torchtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// int8 files are bit-identical between Go and python/rnnkit_torch.py: Python
// dequantizes Go's int8 file to the same float32 values, and quantizes the
// same float weights to the same bytes.
func TestQ8PythonParity(t *testing.T) {
	python := torchtest.Python(t)
	dir := t.TempDir()
	ts := append(q8Tensors(), testParams().Tensors()...)
	big := Tensor{Name: "decoder2.weight", Shape: []int{300, 40}, Data: make([]float32, 12000)}
	for i := range big.Data {
		big.Data[i] = float32(math.Sin(float64(i)*0.37)) * float32(1+i%13)
	}
	ts = append(ts, big)
	meta := map[string]string{"kind": "test", "note": "int8 ✓"}
	goF32, goQ8 := filepath.Join(dir, "go_f32.safetensors"), filepath.Join(dir, "go_q8.safetensors")
	require.NoError(t, os.WriteFile(goF32, writeST(t, ts, meta, F32), 0o644))
	q8 := writeST(t, ts, meta, Q8)
	require.NoError(t, os.WriteFile(goQ8, q8, 0o644))
	pyQ8, pyDeq := filepath.Join(dir, "py_q8.safetensors"), filepath.Join(dir, "py_deq.safetensors")
	// Damaged int8 files, which Python must refuse as Go does.
	seeds := fuzzSeeds(t)
	for _, name := range []string{"q8_no_scale", "q8_lone_scale", "q8_scale_shape", "q8_1d", "q8_neg_scale", "q8_minus128"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "bad_"+name), seeds[name], 0o644))
	}
	script := `
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import rnnkit_torch as rk
go_f32, go_q8, py_q8, py_deq = sys.argv[2:]
t, meta = rk.load_file(go_f32)
rk.save_file(py_q8, t, meta, "I8")
d, meta = rk.load_file(go_q8)
assert not any(k.endswith(":scale") for k in d), list(d)
rk.save_file(py_deq, d, meta)
try:
    rk.save_file(py_deq + ".x", {"w:scale": t["scalar"]}, None, "I8")
    raise SystemExit("a reserved name was written")
except ValueError as e:
    assert "reserved" in str(e), e
import glob, os
bad = sorted(glob.glob(os.path.join(os.path.dirname(go_f32), "bad_*")))
assert len(bad) == 6, bad
for p in bad:
    try:
        rk.load_file(p)
        raise SystemExit(f"{p}: read without an error")
    except ValueError as e:
        print(os.path.basename(p), "->", e)
print("ok")
`
	cmd := exec.Command(python, "-c", script, filepath.Join("..", "python"), goF32, goQ8, pyQ8, pyDeq)
	cmd.Env = append(os.Environ(), "RNNKIT_TORCH_PURE=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s", out)

	// Python -> Go: the same bytes, which Go reads.
	got, err := os.ReadFile(pyQ8)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(q8, got), "Python's int8 file differs from Go's (%d and %d bytes)", len(got), len(q8))
	_, _, err = readST(got)
	require.NoError(t, err)

	// Go -> Python: the same dequantized values, bit for bit.
	want := mustRead(t, q8)
	deq, err := os.ReadFile(pyDeq)
	require.NoError(t, err)
	pd := byName(mustRead(t, deq))
	require.Len(t, pd, len(want))
	for _, w := range want {
		p := pd[w.Name]
		require.Equal(t, w.Shape, p.Shape, w.Name)
		for i := range w.Data {
			require.Equal(t, math.Float32bits(w.Data[i]), math.Float32bits(p.Data[i]), "%s[%d]: Go %g, Python %g", w.Name, i, w.Data[i], p.Data[i])
		}
	}
}
