package rnn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDropoutIdentity(t *testing.T) {
	x := []float32{1, -2, 3}
	for _, tc := range []struct {
		name  string
		p     float32
		train bool
	}{{"p=0", 0, true}, {"eval", 0.5, false}} {
		t.Run(tc.name, func(t *testing.T) {
			var d Dropout
			y := make([]float32, 3)
			d.Forward(y, x, tc.p, nil, tc.train) // rng unused
			assert.Equal(t, x, y)
			assert.Nil(t, d.Mask())
			dx := make([]float32, 3)
			d.Backward(dx, []float32{4, 5, 6})
			assert.Equal(t, []float32{4, 5, 6}, dx)
		})
	}
}

func TestDropoutTrain(t *testing.T) {
	const n, p = 20000, 0.3
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	var d Dropout
	y := make([]float32, n)
	d.Forward(y, x, p, rand.New(rand.NewPCG(1, 2)), true)
	dropped := 0
	var sum float64
	for i, v := range y {
		switch v {
		case 0:
			dropped++
		default:
			assert.InDelta(t, 1/(1-p), v, 1e-6, "survivor %d", i)
		}
		sum += float64(v)
	}
	assert.InDelta(t, p, float64(dropped)/n, 0.015)
	assert.InDelta(t, 1, sum/n, 0.02) // inverted dropout keeps the mean

	// All dropped for p = 1, as torch.
	d.Forward(y, x, 1, rand.New(rand.NewPCG(1, 2)), true)
	assert.Equal(t, make([]float32, n), y)
	assert.Panics(t, func() { d.Forward(y, x, 1.5, rand.New(rand.NewPCG(1, 2)), true) })
}

// TestDropoutGradient checks Backward against finite differences of
// L = Σ r ⊙ dropout(x) with the mask fixed by reseeding the generator.
func TestDropoutGradient(t *testing.T) {
	const n = 12
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n)
	r := make([]float32, n)
	fillNormal32(rng, x, 1)
	fillNormal32(rng, r, 1)
	var d Dropout
	y := make([]float32, n)
	loss := func() float64 {
		d.Forward(y, x, 0.4, rand.New(rand.NewPCG(5, 6)), true)
		return dot64(y, r)
	}
	loss()
	dx := make([]float32, n)
	d.Backward(dx, r)
	fdCheckSlice(t, "dx", x, dx, loss, 1e-2, 1e-3, 1e-5)

	// In place: dst = x and dx = dy.
	loss()
	xy := append([]float32(nil), x...)
	d.Forward(xy, xy, 0.4, rand.New(rand.NewPCG(5, 6)), true)
	assert.Equal(t, y, xy)
	g := append([]float32(nil), r...)
	d.Backward(g, g)
	assert.Equal(t, dx, g)
}

func TestDropoutNoAllocs(t *testing.T) {
	var d Dropout
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 256)
	y := make([]float32, 256)
	d.Forward(y, x, 0.2, rng, true)
	assert.Zero(t, testing.AllocsPerRun(10, func() {
		d.Forward(y, x, 0.2, rng, true)
		d.Backward(x, y)
	}))
}

// TestWeightDropGradient checks the gradient through a weight-dropped LSTM
// against central finite differences of the same dropped loss (the mask is
// drawn from the same seed for every evaluation), and that Restore puts the
// weights back exactly.
func TestWeightDropGradient(t *testing.T) {
	const T, B, In, H = 3, 2, 3, 4
	const p = 0.4
	init := rand.New(rand.NewPCG(3, 4))
	ps := NewParams()
	l := NewLayer(ps, "rnn.", Config{Cell: LSTM, InputSize: In, HiddenSize: H, NumLayers: 2})
	l.Init(init)
	x := randomProbe(init, T*B*In)
	ry := randomProbe(init, T*B*H)
	whh := l.RecurrentWeights()
	require.Len(t, whh, 2)
	before := append([]float32(nil), ps.Values...)

	var wd WeightDrop
	loss := func(grad bool) float64 {
		wd.Drop(whh, p, rand.New(rand.NewPCG(7, 8)))
		s := l.NewSeq()
		y := s.Forward(x, T, B, nil, nil, true, nil)
		var L float64
		for i, v := range y {
			L += float64(v * ry[i])
		}
		if grad {
			ps.ZeroGrad()
			s.Backward(ry, nil)
		}
		wd.Restore(whh)
		return L
	}
	loss(true)
	require.Equal(t, before, ps.Values, "Restore must put every weight back")
	var grads [][]float32 // Restore rescales G, so keep the analytic gradient apart
	for _, q := range whh {
		grads = append(grads, append([]float32(nil), q.G...))
	}
	zeros := 0
	for k, q := range whh {
		for i := range q.W {
			analytic := float64(grads[k][i])
			w0 := q.W[i]
			const h = 1e-2
			q.W[i] = w0 + h
			up := loss(false)
			q.W[i] = w0 - h
			down := loss(false)
			q.W[i] = w0
			numeric := (up - down) / (2 * h)
			assert.InDelta(t, numeric, analytic, 2e-3+2e-3*math.Abs(numeric), "%s[%d]", q.Name, i)
			if analytic == 0 {
				zeros++
			}
		}
	}
	// About p of the recurrent weights are dropped, and their gradient is 0.
	n := 2 * 4 * H * H
	assert.InDelta(t, p, float64(zeros)/float64(n), 0.15, "fraction of dropped weights")
	wd.Restore(whh) // a Restore without a Drop does nothing
	require.Equal(t, before, ps.Values)
}
