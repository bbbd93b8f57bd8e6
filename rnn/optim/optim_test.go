package optim

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

// optimCases are the optimizers under test, each with settings that fit the
// least-squares problem of fitProblem in a few hundred steps.
var optimCases = []struct {
	name string
	make func() Optimizer
}{
	{"SGD", func() Optimizer { return NewSGD(SGDOptions{LR: 0.1}) }},
	{"SGD momentum", func() Optimizer { return NewSGD(SGDOptions{LR: 0.05, Momentum: 0.9}) }},
	{"SGD nesterov", func() Optimizer {
		return NewSGD(SGDOptions{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-5})
	}},
	{"Adam", func() Optimizer { return NewAdam(AdamOptions{LR: 0.05}) }},
	{"Adam L2", func() Optimizer { return NewAdam(AdamOptions{LR: 0.05, WeightDecay: 1e-5}) }},
	{"AdamW", func() Optimizer { return NewAdamW(AdamOptions{LR: 0.05, WeightDecay: 1e-4}) }},
	{"RMSprop", func() Optimizer { return NewRMSprop(RMSpropOptions{LR: 0.01}) }},
	{"RMSprop centered momentum", func() Optimizer {
		return NewRMSprop(RMSpropOptions{LR: 0.005, Momentum: 0.5, Centered: true})
	}},
	{"Adagrad", func() Optimizer { return NewAdagrad(AdagradOptions{LR: 0.5}) }},
}

// oneStep runs opt for len(grads) steps on a fresh parameter vector θ0 with
// the given gradients and returns the final values.
func oneStep(opt Optimizer, theta0 []float32, grads ...[]float32) []float32 {
	ps := rnn.NewParams()
	p := ps.Add("p", len(theta0))
	copy(p.W, theta0)
	for _, g := range grads {
		copy(p.G, g)
		opt.Step(ps)
	}
	return p.W
}

// TestOptimizerStepByHand checks single updates against values worked out by
// hand from torch's update rules, with θ0 = [1, -2, 0.5, 0] and
// g = [0.1, -0.3, 2, 0].
func TestOptimizerStepByHand(t *testing.T) {
	theta := []float32{1, -2, 0.5, 0}
	g := []float32{0.1, -0.3, 2, 0}
	g1 := []float64{0.1 + 0.01*1, -0.3 + 0.01*-2, 2 + 0.01*0.5, 0} // g + λθ0, λ = 0.01
	for _, tc := range []struct {
		name  string
		opt   Optimizer
		steps int
		want  []float64
	}{
		// θ - lr·g
		{"SGD", NewSGD(SGDOptions{LR: 0.1}), 1, []float64{0.99, -1.97, 0.3, 0}},
		// step 1: b = g1, θ1 = θ0 - 0.1·g1 = [0.989, -1.968, 0.2995, 0];
		// step 2: g2 = g + 0.01·θ1 = [0.10989, -0.31968, 2.002995, 0], b = 0.9·g1 + g2
		//   = [0.20889, -0.60768, 3.807495, 0], θ2 = θ1 - 0.1·b = [0.968111, -1.907232, -0.0812495, 0]
		{"SGD momentum + weight decay", NewSGD(SGDOptions{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01}), 2,
			[]float64{0.968111, -1.907232, -0.0812495, 0}},
		// Nesterov first step: θ - lr·(g1 + 0.9·g1) = θ - 0.19·g1
		{"SGD nesterov", NewSGD(SGDOptions{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01}), 1,
			[]float64{1 - 0.19*g1[0], -2 - 0.19*g1[1], 0.5 - 0.19*g1[2], 0}},
		// Adam: m̂ = g, v̂ = g² on every step of a constant gradient, so θ moves by lr·sign(g).
		{"Adam", NewAdam(AdamOptions{LR: 0.01}), 1, []float64{0.99, -1.99, 0.49, 0}},
		{"Adam 3 steps", NewAdam(AdamOptions{LR: 0.01}), 3, []float64{0.97, -1.97, 0.47, 0}},
		// L2 decay is added to g and does not change the signs here.
		{"Adam weight decay", NewAdam(AdamOptions{LR: 0.01, WeightDecay: 0.1}), 1, []float64{0.99, -1.99, 0.49, 0}},
		// AdamW: θ·(1 - 0.01·0.1) - 0.01·sign(g)
		{"AdamW", NewAdamW(AdamOptions{LR: 0.01, WeightDecay: 0.1}), 1, []float64{0.989, -1.988, 0.4895, 0}},
		{"AdamW default decay 1e-2", NewAdamW(AdamOptions{LR: 0.01}), 1,
			[]float64{0.9999 - 0.01, -1.9998 + 0.01, 0.49995 - 0.01, 0}},
		{"AdamW no decay", NewAdamW(AdamOptions{LR: 0.01, WeightDecay: -1}), 1, []float64{0.99, -1.99, 0.49, 0}},
		// RMSprop: s = 0.01·g², √s = 0.1·|g|, so θ moves by lr/0.1 = 0.1 per unit sign(g).
		{"RMSprop", NewRMSprop(RMSpropOptions{LR: 0.01}), 1, []float64{0.9, -1.9, 0.4, 0}},
		{"RMSprop momentum", NewRMSprop(RMSpropOptions{LR: 0.01, Momentum: 0.5}), 1, []float64{0.9, -1.9, 0.4, 0}},
		// centered: s - ḡ² = 0.01g² - 0.0001g² = 0.0099g², step 0.01/√0.0099 = 0.10050378
		{"RMSprop centered", NewRMSprop(RMSpropOptions{LR: 0.01, Centered: true}), 1,
			[]float64{1 - 0.10050378, -2 + 0.10050378, 0.5 - 0.10050378, 0}},
		// Adagrad: s = g², step lr·sign(g); second step s = 2g², step lr/√2.
		{"Adagrad", NewAdagrad(AdagradOptions{LR: 0.1}), 1, []float64{0.9, -1.9, 0.4, 0}},
		{"Adagrad 2 steps", NewAdagrad(AdagradOptions{LR: 0.1}), 2,
			[]float64{0.9 - 0.1/math.Sqrt2, -1.9 + 0.1/math.Sqrt2, 0.4 - 0.1/math.Sqrt2, 0}},
		// lr decay 0.5: the second step uses 0.1/(1 + 0.5) = 0.0666667.
		{"Adagrad lr decay", NewAdagrad(AdagradOptions{LR: 0.1, LRDecay: 0.5}), 2,
			[]float64{0.9 - 0.1/1.5/math.Sqrt2, -1.9 + 0.1/1.5/math.Sqrt2, 0.4 - 0.1/1.5/math.Sqrt2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grads := make([][]float32, tc.steps)
			for i := range grads {
				grads[i] = g
			}
			got := oneStep(tc.opt, theta, grads...)
			for i := range got {
				assert.InDelta(t, tc.want[i], float64(got[i]), 2e-6, "θ[%d]", i)
			}
		})
	}
}

func TestOptimizerDefaults(t *testing.T) {
	assert.Equal(t, 1e-3, NewAdam(AdamOptions{}).LR())
	assert.Equal(t, 1e-3, NewAdamW(AdamOptions{}).LR())
	assert.Equal(t, 1e-3, NewSGD(SGDOptions{}).LR())
	assert.Equal(t, 1e-2, NewRMSprop(RMSpropOptions{}).LR())
	assert.Equal(t, 1e-2, NewAdagrad(AdagradOptions{}).LR())
	a := NewAdam(AdamOptions{})
	assert.Equal(t, [5]float64{1e-3, 0.9, 0.999, 1e-8, 0}, [5]float64{a.lr, a.beta1, a.beta2, a.eps, a.wd})
	assert.Equal(t, 1e-2, NewAdamW(AdamOptions{}).wd)
	r := NewRMSprop(RMSpropOptions{})
	assert.Equal(t, [2]float64{0.99, 1e-8}, [2]float64{r.alpha, r.eps})
	assert.Equal(t, 1e-10, NewAdagrad(AdagradOptions{}).eps)

	o := NewSGD(SGDOptions{LR: 0.5})
	o.SetLR(0.25)
	assert.Equal(t, 0.25, o.LR())
	assert.Panics(t, func() { NewSGD(SGDOptions{Nesterov: true}) })
	assert.Panics(t, func() { NewAdam(AdamOptions{LR: -1}) })
	assert.Panics(t, func() { NewAdam(AdamOptions{Beta1: 1}) })
}

// fitProblem is least squares with a rnn.Linear(3→2): X (32, 3) random, Y = X·Wᵀ + b
// for a fixed W, b. Its loss function writes the gradient into ps.Grads.
type fitProblem struct {
	ps    *rnn.Params
	lin   *rnn.Linear
	x, y  []float32
	pred  []float32
	dpred []float32
	n     int
}

func newFitProblem(seed uint64) *fitProblem {
	const n, in, out = 32, 3, 2
	rng := rand.New(rand.NewPCG(seed, 99))
	f := &fitProblem{ps: rnn.NewParams(), n: n}
	f.lin = rnn.NewLinear(f.ps, "fc.", in, out, true)
	f.lin.Init(rng)
	f.x = make([]float32, n*in)
	fillNormal32(rng, f.x, 1)
	wTrue := []float32{1.5, -2, 0.5, 0.3, 1, -1}
	bTrue := []float32{0.7, -0.4}
	f.y = make([]float32, n*out)
	for r := 0; r < n; r++ {
		for o := 0; o < out; o++ {
			f.y[r*out+o] = bTrue[o] + float32(dot64(f.x[r*in:(r+1)*in], wTrue[o*in:(o+1)*in]))
		}
	}
	f.pred = make([]float32, n*out)
	f.dpred = make([]float32, n*out)
	return f
}

// lossAndGrad zeroes the gradients, then computes the loss and its gradient.
func (f *fitProblem) lossAndGrad() float64 {
	f.ps.ZeroGrad()
	f.lin.Forward(f.pred, f.x, f.n)
	loss := rnn.MSE(f.dpred, f.pred, f.y)
	f.lin.Backward(nil, f.dpred, f.x, f.n)
	return loss
}

func TestOptimizersFitLeastSquares(t *testing.T) {
	for _, tc := range optimCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFitProblem(1)
			opt := tc.make()
			first := f.lossAndGrad()
			var loss float64
			for step := 0; step < 400; step++ {
				loss = f.lossAndGrad()
				opt.Step(f.ps)
			}
			loss = f.lossAndGrad()
			t.Logf("loss %.4g → %.4g", first, loss)
			assert.Greater(t, first, 0.5)
			assert.Less(t, loss, 1e-3, "loss %.4g → %.4g", first, loss)
		})
	}
}

func TestOptimizersMinimizeQuadratic(t *testing.T) {
	// f(θ) = Σ cᵢ(θᵢ - tᵢ)²/2 with an ill-conditioned diagonal.
	c := []float32{0.5, 1, 2, 4}
	target := []float32{1, -2, 3, 0.5}
	for _, tc := range optimCases {
		t.Run(tc.name, func(t *testing.T) {
			ps := rnn.NewParams()
			p := ps.Add("theta", 4)
			opt := tc.make()
			for step := 0; step < 500; step++ {
				for i := range p.W {
					p.G[i] = c[i] * (p.W[i] - target[i])
				}
				opt.Step(ps)
			}
			assert.InDeltaSlice(t, target, p.W, 0.05)
		})
	}
}

// TestOptimizerStateResume runs two copies of the same training; the second is
// rebuilt from a checkpoint (values and optimizer state written to and read
// back from safetensors) half way through. Both must end bit-identical.
func TestOptimizerStateResume(t *testing.T) {
	for _, tc := range optimCases {
		t.Run(tc.name, func(t *testing.T) {
			a := newFitProblem(2)
			optA := tc.make()
			for step := 0; step < 7; step++ {
				a.lossAndGrad()
				optA.Step(a.ps)
			}

			// Checkpoint A through the model-file format.
			ts := append(optA.State(), rnn.Tensor{Name: "values", Shape: []int{a.ps.Len()}, Data: a.ps.Values})
			var buf bytes.Buffer
			require.NoError(t, rnn.WriteSafetensors(&buf, ts, nil, rnn.F32))
			back, _, err := rnn.ReadSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			require.NoError(t, err)

			b := newFitProblem(2)
			optB := tc.make()
			for _, tn := range back {
				if tn.Name == "values" {
					copy(b.ps.Values, tn.Data)
				}
			}
			require.NoError(t, optB.SetState(back)) // ignores "values"

			for step := 0; step < 9; step++ {
				a.lossAndGrad()
				optA.Step(a.ps)
				b.lossAndGrad()
				optB.Step(b.ps)
			}
			require.Equal(t, a.ps.Values, b.ps.Values)
			assert.Equal(t, optA.State(), optB.State())
		})
	}
}

func TestOptimizerStateNames(t *testing.T) {
	names := func(o Optimizer) []string {
		ps := rnn.NewParams()
		ps.Add("w", 3)
		o.Step(ps)
		var out []string
		for _, tn := range o.State() {
			out = append(out, tn.Name)
			assert.Equal(t, []int{len(tn.Data)}, tn.Shape, tn.Name)
		}
		return out
	}
	assert.Equal(t, []string{"optim.step"}, names(NewSGD(SGDOptions{})))
	assert.Equal(t, []string{"optim.step", "optim.momentum_buffer"}, names(NewSGD(SGDOptions{Momentum: 0.9})))
	assert.Equal(t, []string{"optim.step", "optim.exp_avg", "optim.exp_avg_sq"}, names(NewAdam(AdamOptions{})))
	assert.Equal(t, []string{"optim.step", "optim.square_avg", "optim.momentum_buffer", "optim.grad_avg"},
		names(NewRMSprop(RMSpropOptions{Momentum: 0.9, Centered: true})))
	assert.Equal(t, []string{"optim.step", "optim.sum"}, names(NewAdagrad(AdagradOptions{})))

	// An optimizer that never stepped has only its step count.
	fresh := NewAdam(AdamOptions{})
	st := fresh.State()
	require.Len(t, st, 1)
	assert.Equal(t, []float32{0, 0}, st[0].Data)
	other := NewAdam(AdamOptions{})
	require.NoError(t, other.SetState(st))
}

func TestOptimizerStepCountIsExact(t *testing.T) {
	ps := rnn.NewParams()
	ps.Add("w", 2)
	o := NewAdam(AdamOptions{})
	o.Step(ps)
	st := o.State()
	const big = 1<<24*3 + 5 // beyond float32's exact integers
	st[0].Data = []float32{5, 3}
	require.NoError(t, o.SetState(st))
	o.Step(ps)
	assert.Equal(t, int64(big+1), o.st.step)
	assert.Equal(t, []float32{6, 3}, o.State()[0].Data)
}

func TestOptimizerSetStateErrors(t *testing.T) {
	ps := rnn.NewParams()
	ps.Add("w", 3)
	adam := NewAdam(AdamOptions{})
	adam.Step(ps)
	sgd := NewSGD(SGDOptions{Momentum: 0.9})
	sgd.Step(ps)

	assert.ErrorContains(t, NewAdam(AdamOptions{}).SetState(sgd.State()), "another optimizer")
	assert.ErrorContains(t, NewSGD(SGDOptions{Momentum: 0.9}).SetState(adam.State()), "another optimizer")
	assert.ErrorContains(t, NewAdam(AdamOptions{}).SetState(adam.State()[1:]), "missing optim.step")
	assert.ErrorContains(t, NewAdam(AdamOptions{}).SetState(adam.State()[:2]), "missing optim.exp_avg_sq")

	st := adam.State()
	st[2].Data, st[2].Shape = st[2].Data[:2], []int{2}
	assert.ErrorContains(t, NewAdam(AdamOptions{}).SetState(st), "has 2 values")
	st = adam.State()
	st[0].Data = []float32{1.5, 0}
	assert.ErrorContains(t, NewAdam(AdamOptions{}).SetState(st), "not a step count")

	// A failed SetState leaves a usable optimizer, and restoring the state of
	// another parameter set is caught at the next Step.
	restored := NewAdam(AdamOptions{})
	require.NoError(t, restored.SetState(adam.State()))
	big := rnn.NewParams()
	big.Add("w", 4)
	assert.Panics(t, func() { restored.Step(big) })
}

func TestOptimizerStepNoAllocs(t *testing.T) {
	for _, tc := range optimCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFitProblem(3)
			opt := tc.make()
			f.lossAndGrad()
			opt.Step(f.ps) // sizes the state
			assert.Zero(t, testing.AllocsPerRun(20, func() { opt.Step(f.ps) }))
		})
	}
}

func BenchmarkAdamStep(b *testing.B) {
	ps := rnn.NewParams()
	ps.Add("w", 1<<20)
	for i := range ps.Grads {
		ps.Grads[i] = float32(i%7) - 3
	}
	opt := NewAdam(AdamOptions{})
	b.ReportAllocs()
	b.SetBytes(int64(4 * ps.Len()))
	for b.Loop() {
		opt.Step(ps)
	}
}

// TestAdamVectorMatchesGo checks that the vector Adam update gives the Go
// loop's bits, for Adam with L2 decay and AdamW.
func TestAdamVectorMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const n = 1003
	for _, decoupled := range []bool{false, true} {
		bufs := make([][]float32, 8)
		for i := range bufs {
			bufs[i] = make([]float32, n)
		}
		for i := 0; i < n; i++ {
			bufs[0][i] = float32(rng.NormFloat64())       // p
			bufs[1][i] = float32(rng.NormFloat64() * 0.1) // g
			bufs[2][i] = float32(rng.NormFloat64() * 0.01)
			bufs[3][i] = float32(rng.Float64() * 0.01)
		}
		for i := 0; i < 4; i++ {
			copy(bufs[4+i], bufs[i])
		}
		mk := func(p, g, m, v []float32) *adamUpdate {
			return &adamUpdate{p: p, g: g, m: m, v: v, b1: 0.9, b2: 0.999, c1: 0.1, c2: 0.001,
				stepSize: 1e-3 / 0.1, bc2Sqrt: 0.0316, eps: 1e-8, l2: 0.01, decay: 0.99999, decoupled: decoupled}
		}
		mk(bufs[0], bufs[1], bufs[2], bufs[3]).Range(0, n)
		mk(bufs[4], bufs[5], bufs[6], bufs[7]).rangeGo(0, n)
		for i := 0; i < 4; i++ {
			require.Equal(t, bufs[4+i], bufs[i], "decoupled=%v, buffer %d", decoupled, i)
		}
	}
}

// fillNormal32 fills xs with N(0, scale²) draws.
func fillNormal32(rng *rand.Rand, xs []float32, scale float64) {
	for i := range xs {
		xs[i] = float32(rng.NormFloat64() * scale)
	}
}

// dot64 is Σ a·b in float64.
func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
