package rnn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
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
