package rnn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/rnn/kernel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// q8Tensors has a quantized matrix with rows of very different ranges (a
// zero row, a row of one sign, a row too small for a normal scale, a row
// whose extremes tie when rounded), a matrix just below Q8MinElements,
// vectors, a scalar, a vector that overflows F16 and an empty tensor.
func q8Tensors() []Tensor {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, cols = 12, 96
	w := Tensor{Name: "rnn.weight_ih_l0", Shape: []int{rows, cols}, Data: make([]float32, rows*cols)}
	for r := range rows {
		amp := math.Pow(10, float64(r%7)-4)
		for c := range cols {
			w.Data[r*cols+c] = float32(rng.NormFloat64() * amp)
		}
	}
	row := func(r int) []float32 { return w.Data[r*cols : (r+1)*cols] }
	clear(row(2))
	for i, v := range row(3) {
		row(3)[i] = float32(math.Abs(float64(v)))
	}
	for i := range row(4) {
		row(4)[i] = float32(i) * 1e-39
	}
	for i := range row(5) { // multiples of 0.5·scale: ties
		row(5)[i] = float32(i%5-2) * 63.5
	}
	small := Tensor{Name: "attn.weight", Shape: []int{1, Q8MinElements - 1}, Data: make([]float32, Q8MinElements-1)}
	for i := range small.Data {
		small.Data[i] = float32(rng.NormFloat64())
	}
	return []Tensor{
		w,
		small,
		{Name: "rnn.bias_ih_l0", Shape: []int{4}, Data: []float32{0.1, -0.2, 1e-8, 3}},
		{Name: "big.bias", Shape: []int{2}, Data: []float32{1e6, -1}},
		{Name: "scalar", Data: []float32{0.25}},
		{Name: "empty", Shape: []int{0, 4000}, Data: []float32{}},
	}
}

// q8Bound is the error bound of a row with scale s: s/2, plus float32
// rounding of the reciprocal and the products.
func q8Bound(s float32) float64 { return float64(s)*(0.5+1e-4) + 1e-45 }

func TestQ8RoundTrip(t *testing.T) {
	in := q8Tensors()
	file := writeST(t, in, map[string]string{"kind": "test"}, Q8)
	out, meta, err := readST(file)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"kind": "test"}, meta)
	got := byName(out)
	require.Len(t, got, len(in), "the scales are not tensors of their own")

	w := in[0]
	cols := w.Shape[1]
	for r := range w.Shape[0] {
		var mx float32
		for _, v := range w.Data[r*cols : (r+1)*cols] {
			mx = max(mx, float32(math.Abs(float64(v))))
		}
		s := mx / 127
		for c := range cols {
			i := r*cols + c
			v, g := w.Data[i], got[w.Name].Data[i]
			switch r {
			case 2:
				require.Equal(t, float32(0), g, "a zero row stays zero")
			case 4:
				require.Equal(t, float32(0), g, "a row below the smallest normal scale is stored as zeros")
			default:
				require.LessOrEqual(t, math.Abs(float64(v-g)), q8Bound(s), "row %d col %d: %g -> %g (scale %g)", r, c, v, g, s)
			}
		}
	}
	// The rest is F16, or F32 where F16 overflows.
	half := byName(mustRead(t, writeST(t, []Tensor{in[1], in[2], in[4], in[5]}, nil, F16)))
	for _, name := range []string{"attn.weight", "rnn.bias_ih_l0", "scalar", "empty"} {
		assert.Equal(t, half[name], got[name], name)
	}
	assert.Equal(t, in[3], got["big.bias"])

	hdr, _, err := ReadSafetensorsHeader(bytes.NewReader(file), int64(len(file)))
	require.NoError(t, err)
	dts := map[string]DType{}
	for _, ti := range hdr {
		dts[ti.Name] = ti.DType
	}
	assert.Equal(t, map[string]DType{"rnn.weight_ih_l0": Q8, "attn.weight": F16, "rnn.bias_ih_l0": F16,
		"big.bias": F32, "scalar": F16, "empty": F16}, dts, "one entry per tensor, the scales not listed")
}

func mustRead(t *testing.T, file []byte) []Tensor {
	t.Helper()
	ts, _, err := readST(file)
	require.NoError(t, err)
	return ts
}

// The file's int8 values and scales are those of the int8 inference
// kernels (kernel.QuantizeWeights), so an int8 file and its float original
// give the same quantized products.
func TestQ8MatchesKernelQuantization(t *testing.T) {
	w := q8Tensors()[0]
	got := byName(mustRead(t, writeST(t, []Tensor{w}, nil, Q8)))[w.Name]
	rows, cols := w.Shape[0], w.Shape[1]
	for r := range rows {
		if r == 4 {
			continue // the kernel divides by its subnormal scale; the file stores zeros
		}
		q := kernel.QuantizeWeights(1, cols, w.Data[r*cols:], cols)
		for c := range cols {
			require.Equal(t, math.Float32bits(q.Weight(0, c)), math.Float32bits(got.Data[r*cols+c]), "row %d col %d", r, c)
		}
	}
}

// The exact layout: the F32 tensors (scales included) first, then the F16
// ones, then the I8 ones, each group by name, every tensor aligned to its
// element size, sizes exactly what the shapes need.
func TestQ8Layout(t *testing.T) {
	ts := []Tensor{
		{Name: "w", Shape: []int{64, 256}, Data: make([]float32, 64*256)},
		{Name: "b", Shape: []int{3}, Data: []float32{1, 2, 3}},
		{Name: "a", Shape: []int{1}, Data: []float32{1e5}},
		{Name: "v", Shape: []int{32, 33}, Data: make([]float32, 32*33)},
	}
	ts[0].Data[5] = 1
	file := writeST(t, ts, nil, Q8)
	n := binary.LittleEndian.Uint64(file)
	var h map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(file[8 : 8+n]))
	require.NoError(t, dec.Decode(&h))
	want := `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},` +
		`"v:scale":{"dtype":"F32","shape":[32],"data_offsets":[4,132]},` +
		`"w:scale":{"dtype":"F32","shape":[64],"data_offsets":[132,388]},` +
		`"b":{"dtype":"F16","shape":[3],"data_offsets":[388,394]},` +
		`"v":{"dtype":"I8","shape":[32,33],"data_offsets":[394,1450]},` +
		`"w":{"dtype":"I8","shape":[64,256],"data_offsets":[1450,17834]}}`
	assert.Equal(t, want, strings.TrimRight(string(file[8:8+n]), " "), "the header in data order")
	assert.Equal(t, 8+int(n)+17834, len(file))
	assert.Zero(t, (8+n)%8)

	// Deterministic, and a loaded int8 file saved as int8 keeps its int8 values.
	assert.Equal(t, file, writeST(t, ts, nil, Q8))
	again := writeST(t, mustRead(t, file), nil, Q8)
	require.Equal(t, len(file), len(again))
	assert.Equal(t, file[8+n+388:], again[8+n+388:], "the same F16 and I8 bytes")
}

// Rewriting a loaded int8 matrix as int8 gives the same int8 values and
// scales within an ulp.
func TestQ8Requantize(t *testing.T) {
	w := q8Tensors()[0]
	once := mustRead(t, writeST(t, []Tensor{w}, nil, Q8))
	twice := mustRead(t, writeST(t, once, nil, Q8))
	for i, v := range once[0].Data {
		assert.InDelta(t, v, twice[0].Data[i], math.Abs(float64(v))*3e-7, "element %d", i)
	}
}

// A model's int8 file is a little over half its F16 file.
func TestQ8SizeOfAModel(t *testing.T) {
	ps := NewParams()
	ps.Add("embedding.weight", 69, 64)
	ps.Add("rnn.weight_ih_l0", 1024, 64)
	ps.Add("rnn.weight_hh_l0", 1024, 256)
	ps.Add("rnn.bias_ih_l0", 1024)
	ps.Add("rnn.bias_hh_l0", 1024)
	ps.Add("decoder.weight", 69, 256)
	ps.Add("decoder.bias", 69)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range ps.Values {
		ps.Values[i] = float32(rng.NormFloat64() * 0.1)
	}
	f16 := writeST(t, ps.Tensors(), nil, F16)
	q8 := writeST(t, ps.Tensors(), nil, Q8)
	hdr := func(b []byte) int { return 8 + int(binary.LittleEndian.Uint64(b)) }
	// I8: one byte per weight plus four per row; F16: two bytes per bias.
	matrices := 69*64 + 1024*64 + 1024*256 + 69*256
	rows := 69 + 1024 + 1024 + 69
	assert.Equal(t, matrices+4*rows+2*(1024+1024+69), len(q8)-hdr(q8))
	assert.Equal(t, 2*ps.Len(), len(f16)-hdr(f16))
	ratio := float64(len(q8)) / float64(len(f16))
	assert.InDelta(t, 0.51, ratio, 0.01, "int8 %d bytes, F16 %d", len(q8), len(f16))
}

func TestQ8WriteErrors(t *testing.T) {
	mat := func(v float32) Tensor {
		d := make([]float32, 2048)
		d[7] = v
		return Tensor{Name: "w", Shape: []int{2, 1024}, Data: d}
	}
	for name, c := range map[string]struct {
		ts   []Tensor
		want string
	}{
		"NaN":        {[]Tensor{mat(float32(math.NaN()))}, `tensor "w" element 7 = NaN is not finite`},
		"Inf":        {[]Tensor{mat(float32(math.Inf(-1)))}, `tensor "w" element 7 = -Inf is not finite`},
		"too large":  {[]Tensor{mat(math.MaxFloat32)}, `tensor "w" row 0 reaches 3.4028235e+38, too large for int8 storage; save as F32`},
		"scale name": {[]Tensor{{Name: "w:scale", Shape: []int{1}, Data: []float32{1}}}, `tensor name "w:scale" ends in ":scale", which is reserved`},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			err := WriteSafetensors(&b, c.ts, nil, Q8)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Zero(t, b.Len(), "nothing written")
		})
	}
	// The reserved suffix is refused in every dtype, so every file rnnkit
	// writes reads back.
	err := WriteSafetensors(&bytes.Buffer{}, []Tensor{{Name: "x:scale", Shape: []int{1}, Data: []float32{1}}}, nil, F32)
	assert.ErrorContains(t, err, "reserved for the scales")
	// Values that are merely large are fine.
	_, _, err = readST(writeST(t, []Tensor{mat(1e36)}, nil, Q8))
	require.NoError(t, err)
}

// q8File builds an int8 file by hand: tensor "w" (dtype, shape) with the
// given data bytes, then the tensors of extra (a JSON fragment of header
// entries) whose bytes follow in extraData.
func q8File(wShape string, wData []byte, extra string, extraData []byte) []byte {
	h := fmt.Sprintf(`{"w":{"dtype":"I8","shape":%s,"data_offsets":[0,%d]}`, wShape, len(wData))
	if extra != "" {
		h += "," + fmt.Sprintf(extra, len(wData))
	}
	return rawST(h+"}", append(append([]byte(nil), wData...), extraData...))
}

func f32s(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestQ8ReadErrors(t *testing.T) {
	six := []byte{1, 2, 3, 0xff, 0x81, 127} // 1 2 3 -1 -127 127
	scale := func(shape string, n int) string {
		return `"w:scale":{"dtype":"F32","shape":` + shape + `,"data_offsets":[%d,` + strconv.Itoa(6+4*n) + `]}`
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"no scale", q8File("[2,3]", six, "", nil), `int8 tensor "w" has no scale tensor "w:scale" (F32, one scale per row)`},
		{"scale without tensor", rawST(`{"v:scale":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(1)), `tensor "v:scale" is named as the scales of an int8 tensor "v", which the file does not have`},
		{"scale of a float tensor", rawST(`{"v":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"v:scale":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(1, 1)), `tensor "v:scale" is named as the scales of an int8 tensor, but "v" has dtype F32, not I8`},
		{"scale F16", q8File("[2,3]", six, `"w:scale":{"dtype":"F16","shape":[2],"data_offsets":[%d,10]}`, make([]byte, 4)), `scale tensor "w:scale" has dtype F16; the scales of an int8 tensor are F32`},
		{"scale too short", q8File("[2,3]", six, scale("[1]", 1), f32s(1)), `scale tensor "w:scale" has shape [1], but int8 tensor "w" of shape [2 3] needs [2]`},
		{"scale 2-D", q8File("[2,3]", six, scale("[2,1]", 2), f32s(1, 1)), `scale tensor "w:scale" has shape [2 1]`},
		{"scale per column", q8File("[2,3]", six, scale("[3]", 3), f32s(1, 1, 1)), `needs [2] (one scale per row)`},
		{"1-D", q8File("[6]", six, scale("[6]", 6), f32s(1, 1, 1, 1, 1, 1)), `tensor "w" has dtype I8 and shape [6]; rnnkit reads I8 only as 2-D weight matrices`},
		{"3-D", q8File("[1,2,3]", six, scale("[1]", 1), f32s(1)), `tensor "w" has dtype I8 and shape [1 2 3]`},
		{"scalar", rawST(`{"w":{"dtype":"I8","shape":[],"data_offsets":[0,1]}}`, []byte{1}), `tensor "w" has dtype I8 and shape []`},
		{"negative scale", q8File("[2,3]", six, scale("[2]", 2), f32s(1, -0.5)), `scale tensor "w:scale" has -0.5 for row 1; int8 scales are finite, not negative`},
		{"NaN scale", q8File("[2,3]", six, scale("[2]", 2), f32s(float32(math.NaN()), 1)), `scale tensor "w:scale" has NaN for row 0`},
		{"Inf scale", q8File("[2,3]", six, scale("[2]", 2), f32s(1, float32(math.Inf(1)))), `scale tensor "w:scale" has +Inf for row 1`},
		{"huge scale", q8File("[2,3]", six, scale("[2]", 2), f32s(1, 1e37)), `has 1e+37 for row 1; int8 scales are finite, not negative, and at most 2.68e36`},
		{"-128", q8File("[2,3]", []byte{1, 2, 3, 4, 0x80, 6}, scale("[2]", 2), f32s(1, 1)), `int8 tensor "w" has -128 at element 4; rnnkit's int8 values lie in [-127, 127]`},
		{"I8 size mismatch", rawST(`{"w":{"dtype":"I8","shape":[2,3],"data_offsets":[0,12]}}`, make([]byte, 12)), `tensor "w" has shape [2 3] of I8, which needs 6 bytes`},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, meta, err := readST(c.file)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrFormat)
			assert.Contains(t, err.Error(), c.want)
			assert.Nil(t, ts)
			assert.Nil(t, meta)
			// The model loader explains it, naming the file.
			path := filepath.Join(dir, "m.safetensors")
			require.NoError(t, os.WriteFile(path, c.file, 0o644))
			_, _, err = LoadModel(path, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "model file "+path+": ")
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// Header problems are found by the header reader too; data problems
	// (scale values, -128) only by ReadSafetensors.
	_, _, err := ReadSafetensorsHeader(bytes.NewReader(cases[0].file), int64(len(cases[0].file)))
	assert.ErrorContains(t, err, "has no scale tensor")
	neg := cases[10].file
	_, _, err = ReadSafetensorsHeader(bytes.NewReader(neg), int64(len(neg)))
	assert.NoError(t, err)

	// The hand-built layout itself is valid.
	ts, _, err := readST(q8File("[2,3]", six, scale("[2]", 2), f32s(0.5, 2)))
	require.NoError(t, err)
	assert.Equal(t, []Tensor{{Name: "w", Shape: []int{2, 3}, Data: []float32{0.5, 1, 1.5, -2, -254, 254}}}, ts)
	_, err = explainOnly(cases[7].file)
	assert.ErrorContains(t, err, "convert the tensors to one of those")
	_, err = explainOnly(cases[0].file)
	assert.ErrorContains(t, err, "damaged safetensors file")
}

func explainOnly(file []byte) ([]Tensor, error) {
	_, ts, err := LoadModelBytes("mem", file, "")
	return ts, err
}

func TestQ8TruncatedEverywhere(t *testing.T) {
	file := writeST(t, q8Tensors()[:3], map[string]string{"k": "v"}, Q8)
	for n := range len(file) {
		_, _, err := readST(file[:n])
		require.Error(t, err, "prefix of %d bytes", n)
		require.ErrorIs(t, err, ErrFormat, "prefix of %d bytes", n)
	}
}

func TestSaveModelQ8(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	ps := NewParams()
	ps.Add("embedding.weight", 40, 32)
	ps.Add("decoder.weight", 40, 64)
	ps.Add("decoder.bias", 40)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range ps.Values {
		ps.Values[i] = float32(rng.NormFloat64())
	}
	require.NoError(t, SaveModel(path, testInfo(), ps, Q8))
	info, ts, err := LoadModel(path, "seq2seq")
	require.NoError(t, err)
	assert.Equal(t, testInfo().Meta, info.Meta)
	loaded := NewParams()
	for _, p := range ps.List() {
		loaded.Add(p.Name, p.Shape...)
	}
	require.NoError(t, loaded.SetFromTensors(ts), "no scale tensors reach the model")
	for _, p := range ps.List() {
		tol := 0.0
		if len(p.Shape) == 2 {
			var mx float32
			for _, v := range p.W {
				mx = max(mx, float32(math.Abs(float64(v))))
			}
			tol = q8Bound(mx / 127)
		} else {
			tol = 1e-3 * 4 // F16
		}
		for i, v := range p.W {
			assert.InDelta(t, v, loaded.Get(p.Name).W[i], tol, "%s[%d]", p.Name, i)
		}
	}
	hdr, _, err := ReadHeader(path)
	require.NoError(t, err)
	assert.Equal(t, []TensorInfo{{Name: "decoder.bias", DType: F16, Shape: []int{40}},
		{Name: "decoder.weight", DType: Q8, Shape: []int{40, 64}}, {Name: "embedding.weight", DType: Q8, Shape: []int{40, 32}}}, hdr)

	// Non-finite weights are refused before quantization, as in every dtype.
	ps.Values[3] = float32(math.NaN())
	err = SaveModel(path, testInfo(), ps, Q8)
	assert.ErrorContains(t, err, "non-finite")
	assertOnlyFiles(t, dir, "m.safetensors")

	// Checkpoints are always F32: SaveCheckpoint has no dtype.
	ps.Values[3] = 0
	ck := filepath.Join(dir, "m.ckpt")
	require.NoError(t, SaveCheckpoint(ck, testInfo(), ps, []Tensor{{Name: "optim.step", Shape: []int{2}, Data: []float32{1, 0}}}))
	hdr, _, err = ReadHeader(ck)
	require.NoError(t, err)
	for _, ti := range hdr {
		assert.Equal(t, F32, ti.DType, ti.Name)
	}
}

// The files the single-dtype writer produced before int8 files existed
// (the committed fuzz seeds) are still written byte for byte.
func TestSingleDTypeFilesUnchanged(t *testing.T) {
	seeds := fuzzSeeds(t)
	for _, name := range []string{"valid_f32", "valid_f16", "valid_bf16", "model_f16"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzReadSafetensors", "seed_"+name))
		require.NoError(t, err)
		body := strings.TrimSuffix(strings.TrimPrefix(string(raw), "go test fuzz v1\n[]byte("), ")\n")
		committed, err := strconv.Unquote(body)
		require.NoError(t, err, name)
		assert.Equal(t, committed, string(seeds[name]), name)
	}
}

// The int8 fuzz seeds reach the paths they are named after.
func TestQ8FuzzSeeds(t *testing.T) {
	seeds := fuzzSeeds(t)
	for name, want := range map[string]string{
		"q8_no_scale":    "has no scale tensor",
		"q8_lone_scale":  "which the file does not have",
		"q8_scale_shape": "one scale per row",
		"q8_1d":          "only as 2-D weight matrices",
		"q8_neg_scale":   "has -1 for row 1",
		"q8_minus128":    "has -128 at element 0",
	} {
		_, _, err := readST(seeds[name])
		assert.ErrorContains(t, err, want, name)
	}
	for _, name := range []string{"q8_small", "valid_q8", "model_q8"} {
		_, _, err := readST(seeds[name])
		assert.NoError(t, err, name)
	}
}

func TestStoresQ8(t *testing.T) {
	for _, c := range []struct {
		dt   DType
		want bool
	}{{F32, false}, {Q8, true}} {
		var b bytes.Buffer
		require.NoError(t, WriteSafetensors(&b, q8Tensors(), nil, c.dt))
		assert.Equal(t, c.want, StoresQ8(bytes.NewReader(b.Bytes()), int64(b.Len())), c.dt)
	}
	assert.False(t, StoresQ8(bytes.NewReader([]byte("not safetensors")), 15))
}
