package rnn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleTensors covers the shapes that matter: matrices, vectors, a scalar,
// an empty tensor, a 3-d tensor, and special values.
func sampleTensors() []Tensor {
	rng := rand.New(rand.NewPCG(1, 2))
	randT := func(name string, shape ...int) Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		t := Tensor{Name: name, Shape: shape, Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64())
		}
		return t
	}
	return []Tensor{
		randT("lstm.weight_ih_l0", 8, 3),
		randT("lstm.bias_hh_l0", 8),
		randT("embedding.weight", 5, 3),
		randT("conv.weight", 2, 2, 3),
		{Name: "scalar", Shape: nil, Data: []float32{0.25}},
		{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
		{Name: "special", Shape: []int{6}, Data: []float32{0, float32(math.Copysign(0, -1)), 1e-30, -65504, 3.5, -1}},
	}
}

func writeST(t testing.TB, ts []Tensor, meta map[string]string, dt DType) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, WriteSafetensors(&b, ts, meta, dt))
	return b.Bytes()
}

func readST(data []byte) ([]Tensor, map[string]string, error) {
	return ReadSafetensors(bytes.NewReader(data), int64(len(data)))
}

// rawST assembles a file from a header string (padded as the writer pads)
// and a data area, for hand-built valid and invalid files.
func rawST(header string, data []byte) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func byName(ts []Tensor) map[string]Tensor {
	m := map[string]Tensor{}
	for _, t := range ts {
		m[t.Name] = t
	}
	return m
}

func TestSafetensorsRoundTripF32(t *testing.T) {
	in := sampleTensors()
	meta := map[string]string{"a": "1", "json": `{"x":[1,2],"html":"<&>"}`, "unicode": "héllo ✓\n\t\"q\""}
	out, gotMeta, err := readST(writeST(t, in, meta, F32))
	require.NoError(t, err)
	assert.Equal(t, meta, gotMeta)
	require.Len(t, out, len(in))
	for i := 1; i < len(out); i++ {
		assert.Less(t, out[i-1].Name, out[i].Name, "read returns tensors sorted by name")
	}
	got := byName(out)
	for _, want := range in {
		g := got[want.Name]
		assert.Equal(t, len(want.Shape), len(g.Shape), want.Name)
		if len(want.Shape) > 0 {
			assert.Equal(t, want.Shape, g.Shape, want.Name)
		}
		require.Len(t, g.Data, len(want.Data), want.Name)
		for i := range want.Data {
			assert.Equal(t, math.Float32bits(want.Data[i]), math.Float32bits(g.Data[i]), "%s[%d]", want.Name, i)
		}
	}
}

func TestSafetensorsRoundTripHalf(t *testing.T) {
	for _, dt := range []DType{F16, BF16} {
		t.Run(string(dt), func(t *testing.T) {
			in := sampleTensors()
			out, _, err := readST(writeST(t, in, nil, dt))
			require.NoError(t, err)
			rel := 1.0 / 2048 // F16: 11-bit significand
			if dt == BF16 {
				rel = 1.0 / 256
			}
			got := byName(out)
			for _, want := range in {
				g := got[want.Name]
				require.Len(t, g.Data, len(want.Data))
				for i, v := range want.Data {
					tol := rel * math.Abs(float64(v))
					if dt == F16 {
						tol += 1.0 / (1 << 25) // half the smallest subnormal
					}
					assert.InDelta(t, v, g.Data[i], tol, "%s[%d]", want.Name, i)
				}
			}
		})
	}
}

// TestSafetensorsReadBF16 reads a BF16 file assembled by hand, as PyTorch
// would write it, independently of the writer.
func TestSafetensorsReadBF16(t *testing.T) {
	want := []float32{1, -2, 0.5, 3.140625, 0, -0.0078125} // all exact in bfloat16
	var data []byte
	for _, v := range want {
		data = binary.LittleEndian.AppendUint16(data, uint16(math.Float32bits(v)>>16))
	}
	// plus one F16 and one F32 tensor in the same file
	data = binary.LittleEndian.AppendUint16(data, 0x3c00) // 1.0
	data = binary.LittleEndian.AppendUint16(data, 0xc000) // -2.0
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(7.5))
	file := rawST(`{"__metadata__":{"format":"pt"},`+
		`"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},`+
		`"h":{"data_offsets":[12,16],"dtype":"F16","shape":[2]},`+
		`"s":{"dtype":"F32","shape":[],"data_offsets":[16,20]}}`, data)
	ts, meta, err := readST(file)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"format": "pt"}, meta)
	got := byName(ts)
	assert.Equal(t, []int{2, 3}, got["w"].Shape)
	assert.Equal(t, want, got["w"].Data)
	assert.Equal(t, []float32{1, -2}, got["h"].Data)
	assert.Equal(t, []int{}, got["s"].Shape)
	assert.Equal(t, []float32{7.5}, got["s"].Data)
}

func TestSafetensorsDeterministic(t *testing.T) {
	in := sampleTensors()
	rev := make([]Tensor, len(in))
	for i := range in {
		rev[len(in)-1-i] = in[i]
	}
	meta1 := map[string]string{}
	meta2 := map[string]string{}
	for i := range 20 {
		meta1[fmt.Sprint("k", i)] = "v"
	}
	for i := 19; i >= 0; i-- {
		meta2[fmt.Sprint("k", i)] = "v"
	}
	a := writeST(t, in, meta1, F32)
	b := writeST(t, rev, meta2, F32)
	assert.Equal(t, a, b)
	n := binary.LittleEndian.Uint64(a)
	assert.Zero(t, n%8, "header padded to a multiple of 8")
	assert.Equal(t, byte('{'), a[8])
}

func TestSafetensorsWriteErrors(t *testing.T) {
	cases := []struct {
		name string
		ts   []Tensor
		dt   DType
		want string
	}{
		{"dtype", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}}, "F64", "cannot write dtype"},
		{"duplicate", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, F32, "duplicate"},
		{"empty name", []Tensor{{Name: "", Shape: []int{1}, Data: []float32{1}}}, F32, "invalid tensor name"},
		{"metadata name", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, F32, "invalid tensor name"},
		{"shape", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: []float32{1}}}, F32, "4 elements"},
		{"negative", []Tensor{{Name: "a", Shape: []int{-1, -1}, Data: []float32{1}}}, F32, "negative"},
		{"f16 overflow", []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, 70000}}}, F16, "overflows F16"},
		{"f16 rounds to Inf", []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{65519, -65520}}}, F16, "element 1 = -65520 overflows F16"},
		{"bf16 overflow", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{math.MaxFloat32}}}, BF16, "overflows BF16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := WriteSafetensors(io.Discard, c.ts, nil, c.dt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestBF16Conversion: bfloat16 ties to even, and NaN stays NaN. The F16
// codec is kernel.F32ToF16 and kernel.F16ToF32, tested in rnn/kernel.
func TestBF16Conversion(t *testing.T) {
	b, ok := f32ToBF16(math.Float32frombits(0x3f808000)) // halfway between 0x3f80 and 0x3f81
	assert.True(t, ok)
	assert.Equal(t, uint16(0x3f80), b)
	b, _ = f32ToBF16(math.Float32frombits(0x3f818000))
	assert.Equal(t, uint16(0x3f82), b)
	b, _ = f32ToBF16(float32(math.NaN()))
	assert.True(t, math.IsNaN(float64(math.Float32frombits(uint32(b)<<16))))
}

// validFile is a small valid file used by the error tests.
func validFile(t testing.TB) []byte {
	return writeST(t, []Tensor{
		{Name: "a", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		{Name: "b", Shape: []int{3}, Data: []float32{5, 6, 7}},
	}, map[string]string{"k": "v"}, F32)
}

func TestReadSafetensorsTruncatedEverywhere(t *testing.T) {
	file := validFile(t)
	for n := range len(file) {
		_, _, err := readST(file[:n])
		require.Error(t, err, "prefix of %d bytes", n)
		require.ErrorIs(t, err, ErrFormat, "prefix of %d bytes", n)
		if n > 8+int(binary.LittleEndian.Uint64(file)) {
			assert.Contains(t, err.Error(), "truncated (header says", "prefix of %d bytes", n)
		} else if n > 0 {
			assert.Contains(t, err.Error(), "truncated", "prefix of %d bytes", n)
		}
	}
	// A reader shorter than the size the caller claims.
	_, _, err := ReadSafetensors(bytes.NewReader(file[:len(file)-3]), int64(len(file)))
	require.ErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), "truncated")
}

type failingReader struct{}

func (failingReader) ReadAt(p []byte, off int64) (int, error) { return 0, errors.New("disk on fire") }

func TestReadSafetensorsIOError(t *testing.T) {
	_, _, err := ReadSafetensors(failingReader{}, 100)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), "disk on fire")
}

func TestReadSafetensorsErrors(t *testing.T) {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	long := func(n uint64, rest string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"text file", []byte("hello, this is not a model file at all\n"), "header length"},
		{"header length huge", long(1<<62, "{}"), "more than the"},
		{"header length over cap", long(200<<20, strings.Repeat(" ", 64)), "more than the"},
		{"header length past end", long(1000, "{}      "), "truncated (header says the JSON header is 1000 bytes"},
		{"header length past end, not json", long(1000, "xx      "), "but the file has only"},
		{"header length 0", long(0, ""), "too short"},
		{"header not object", rawST(`[1,2,3]`, nil), "does not start with a JSON object"},
		{"bad json", rawST(`{"a":{"dtype":"F32",`, nil), "malformed"},
		{"bad json 2", rawST(`{"a" "b"}`, nil), "malformed"},
		{"trailing json", rawST(`{}{}`, nil), "trailing data"},
		{"nul padding", append(binary.LittleEndian.AppendUint64(nil, 8), "{}\x00\x00\x00\x00\x00\x00"...), "trailing data"},
		{"entry not object", rawST(`{"a":5}`, nil), "malformed entry"},
		{"missing field", rawST(`{"a":{"dtype":"F32","shape":[1]}}`, f32(1)), "needs dtype, shape and data_offsets"},
		{"unknown dtype", rawST(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, f32(2)), `dtype "F64"`},
		{"dtype wrong type", rawST(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, f32(1)), "malformed entry"},
		{"negative dim", rawST(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f32(1)), "invalid dimension"},
		{"fractional dim", rawST(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, f32(1)), "malformed entry"},
		{"dim overflows int64", rawST(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, f32(1)), "malformed entry"},
		{"product overflow", rawST(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`, f32(1)), "impossibly large shape"},
		{"huge tensor tiny file", rawST(`{"a":{"dtype":"F32","shape":[100000,100000],"data_offsets":[0,40000000000]}}`, f32(4)), "truncated (header says 40000000000 bytes of tensor data, file has 16)"},
		{"too many dims", rawST(`{"a":{"dtype":"F32","shape":[`+strings.Repeat("1,", 64)+`1],"data_offsets":[0,4]}}`, f32(1)), "dimensions"},
		{"offsets count", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, f32(1)), "want [begin, end]"},
		{"offsets reversed", rawST(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f32(1)), "invalid data_offsets"},
		{"offsets negative", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f32(1)), "invalid data_offsets"},
		{"offsets size mismatch", rawST(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f32(2)), "needs 8 bytes"},
		{"offsets out of range", rawST(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32(1)), "truncated (header says 8 bytes of tensor data, file has 4)"},
		{"offsets far out of range", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4000000000,4000000004]}}`, f32(1)), "gap"},
		{"overlap", rawST(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(3)), "overlaps"},
		{"same range twice", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(1)), "overlaps"},
		{"gap", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)), "gap"},
		{"trailing data", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(2)), "unexpected bytes after the last tensor"},
		{"duplicate name", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)), "twice"},
		{"metadata not strings", rawST(`{"__metadata__":{"a":1}}`, nil), "not an object of strings"},
		{"metadata not object", rawST(`{"__metadata__":"x"}`, nil), "not an object of strings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, meta, err := readST(c.file)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrFormat)
			assert.Contains(t, err.Error(), c.want)
			assert.Nil(t, ts)
			assert.Nil(t, meta)
		})
	}
}

func TestReadSafetensorsEdgeCasesAccepted(t *testing.T) {
	// Legal oddities: an empty header, null metadata, zero-size tensors
	// sharing an offset, unknown extra fields, whitespace padding.
	for name, file := range map[string][]byte{
		"empty":         rawST(`{}`, nil),
		"null metadata": rawST(`{"__metadata__":null}`, nil),
		"zero size":     rawST(`{"a":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"b":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},"c":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)),
		"huge zero dim": rawST(`{"a":{"dtype":"F32","shape":[1000000000000,0],"data_offsets":[0,0]}}`, nil),
		"extra field":   rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"note":"x"}}`, make([]byte, 4)),
		"whitespace":    rawST("{ \"a\" : {\"dtype\":\"F32\",\n\"shape\":[1],\"data_offsets\":[0,4]} }", make([]byte, 4)),
	} {
		t.Run(name, func(t *testing.T) {
			_, meta, err := readST(file)
			require.NoError(t, err)
			assert.NotNil(t, meta)
		})
	}
}

// A tiny file declaring enormous tensors must be rejected before anything
// of that size is allocated.
func TestReadSafetensorsNoHugeAllocation(t *testing.T) {
	files := [][]byte{
		rawST(`{"a":{"dtype":"F32","shape":[100000,100000],"data_offsets":[0,40000000000]}}`, make([]byte, 16)),
		long8(1<<40, "{"),
		rawST(`{"a":{"dtype":"F32","shape":[2500000000],"data_offsets":[0,10000000000]},"b":{"dtype":"F32","shape":[1],"data_offsets":[10000000000,10000000004]}}`, make([]byte, 4)),
	}
	for i, f := range files {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := readST(f)
		runtime.ReadMemStats(&after)
		require.Error(t, err, "file %d", i)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "file %d allocated too much", i)
	}
}

func long8(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

// fuzzSeeds are the seed inputs of FuzzReadSafetensors: valid files from the
// writer (all dtypes, model files) and broken ones.
func fuzzSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{
		"valid_f32":    writeST(t, sampleTensors(), map[string]string{"kind": "test"}, F32),
		"valid_f16":    writeST(t, sampleTensors()[:3], nil, F16),
		"valid_bf16":   writeST(t, sampleTensors()[3:], nil, BF16),
		"empty_header": rawST(`{}`, nil),
		"zero_size":    rawST(`{"a":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"c":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)),
		"huge_shape":   rawST(`{"a":{"dtype":"F32","shape":[100000,100000],"data_offsets":[0,40000000000]}}`, make([]byte, 16)),
		"overlap":      rawST(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)),
		"bad_dtype":    rawST(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)),
		"bad_json":     rawST(`{"a":{"dtype":"F32",`, nil),
		"metadata":     rawST(`{"__metadata__":{"format_version":"1","kind":"charrnn","config":"{}"}}`, nil),
		"not_st":       []byte("not a safetensors file"),
		"huge_len":     long8(1<<63, "{}"),
	}
	v := validFile(t)
	seeds["truncated"] = v[:len(v)-5]
	ps := testParams()
	var b bytes.Buffer
	meta, err := ModelInfo{Kind: "charrnn", Config: []byte(`{"hidden":4}`), Tokenizers: map[string]string{"": `{"model":{}}`}}.metadata()
	require.NoError(t, err)
	require.NoError(t, WriteSafetensors(&b, ps.Tensors(), meta, F16))
	seeds["model_f16"] = b.Bytes()

	// int8 files: valid ones, and each way the scales can be wrong.
	seeds["valid_q8"] = writeST(t, q8Tensors(), map[string]string{"kind": "test"}, Q8)
	qp := NewParams()
	qp.Add("embedding.weight", 40, 32)
	qp.Add("decoder.weight", 40, 32)
	qp.Add("decoder.bias", 40)
	for i := range qp.Values {
		qp.Values[i] = float32(i%17) - 8
	}
	b.Reset()
	require.NoError(t, WriteSafetensors(&b, qp.Tensors(), meta, Q8))
	seeds["model_q8"] = b.Bytes()
	six := []byte{1, 2, 3, 0xff, 0x81, 127}
	sc := `"w:scale":{"dtype":"F32","shape":[2],"data_offsets":[%d,14]}`
	seeds["q8_small"] = q8File("[2,3]", six, sc, f32s(0.5, 2))
	seeds["q8_no_scale"] = q8File("[2,3]", six, "", nil)
	seeds["q8_lone_scale"] = rawST(`{"v:scale":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(1))
	seeds["q8_scale_shape"] = q8File("[2,3]", six, `"w:scale":{"dtype":"F32","shape":[3],"data_offsets":[%d,18]}`, f32s(1, 1, 1))
	seeds["q8_1d"] = q8File("[6]", six, `"w:scale":{"dtype":"F32","shape":[6],"data_offsets":[%d,30]}`, f32s(1, 1, 1, 1, 1, 1))
	seeds["q8_neg_scale"] = q8File("[2,3]", six, sc, f32s(1, -1))
	seeds["q8_minus128"] = q8File("[2,3]", []byte{0x80, 0, 0, 0, 0, 0}, sc, f32s(1, 1))
	return seeds
}

// TestWriteFuzzSeeds regenerates the committed seed corpus:
//
//	RNNKIT_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./rnn/
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("RNNKIT_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set RNNKIT_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz/FuzzReadSafetensors")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadSafetensors")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, data := range fuzzSeeds(t) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "seed_"+name), []byte(content), 0o644))
	}
}

func FuzzReadSafetensors(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, meta, err := readST(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			// The model loader must not panic either.
			_, _, _ = LoadModelBytes("fuzz", data, "")
			return
		}
		// Never more elements than the data could hold: the header agrees
		// with what was read, and its tensors fit in the file.
		hdr, _, err := ReadSafetensorsHeader(bytes.NewReader(data), int64(len(data)))
		if err != nil || len(hdr) != len(ts) {
			t.Fatalf("header: %v, %d tensors, read %d", err, len(hdr), len(ts))
		}
		total := 0
		for i, tn := range ts {
			if hdr[i].Name != tn.Name {
				t.Fatalf("header lists %q, read %q", hdr[i].Name, tn.Name)
			}
			total += len(tn.Data) * hdr[i].DType.Size()
			if hdr[i].DType == Q8 {
				total += 4 * tn.Shape[0] // its scales
			}
		}
		if total > len(data) {
			t.Fatalf("%d bytes of elements from %d bytes", total, len(data))
		}
		// What was read writes and reads back to the same bits.
		var b bytes.Buffer
		if err := WriteSafetensors(&b, ts, meta, F32); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		ts2, meta2, err := readST(b.Bytes())
		if err != nil {
			t.Fatalf("reread: %v", err)
		}
		if len(ts2) != len(ts) || len(meta2) != len(meta) {
			t.Fatalf("reread: %d tensors %d meta, want %d %d", len(ts2), len(meta2), len(ts), len(meta))
		}
		for k, v := range meta {
			if meta2[k] != v {
				t.Fatalf("meta %q: %q != %q", k, meta2[k], v)
			}
		}
		for i := range ts {
			if ts[i].Name != ts2[i].Name || len(ts[i].Data) != len(ts2[i].Data) || !equalShape(ts[i].Shape, ts2[i].Shape) {
				t.Fatalf("tensor %d: %q %v != %q %v", i, ts[i].Name, ts[i].Shape, ts2[i].Name, ts2[i].Shape)
			}
			for j := range ts[i].Data {
				if math.Float32bits(ts[i].Data[j]) != math.Float32bits(ts2[i].Data[j]) {
					t.Fatalf("tensor %q[%d] changed", ts[i].Name, j)
				}
			}
		}
		_, _, _ = LoadModelBytes("fuzz", data, "charrnn")
	})
}
