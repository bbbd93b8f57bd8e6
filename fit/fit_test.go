package fit

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
)

// toy is a run that fits two weights to a target with noisy gradients
// drawn from its RNG, and carries a counter between steps as
// application state. badAt makes that step's loss NaN.
type toy struct {
	ps     *rnn.Params
	w      *rnn.Param
	pcg    *rand.PCG
	rng    *rand.Rand
	carry  []float32
	target float32
	badAt  map[int]bool
	saved  int // calls of Save
}

func newToy(seed uint64) *toy {
	ps := rnn.NewParams()
	t := &toy{ps: ps, w: ps.Add("w", 2), pcg: rand.NewPCG(seed, 7), carry: make([]float32, 1), target: 3}
	t.rng = rand.New(t.pcg)
	return t
}

func (t *toy) run() *Run {
	return &Run{
		Name: "toy", Params: t.ps, RNG: t.pcg,
		Steps: 60, StepsPerEpoch: 10, EvalEvery: 5,
		Metrics: Metrics{"val_loss": math.Inf(1)},
		Better:  func(val, best Metrics) bool { return val["val_loss"] < best["val_loss"] },
		Step: func(step int) (float64, int) {
			if t.badAt[step] {
				return math.NaN(), 1
			}
			t.ps.ZeroGrad()
			var loss float64
			for i, w := range t.w.W {
				d := w - t.target
				loss += float64(d * d)
				t.w.G[i] = 2*d + float32(t.rng.NormFloat64())
			}
			return loss, 1
		},
		AfterUpdate: func(int) { t.carry[0]++ },
		Evaluate: func(context.Context) (Metrics, error) {
			var loss float64
			for _, w := range t.w.W {
				loss += float64((w - t.target) * (w - t.target))
			}
			return Metrics{"val_loss": loss}, nil
		},
		Save: func(string, rnn.DType) error { t.saved++; return nil },
		Checkpoint: func(path string, optim optim.Optimizer, st *rnn.RunState) error {
			return rnn.SaveRun(path, rnn.ModelInfo{Kind: "toy", Config: json.RawMessage(`{}`)}, t.ps, optim.State(), st)
		},
		SaveState: func(st *rnn.RunState) {
			st.Tensors = []rnn.Tensor{{Name: "carry", Shape: []int{1}, Data: t.carry}}
		},
		Restore: func(st *rnn.RunState) error {
			c := st.Tensor("carry")
			if len(c) != 1 {
				return ErrOtherRun
			}
			t.carry[0] = c[0]
			return nil
		},
	}
}

func toyOptions() Options {
	o := DefaultOptions()
	o.LR, o.Warmup = 0.3, 5
	return o
}

func TestTrainKeepsBestAndReports(t *testing.T) {
	tt := newToy(1)
	var reports []Progress
	res, err := Train(context.Background(), tt.run(), nil, toyOptions(), func(p Progress) { reports = append(reports, p) })
	require.NoError(t, err)
	assert.Equal(t, "done", res.Stopped)
	assert.Equal(t, 60, res.Steps)
	require.Len(t, reports, 60)
	assert.Len(t, res.History, 12, "one point per evaluation")
	assert.Equal(t, 5, res.History[0].Step)
	assert.Contains(t, res.History[0].Values, "loss")
	assert.Less(t, res.Best["val_loss"], 1.0, "the toy converges")
	assert.Equal(t, float32(60), tt.carry[0], "AfterUpdate ran once per step")
	// The model holds the best weights, not the last ones.
	ev, _ := tt.run().Evaluate(context.Background())
	assert.Equal(t, res.Best["val_loss"], ev["val_loss"])
	assert.True(t, math.IsNaN(reports[0].Value("val_loss")), "no evaluation before step 5")
	assert.True(t, reports[4].Evaluated)
}

// TestZeroMeansZero: Warmup 0 starts at the full rate, Clip 0 does not
// clip, and Seed 0 is a seed.
func TestZeroMeansZero(t *testing.T) {
	o := toyOptions()
	o.Warmup = 0
	var first float64
	_, err := Train(context.Background(), newToy(1).run(), nil, o, func(p Progress) {
		if p.Step == 1 {
			first = p.LR
		}
	})
	require.NoError(t, err)
	assert.Equal(t, o.LR, first)

	o = toyOptions()
	o.Clip, o.Epochs = 0, 1
	tt := newToy(1)
	tt.w.W[0] = 1000 // a gradient of norm 2000, left unclipped
	r := tt.run()
	r.Steps = 1
	_, err = Train(context.Background(), r, nil, o, nil)
	require.NoError(t, err)
	assert.Greater(t, tt.ps.GradNorm(), 1000.0)
	o.Clip = 5
	tt.w.W[0] = 1000
	_, err = Train(context.Background(), r, nil, o, nil)
	require.NoError(t, err)
	assert.InDelta(t, 5, tt.ps.GradNorm(), 1e-3, "clipped")
	assert.Error(t, Options{Epochs: 1, LR: 1, Warmup: -1}.Validate())
	assert.Error(t, Options{LR: 1}.Validate(), "zero epochs")

	var d Options
	d.Default(3, 0.1)
	assert.Equal(t, 3.0, d.Epochs)
	assert.Equal(t, 0.1, d.LR)
	d.Epochs = 7
	d.Default(3, 0.2)
	assert.Equal(t, 7.0, d.Epochs, "a set value stays")
}

// TestNonFinite: a NaN step stops the run with rnn.ErrNonFinite, the best
// weights restored, unless skipped.
func TestNonFinite(t *testing.T) {
	tt := newToy(1)
	tt.badAt = map[int]bool{23: true}
	res, err := Train(context.Background(), tt.run(), nil, toyOptions(), nil)
	require.ErrorIs(t, err, rnn.ErrNonFinite)
	assert.Contains(t, err.Error(), "toy step 23")
	assert.Equal(t, 23, res.Steps)
	assert.Positive(t, res.BestStep)
	assert.LessOrEqual(t, res.BestStep, 20)
	ev, _ := tt.run().Evaluate(context.Background())
	assert.Equal(t, res.Best["val_loss"], ev["val_loss"], "the best weights are restored on the error exit too")

	tt = newToy(1)
	tt.badAt = map[int]bool{23: true, 40: true}
	o := toyOptions()
	o.SkipNonFinite = true
	skipped := 0
	r := tt.run()
	r.Skipped = func(int) { skipped++ }
	res, err = Train(context.Background(), r, nil, o, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Skipped)
	assert.Equal(t, 2, skipped)
	assert.Equal(t, 60, res.Steps)
}

func TestEarlyStopping(t *testing.T) {
	tt := newToy(1)
	o := toyOptions()
	o.Patience = 2
	r := tt.run()
	r.Better = func(val, best Metrics) bool { return math.IsInf(best["val_loss"], 1) } // only the first evaluation is best
	res, err := Train(context.Background(), r, nil, o, nil)
	require.NoError(t, err)
	assert.Equal(t, "early stopping", res.Stopped)
	assert.Equal(t, 15, res.Steps, "best at 5, no better at 10 and 15")
	assert.Equal(t, 5, res.BestStep)
}

// TestResumeIsExact interrupts a run, resumes it from its checkpoint and
// gets the weights, carried state and history of the uninterrupted run.
func TestResumeIsExact(t *testing.T) {
	o := toyOptions()
	full := newToy(3)
	want, err := Train(context.Background(), full.run(), nil, o, nil)
	require.NoError(t, err)

	ck := filepath.Join(t.TempDir(), "toy.ckpt")
	o.CheckpointPath = ck
	ctx, cancel := context.WithCancel(context.Background())
	part := newToy(3)
	_, err = Train(ctx, part.run(), nil, o, func(p Progress) {
		if p.Step == 27 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)

	again := newToy(99) // another seed: everything comes from the checkpoint
	info, params, ckpt, err := Load(ck, "toy")
	require.NoError(t, err)
	assert.Equal(t, "toy", info.Kind)
	copy(again.w.W, params[0].Data)
	got, err := Train(context.Background(), again.run(), ckpt, o, nil)
	require.NoError(t, err)
	assert.Equal(t, full.ps.Values, again.ps.Values)
	assert.Equal(t, full.carry, again.carry)
	assert.Equal(t, want.Steps, got.Steps)
	assert.Equal(t, want.BestStep, got.BestStep)
	assert.Equal(t, len(want.History), len(got.History))

	// A checkpoint of another model size is refused.
	ps := rnn.NewParams()
	ps.Add("w", 3)
	r := newToy(1).run()
	r.Params = ps
	_, err = Train(context.Background(), r, ckpt, o, nil)
	assert.ErrorIs(t, err, ErrOtherRun)
}
