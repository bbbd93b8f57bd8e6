package rnn

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestModelFileReadParams: reading a file's weights straight into a
// model's parameters gives what LoadModel and SetFromTensors give, for
// every storage dtype, and OpenModel's errors are LoadModel's.
func TestModelFileReadParams(t *testing.T) {
	src := testParams()
	for i := range src.Values {
		src.Values[i] = float32(i%13)/7 - 0.8
	}
	info := ModelInfo{Kind: "test", Config: []byte(`{}`)}
	for _, dt := range []DType{F32, F16, Q8} {
		path := filepath.Join(t.TempDir(), "m.safetensors")
		require.NoError(t, SaveModel(path, info, src, dt))
		_, ts, err := LoadModel(path, "test")
		require.NoError(t, err)
		want := sameArch()
		require.NoError(t, want.SetFromTensors(ts))

		mf, err := OpenModel(path, "test")
		require.NoError(t, err)
		assert.Equal(t, "test", mf.Info.Kind)
		got := sameArch()
		require.NoError(t, got.CheckTensors(mf.Shapes()))
		require.NoError(t, mf.ReadParams(got))
		assert.Equal(t, want.Values, got.Values, "%s", dt)
		all, err := mf.Tensors()
		require.NoError(t, err)
		assert.Equal(t, ts, all)
		require.NoError(t, mf.Close())

		data, err := os.ReadFile(path)
		require.NoError(t, err)
		mb, err := OpenModelBytes("mem", data, "")
		require.NoError(t, err)
		got = sameArch()
		require.NoError(t, mb.ReadParams(got))
		assert.Equal(t, want.Values, got.Values)

		other := NewParams()
		other.Add("x", 3)
		assert.ErrorContains(t, mb.ReadParams(other), "is not a parameter of this model")
	}

	// A NaN weight is found as it is read.
	nan := filepath.Join(t.TempDir(), "nan.safetensors")
	src.List()[1].W[2] = 1234.5
	require.NoError(t, SaveModel(nan, info, src, F32))
	src.List()[1].W[2] = 0
	b, err := os.ReadFile(nan)
	require.NoError(t, err)
	mark := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1234.5))
	i := bytes.Index(b, mark)
	require.Positive(t, i)
	binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32(math.NaN())))
	require.NoError(t, os.WriteFile(nan, b, 0o644))
	if mf, err := OpenModel(nan, ""); assert.NoError(t, err) {
		err = mf.ReadParams(sameArch())
		assert.ErrorContains(t, err, "nan.safetensors: the weights hold NaN or Inf values; the file is damaged (tensor \""+src.List()[1].Name+"\")")
		mf.Close()
	}

	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, SaveModel(path, info, src, F32))
	_, err = OpenModel(path, "charrnn")
	_, _, lerr := LoadModel(path, "charrnn")
	require.Error(t, err)
	assert.Equal(t, lerr.Error(), err.Error())
	data, _ := os.ReadFile(path)
	_, err = OpenModelBytes("cut", data[:len(data)-3], "")
	_, _, lerr = LoadModelBytes("cut", data[:len(data)-3], "")
	require.Error(t, err)
	assert.Equal(t, lerr.Error(), err.Error())
}
