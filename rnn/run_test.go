package rnn

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSaveLoadRunRoundTrip(t *testing.T) {
	ps := NewParams()
	lin := NewLinear(ps, "fc.", 3, 2, true)
	lin.Init(rand.New(rand.NewPCG(1, 1)))
	opt := NewAdam(AdamOptions{})
	for i := range ps.Grads {
		ps.Grads[i] = 0.1
	}
	opt.Step(ps)
	pcg := rand.NewPCG(5, 6)
	rng := rand.New(pcg)
	rng.Uint64()
	st := &RunState{Step: 12, SinceBest: 2, BestStep: 8, Skipped: 1, Best: append([]float32(nil), ps.Values...),
		Metrics: map[string]float64{"val_loss": 1.25, "val_bleu": 33.5}, RNG: pcg,
		Tensors: []Tensor{{Name: "carry.h", Shape: []int{2}, Data: []float32{1, 2}}}}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	info := ModelInfo{Kind: "test", Config: []byte(`{"a":1}`), Meta: map[string]string{"trained_on": "x"}}
	require.NoError(t, SaveRun(path, info, ps, opt, st))

	gotInfo, params, got, optState, err := LoadRun(path, "test")
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
	opt2 := NewAdam(AdamOptions{})
	require.NoError(t, opt2.SetState(optState))
	require.Equal(t, opt.State(), opt2.State())

	// A plain model file is not a checkpoint.
	plain := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, SaveModel(plain, info, ps, F32))
	_, _, _, _, err = LoadRun(plain, "test")
	require.ErrorContains(t, err, "not a training checkpoint")
}
