package rnn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testParams is a small char-LSTM-like parameter set with random values.
func testParams() *Params {
	ps := NewParams()
	ps.Add("embedding.weight", 5, 3)
	ps.Add("lstm.weight_ih_l0", 8, 3)
	ps.Add("lstm.weight_hh_l0", 8, 2)
	ps.Add("lstm.bias_ih_l0", 8)
	ps.Add("lstm.bias_hh_l0", 8)
	ps.Add("decoder.weight", 5, 2)
	ps.Add("decoder.bias", 5)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range ps.Values {
		ps.Values[i] = float32(rng.NormFloat64())
	}
	return ps
}

// sameArch is testParams' architecture, zero-valued.
func sameArch() *Params {
	ps := NewParams()
	for _, p := range testParams().List() {
		ps.Add(p.Name, p.Shape...)
	}
	return ps
}

func testInfo() ModelInfo {
	return ModelInfo{
		Kind:       "seq2seq",
		Config:     json.RawMessage(`{ "hidden": 2, "layers": 1 }`),
		Tokenizers: map[string]string{"src": `{"model":{"type":"BPE"}}`, "tgt": `{"model":{"type":"WordLevel","vocab":{"<unk>":0}}}`},
		Meta:       map[string]string{"licence": "CC-BY 2.0 FR", "val_bleu": "41.2"},
	}
}

func TestSaveLoadModel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	ps := testParams()
	info := testInfo()
	require.NoError(t, SaveModel(path, info, ps, F32))

	got, ts, err := LoadModel(path, "seq2seq")
	require.NoError(t, err)
	assert.Equal(t, info.Kind, got.Kind)
	assert.JSONEq(t, string(info.Config), string(got.Config))
	assert.Equal(t, info.Tokenizers, got.Tokenizers)
	assert.Equal(t, info.Meta, got.Meta)

	loaded := sameArch()
	require.NoError(t, loaded.SetFromTensors(ts))
	assert.Equal(t, ps.Values, loaded.Values, "F32 is exact")

	// Any kind is accepted with wantKind "".
	_, _, err = LoadModel(path, "")
	require.NoError(t, err)

	// The embedded-bytes loader gives the same result.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	got2, ts2, err := LoadModelBytes("embedded seq2seq", data, "seq2seq")
	require.NoError(t, err)
	assert.Equal(t, got, got2)
	assert.Equal(t, ts, ts2)

	// Saving again gives identical bytes, and no temporary file remains.
	require.NoError(t, SaveModel(path, info, ps, F32))
	data2, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, data, data2)
	assertOnlyFiles(t, dir, "m.safetensors")
}

func TestSaveLoadModelUnnamedTokenizer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.safetensors")
	info := ModelInfo{Kind: "charrnn", Tokenizers: map[string]string{"": `{"x":1}`}}
	require.NoError(t, SaveModel(path, info, testParams(), F32))
	_, _, err := LoadModel(path, "")
	require.NoError(t, err)

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, _ := f.Stat()
	_, meta, err := ReadSafetensors(f, st.Size())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"format_version": "1", "kind": "charrnn", "tokenizer": `{"x":1}`}, meta)

	got, _, err := LoadModel(path, "charrnn")
	require.NoError(t, err)
	assert.Equal(t, info.Tokenizers, got.Tokenizers)
	assert.Nil(t, got.Config)
	assert.Nil(t, got.Meta)
}

func TestSaveModelHalf(t *testing.T) {
	for _, dt := range []DType{F16, BF16} {
		t.Run(string(dt), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.safetensors")
			ps := testParams()
			require.NoError(t, SaveModel(path, testInfo(), ps, dt))
			st, err := os.Stat(path)
			require.NoError(t, err)
			_, ts, err := LoadModel(path, "seq2seq")
			require.NoError(t, err)
			loaded := sameArch()
			require.NoError(t, loaded.SetFromTensors(ts))
			for i, v := range ps.Values {
				assert.InDelta(t, v, loaded.Values[i], math.Abs(float64(v))/200+1e-7)
			}
			assert.Less(t, st.Size(), int64(4*ps.Len()+2000))
		})
	}
}

func TestSaveModelRefusals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	require.NoError(t, SaveModel(path, testInfo(), testParams(), F32))
	old, err := os.ReadFile(path)
	require.NoError(t, err)

	nan := testParams()
	nan.Get("lstm.bias_hh_l0").W[3] = float32(math.NaN())
	inf := testParams()
	inf.Values[0] = float32(math.Inf(1))
	big := testParams()
	big.Get("decoder.bias").W[4] = 1e6 // overflows F16 after the header is written

	reserved := testInfo()
	reserved.Meta = map[string]string{"kind": "x"}
	reservedTok := testInfo()
	reservedTok.Meta = map[string]string{"tokenizer.src": "x"}
	badConfig := testInfo()
	badConfig.Config = json.RawMessage(`{"hidden":`)
	noKind := testInfo()
	noKind.Kind = ""

	cases := []struct {
		name string
		info ModelInfo
		ps   *Params
		dt   DType
		want string
	}{
		{"nan", testInfo(), nan, F32, `tensor "lstm.bias_hh_l0" has the non-finite value NaN at element 3`},
		{"inf", testInfo(), inf, F32, "non-finite"},
		{"f16 overflow", testInfo(), big, F16, "overflows F16"},
		{"reserved", reserved, testParams(), F32, `"kind" is reserved`},
		{"reserved tokenizer", reservedTok, testParams(), F32, "reserved"},
		{"bad config", badConfig, testParams(), F32, "config is not valid JSON"},
		{"no kind", noKind, testParams(), F32, "kind is empty"},
		{"bad dtype", testInfo(), testParams(), "I4", "cannot write dtype"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := SaveModel(path, c.info, c.ps, c.dt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), path)
			now, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, old, now, "the old file survives")
			assertOnlyFiles(t, dir, "m.safetensors")
		})
	}
}

func TestWriteAtomicFailures(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))

	// A write that fails half way leaves the old file and no temp file.
	err := writeAtomic(path, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte("x"), 100000))
		return errors.New("boom")
	})
	require.ErrorContains(t, err, "boom")
	assertFile(t, path, "old")
	assertOnlyFiles(t, dir, "m.safetensors")

	// A directory that does not exist.
	err = SaveModel(filepath.Join(dir, "nope", "m.safetensors"), testInfo(), testParams(), F32)
	require.ErrorIs(t, err, fs.ErrNotExist)

	// Renaming over a directory fails after the write; the temp file goes.
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "keep"), nil, 0o644))
	err = SaveModel(sub, testInfo(), testParams(), F32)
	require.Error(t, err)
	assertOnlyFiles(t, dir, "m.safetensors", "sub")

	// A read-only directory (permissions do not bind root).
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o755))
		target := filepath.Join(ro, "m.safetensors")
		require.NoError(t, os.WriteFile(target, []byte("old"), 0o644))
		require.NoError(t, os.Chmod(ro, 0o555))
		defer os.Chmod(ro, 0o755)
		err = SaveModel(target, testInfo(), testParams(), F32)
		require.ErrorIs(t, err, fs.ErrPermission)
		assertFile(t, target, "old")
		assertOnlyFiles(t, ro, "m.safetensors")
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
}

func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	assert.ElementsMatch(t, names, got)
}

func TestLoadModelErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	withMeta := func(meta map[string]string) []byte {
		var b bytes.Buffer
		require.NoError(t, WriteSafetensors(&b, testParams().Tensors(), meta, F32))
		return b.Bytes()
	}
	good := filepath.Join(dir, "good.safetensors")
	require.NoError(t, SaveModel(good, testInfo(), testParams(), F32))
	goodBytes, err := os.ReadFile(good)
	require.NoError(t, err)

	cases := []struct {
		name     string
		path     string
		want     string
		isFormat bool
	}{
		{"wrong kind", good + "|charrnn", `model file ` + good + `: this is a "seq2seq" model, but a "charrnn" model is needed`, false},
		{"newer", write("new.safetensors", withMeta(map[string]string{"format_version": "3", "kind": "seq2seq"})),
			`model file ` + filepath.Join(dir, "new.safetensors") + `: format version 3 is newer than this rnnkit (1); upgrade rnnkit`, false},
		{"bad version", write("bv.safetensors", withMeta(map[string]string{"format_version": "one", "kind": "seq2seq"})), `format version "one" is not a positive integer`, false},
		{"zero version", write("zv.safetensors", withMeta(map[string]string{"format_version": "0", "kind": "seq2seq"})), "not a positive integer", false},
		{"no version", write("nv.safetensors", withMeta(map[string]string{"kind": "seq2seq"})), `not an rnnkit model (its metadata has no "format_version")`, false},
		{"no kind", write("nk.safetensors", withMeta(map[string]string{"format_version": "1"})), `not an rnnkit model (its metadata has no "kind")`, false},
		{"plain safetensors", write("plain.safetensors", withMeta(nil)), "not an rnnkit model", false},
		{"bad config", write("bc.safetensors", withMeta(map[string]string{"format_version": "1", "kind": "seq2seq", "config": "{"})), `"config" metadata is not valid JSON`, false},
		{"text file", write("x.txt", []byte("ROMEO: what light through yonder window breaks\n")), "model file " + filepath.Join(dir, "x.txt") + ": not a safetensors file (", true},
		{"empty", write("e.safetensors", nil), "not a safetensors file (the file is empty)", true},
		{"truncated", write("t.safetensors", goodBytes[:len(goodBytes)-100]), "truncated (header says", true},
		{"truncated header", write("th.safetensors", goodBytes[:40]), "truncated (header says the JSON header is", true},
		{"corrupt", write("c.safetensors", bytes.Replace(goodBytes, []byte(`"data_offsets":[0,`), []byte(`"data_offsets":[4,`), 1)), "damaged safetensors file", true},
		{"unsupported dtype", write("d.safetensors", rawST(`{"__metadata__":{"format_version":"1","kind":"x"},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8))), `dtype "F64"; rnnkit reads F32, F16, BF16 and I8 (int8 matrices with per-row scales); convert`, true},
		{"directory", dir, "is a directory", false},
		{"missing", filepath.Join(dir, "missing.safetensors"), "no such file", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, kind := c.path, "seq2seq"
			if c.name == "wrong kind" {
				path, kind = good, "charrnn"
			}
			_, ts, err := LoadModel(path, kind)
			require.Error(t, err)
			assert.Nil(t, ts)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "model file "+path+": ")
			assert.Equal(t, c.isFormat, errors.Is(err, ErrFormat), "errors.Is(err, ErrFormat): %v", err)
		})
	}
	_, _, err = LoadModel(filepath.Join(dir, "missing.safetensors"), "")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	_, _, err = LoadModelBytes("default charrnn", []byte("garbage"), "charrnn")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "model file default charrnn: ")
}

func TestSetFromTensors(t *testing.T) {
	src := testParams()
	good := src.Tensors()

	t.Run("ok with optimizer state", func(t *testing.T) {
		ps := sameArch()
		ts := append(good, Tensor{Name: "optim.m.decoder.bias", Shape: []int{5}, Data: make([]float32, 5)})
		require.NoError(t, ps.SetFromTensors(ts))
		assert.Equal(t, src.Values, ps.Values)
	})

	replace := func(name string, t Tensor) []Tensor {
		out := []Tensor{}
		for _, g := range good {
			if g.Name == name {
				if t.Name != "" {
					out = append(out, t)
				}
				continue
			}
			out = append(out, g)
		}
		return out
	}
	cases := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"missing", replace("decoder.bias", Tensor{}), `parameter "decoder.bias" (shape [5]) is missing`},
		{"shape", replace("lstm.weight_hh_l0", Tensor{Name: "lstm.weight_hh_l0", Shape: []int{2, 8}, Data: make([]float32, 16)}),
			`tensor "lstm.weight_hh_l0" has shape [2 8], but the model needs [8 2]`},
		{"rank", replace("decoder.bias", Tensor{Name: "decoder.bias", Shape: []int{5, 1}, Data: make([]float32, 5)}), "has shape [5 1], but the model needs [5]"},
		{"extra", append(good, Tensor{Name: "lstm.weight_ih_l1", Shape: []int{8, 2}, Data: make([]float32, 16)}), `tensor "lstm.weight_ih_l1" (shape [8 2]) is not a parameter`},
		{"duplicate", append(good, good[0]), "appears twice"},
		{"data length", replace("decoder.bias", Tensor{Name: "decoder.bias", Shape: []int{5}, Data: make([]float32, 4)}), "but 4 values"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := sameArch()
			err := ps.SetFromTensors(c.ts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, make([]float32, ps.Len()), ps.Values, "unchanged on error")
		})
	}
}

func TestParamsTensorsAreViews(t *testing.T) {
	ps := testParams()
	ts := ps.Tensors()
	require.Len(t, ts, len(ps.List()))
	ts[0].Data[0] = 42
	assert.Equal(t, float32(42), ps.List()[0].W[0])
	ts[0].Shape[0] = 99
	assert.NotEqual(t, 99, ps.List()[0].Shape[0], "shapes are copies")
}

func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	ps := testParams()
	info := testInfo()
	info.Meta["step"] = "1200"
	info.Meta["rng"] = "5,6,1200"
	var extra []Tensor
	for _, p := range ps.List() {
		m := Tensor{Name: "optim.m." + p.Name, Shape: p.Shape, Data: make([]float32, p.Size())}
		for i := range m.Data {
			m.Data[i] = float32(i) * 0.5
		}
		extra = append(extra, m)
	}
	extra = append(extra, Tensor{Name: "optim.step", Shape: nil, Data: []float32{1200}})
	require.NoError(t, SaveCheckpoint(path, info, ps, extra))
	assertOnlyFiles(t, dir, "ckpt.safetensors")

	got, params, gotExtra, err := LoadCheckpoint(path, "seq2seq")
	require.NoError(t, err)
	assert.Equal(t, info.Meta, got.Meta)
	assert.Len(t, params, len(ps.List()))
	assert.Len(t, gotExtra, len(extra))
	loaded := sameArch()
	require.NoError(t, loaded.SetFromTensors(params))
	assert.Equal(t, ps.Values, loaded.Values)
	ex := byName(gotExtra)
	for _, e := range extra {
		assert.Equal(t, e.Data, ex[e.Name].Data, e.Name)
	}

	// A checkpoint also loads as a model.
	_, ts, err := LoadModel(path, "seq2seq")
	require.NoError(t, err)
	require.NoError(t, sameArch().SetFromTensors(ts))

	err = SaveCheckpoint(path, info, ps, []Tensor{{Name: "adam.m", Shape: []int{1}, Data: []float32{1}}})
	require.ErrorContains(t, err, `extra tensor "adam.m" must be named "optim."`)
	err = SaveCheckpoint(path, info, ps, []Tensor{{Name: "optim.v", Shape: []int{1}, Data: []float32{float32(math.NaN())}}})
	require.ErrorContains(t, err, "non-finite")
	err = SaveCheckpoint(path, info, ps, []Tensor{{Name: "optim.v", Shape: []int{2}, Data: []float32{1}}})
	require.ErrorContains(t, err, "2 elements")
	assertOnlyFiles(t, dir, "ckpt.safetensors")
	_, _, gotExtra2, err := LoadCheckpoint(path, "seq2seq")
	require.NoError(t, err)
	assert.Len(t, gotExtra2, len(extra), "failed saves leave the checkpoint intact")
}

// TestPythonInterop round-trips a model file through
// bench/pytorch/safetensors_io.py and torch. It needs a python3 with torch
// (RNNKIT_PYTHON names it if the one on PATH has none):
//
//	RNNKIT_PYTHON_INTEROP=1 RNNKIT_PYTHON=/usr/bin/python3 go test -run TestPythonInterop ./rnn/
func TestPythonInterop(t *testing.T) {
	if os.Getenv("RNNKIT_PYTHON_INTEROP") == "" {
		t.Skip("set RNNKIT_PYTHON_INTEROP=1 (needs python3 with torch)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "go.safetensors")
	ps := testParams()
	info := testInfo()
	require.NoError(t, SaveModel(src, info, ps, F32))
	script := `
import sys, torch
sys.path.insert(0, sys.argv[1])
import safetensors_io as st
tensors, meta = st.load(sys.argv[2])
assert meta["kind"] == "seq2seq", meta
assert tensors["lstm.weight_ih_l0"].shape == (8, 3)
lstm = torch.nn.LSTM(3, 2)
lstm.load_state_dict({k[len("lstm."):]: v for k, v in tensors.items() if k.startswith("lstm.")})
emb = torch.nn.Embedding(5, 3)
emb.load_state_dict({"weight": tensors["embedding.weight"]})
meta["from"] = "python"
out = {"lstm." + k: v for k, v in lstm.state_dict().items()}
out["embedding.weight"] = emb.weight.detach()
out["decoder.weight"] = tensors["decoder.weight"]
out["decoder.bias"] = tensors["decoder.bias"]
st.save(sys.argv[3], out, meta)
st.save(sys.argv[4], {k: v.half() for k, v in out.items()}, meta)
st.save(sys.argv[5], {k: v.bfloat16() for k, v in out.items()}, meta)
t16, _ = st.load(sys.argv[4])
for k, v in out.items():
    assert torch.allclose(t16[k].float(), v, rtol=1e-3, atol=1e-4), k
print("ok")
`
	outs := []string{filepath.Join(dir, "py.safetensors"), filepath.Join(dir, "py16.safetensors"), filepath.Join(dir, "pybf16.safetensors")}
	python := os.Getenv("RNNKIT_PYTHON")
	if python == "" {
		python = "python3"
	}
	cmd := exec.Command(python, append([]string{"-c", script, filepath.Join("..", "bench", "pytorch"), src}, outs...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for i, p := range outs {
		got, ts, err := LoadModel(p, "seq2seq")
		require.NoError(t, err, p)
		assert.Equal(t, "python", got.Meta["from"])
		assert.Equal(t, info.Tokenizers, got.Tokenizers)
		loaded := sameArch()
		require.NoError(t, loaded.SetFromTensors(ts), p)
		tol := []float64{0, 1e-3, 8e-3}[i]
		for j, v := range ps.Values {
			assert.InDelta(t, v, loaded.Values[j], tol*math.Abs(float64(v))+1e-7, "%s value %d", p, j)
		}
	}
}

func ExampleSaveModel() {
	dir, err := os.MkdirTemp("", "rnnkit-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.safetensors")

	ps := NewParams()
	ps.Add("decoder.weight", 2, 3)
	ps.Add("decoder.bias", 2)
	ps.Get("decoder.bias").W[1] = 0.5
	info := ModelInfo{Kind: "charrnn", Config: json.RawMessage(`{"hidden": 3}`), Meta: map[string]string{"licence": "MIT"}}
	if err := SaveModel(path, info, ps, F32); err != nil {
		panic(err)
	}

	got, tensors, err := LoadModel(path, "charrnn")
	if err != nil {
		panic(err)
	}
	fresh := NewParams()
	fresh.Add("decoder.weight", 2, 3)
	fresh.Add("decoder.bias", 2)
	if err := fresh.SetFromTensors(tensors); err != nil {
		panic(err)
	}
	fmt.Println(got.Kind, string(got.Config), got.Meta["licence"], fresh.Get("decoder.bias").W)

	_, _, err = LoadModel(path, "sentiment")
	fmt.Println(strings.Replace(err.Error(), path, "tiny.safetensors", 1))
	// Output:
	// charrnn {"hidden":3} MIT [0 0.5]
	// model file tiny.safetensors: this is a "charrnn" model, but a "sentiment" model is needed; pass a sentiment model file
}
