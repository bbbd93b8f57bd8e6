package rnn

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSaveLoadRunRoundTrip(t *testing.T) {
	ps := NewParams()
	lin := NewLinear(ps, "fc.", 3, 2, true)
	lin.Init(rand.New(rand.NewPCG(1, 1)))
	// An optimizer's state as package optim's State gives it.
	optState := []Tensor{
		{Name: "optim.step", Shape: []int{2}, Data: []float32{1, 0}},
		{Name: "optim.exp_avg", Shape: []int{ps.Len()}, Data: make([]float32, ps.Len())},
	}
	for i := range optState[1].Data {
		optState[1].Data[i] = 0.01 * float32(i)
	}
	pcg := rand.NewPCG(5, 6)
	rng := rand.New(pcg)
	rng.Uint64()
	st := &RunState{Step: 12, SinceBest: 2, BestStep: 8, Skipped: 1, Best: append([]float32(nil), ps.Values...),
		Metrics: map[string]float64{"val_loss": 1.25, "val_bleu": 33.5}, RNG: pcg,
		Tensors: []Tensor{{Name: "carry.h", Shape: []int{2}, Data: []float32{1, 2}}}}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	info := ModelInfo{Kind: "test", Config: []byte(`{"a":1}`), Meta: map[string]string{"trained_on": "x"}}
	require.NoError(t, SaveRun(path, info, ps, optState, st))

	gotInfo, params, got, gotOptState, err := LoadRun(path, "test")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"trained_on": "x"}, gotInfo.Meta, "train.* keys are not model metadata")
	require.Equal(t, st.Step, got.Step)
	require.Equal(t, st.SinceBest, got.SinceBest)
	require.Equal(t, st.BestStep, got.BestStep)
	require.Equal(t, st.Skipped, got.Skipped)
	require.Equal(t, st.Metrics, got.Metrics)
	require.Equal(t, st.Best, got.Best)
	require.Equal(t, []float32{1, 2}, got.Tensor("carry.h"))
	require.Equal(t, rng.Uint64(), rand.New(got.RNG).Uint64(), "the RNG continues where it stopped")
	ps2 := NewParams()
	NewLinear(ps2, "fc.", 3, 2, true)
	require.NoError(t, ps2.SetFromTensors(params))
	require.Equal(t, ps.Values, ps2.Values)
	require.ElementsMatch(t, optState, gotOptState, "the optimizer's tensors come back as given")

	// A plain model file is not a checkpoint.
	plain := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, SaveModel(plain, info, ps, F32))
	_, _, _, _, err = LoadRun(plain, "test")
	require.ErrorContains(t, err, "not a training checkpoint")
}

// The run's history (its loss curve) survives a checkpoint, non-finite
// figures reading back as NaN, and a checkpoint without one (written before
// histories were kept) loads with none.
func TestSaveLoadRunHistory(t *testing.T) {
	ps := NewParams()
	NewLinear(ps, "fc.", 2, 2, true)
	var opt []Tensor // no optimizer state
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	info := ModelInfo{Kind: "test", Config: []byte(`{}`)}
	hist := []RunPoint{
		{Step: 10, Values: map[string]float64{"loss": 2.5, "val_loss": 2.75}},
		{Step: 20, Values: map[string]float64{"loss": 1.5, "val_loss": math.Inf(1), "val_bwd": math.NaN()}},
	}
	st := &RunState{Step: 20, Metrics: map[string]float64{}, RNG: rand.NewPCG(1, 2), History: hist}
	require.NoError(t, SaveRun(path, info, ps, opt, st))
	_, meta, err := ReadHeader(path)
	require.NoError(t, err)
	require.Equal(t, `[{"loss":2.5,"step":10,"val_loss":2.75},{"loss":1.5,"step":20}]`, meta[MetaHistory])
	_, _, got, _, err := LoadRun(path, "test")
	require.NoError(t, err)
	require.Len(t, got.History, 2)
	require.Equal(t, 10, got.History[0].Step)
	require.Equal(t, 2.75, got.History[0].Value("val_loss"))
	require.Equal(t, 1.5, got.History[1].Value("loss"))
	require.True(t, math.IsNaN(got.History[1].Value("val_loss")))

	st.History = nil
	require.NoError(t, SaveRun(path, info, ps, opt, st))
	_, meta, err = ReadHeader(path)
	require.NoError(t, err)
	require.NotContains(t, meta, MetaHistory)
	_, _, got, _, err = LoadRun(path, "test")
	require.NoError(t, err)
	require.Empty(t, got.History)
}

// ReadHeader gives a file's tensors and metadata without its weights, and
// the same errors as LoadModel for what is not a model file.
func TestReadHeader(t *testing.T) {
	ps := NewParams()
	NewLinear(ps, "fc.", 3, 2, true)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, SaveModel(path, ModelInfo{Kind: "test", Config: []byte(`{"a":1}`), Meta: map[string]string{"x": "y"}}, ps, F16))
	ts, meta, err := ReadHeader(path)
	require.NoError(t, err)
	require.Equal(t, []TensorInfo{{Name: "fc.bias", DType: F16, Shape: []int{2}}, {Name: "fc.weight", DType: F16, Shape: []int{2, 3}}}, ts)
	require.Equal(t, "y", meta["x"])
	require.Equal(t, "test", meta[MetaKind])
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	ts2, meta2, err := ReadHeaderBytes("mem", data)
	require.NoError(t, err)
	require.Equal(t, ts, ts2)
	require.Equal(t, meta, meta2)
	_, _, err = ReadHeaderBytes("mem", data[:len(data)-1])
	require.ErrorContains(t, err, "model file mem: truncated")
}
