package rnn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/diff/fd"
)

// fdCheckSlice compares the analytic gradient of f with respect to the
// float32 slice x against central finite differences computed by gonum's fd.
// f computes the loss (in float64) from the current contents of x; x is
// restored afterwards. An element passes when |a - n| ≤ tol·max(|a|, |n|) + atol.
func fdCheckSlice(t *testing.T, name string, x, analytic []float32, f func() float64, step, tol, atol float64) {
	t.Helper()
	require.Len(t, analytic, len(x), name)
	saved := append([]float32(nil), x...)
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	num := fd.Gradient(nil, func(v []float64) float64 {
		for i := range v {
			x[i] = float32(v[i])
		}
		r := f()
		copy(x, saved)
		return r
	}, x64, &fd.Settings{Formula: fd.Central, Step: step})
	for i := range num {
		a, n := float64(analytic[i]), num[i]
		if math.Abs(a-n) > tol*math.Max(math.Abs(a), math.Abs(n))+atol {
			t.Errorf("%s[%d]: analytic %.6g, finite differences %.6g", name, i, a, n)
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

func TestLinearNamesShapesInit(t *testing.T) {
	ps := NewParams()
	l := NewLinear(ps, "fc.", 9, 4, true)
	nb := NewLinear(ps, "head.", 4, 2, false)
	assert.Equal(t, []string{"fc.bias", "fc.weight", "head.weight"}, ps.Names())
	assert.Equal(t, []int{4, 9}, l.Weight.Shape)
	assert.Equal(t, []int{4}, l.Bias.Shape)
	assert.Nil(t, nb.Bias)
	assert.Equal(t, 4*9+4+2*4, ps.Len())

	l.Init(rand.New(rand.NewPCG(1, 2)))
	bound := float32(1 / math.Sqrt(9))
	nonzero := 0
	for _, v := range append(append([]float32(nil), l.Weight.W...), l.Bias.W...) {
		assert.LessOrEqual(t, float32(math.Abs(float64(v))), bound)
		if v != 0 {
			nonzero++
		}
	}
	assert.Equal(t, 4*9+4, nonzero)
}

func TestLinearForward(t *testing.T) {
	for _, bias := range []bool{true, false} {
		ps := NewParams()
		l := NewLinear(ps, "", 5, 3, bias)
		rng := rand.New(rand.NewPCG(3, 4))
		l.Init(rng)
		const n = 4
		x := make([]float32, n*5)
		fillNormal32(rng, x, 1)
		y := make([]float32, n*3)
		for i := range y {
			y[i] = float32(math.NaN()) // y is written, never read
		}
		l.Forward(y, x, n)
		for r := 0; r < n; r++ {
			for o := 0; o < 3; o++ {
				want := 0.0
				if bias {
					want = float64(l.Bias.W[o])
				}
				want += dot64(x[r*5:(r+1)*5], l.Weight.W[o*5:(o+1)*5])
				assert.InDelta(t, want, float64(y[r*3+o]), 1e-5, "bias=%v row %d out %d", bias, r, o)
			}
		}
	}
}

// TestPackedLinearMatchesLinear checks that the packed snapshot gives the
// layer's output bit for bit, and keeps the old weights after they change.
func TestPackedLinearMatchesLinear(t *testing.T) {
	for _, bias := range []bool{true, false} {
		ps := NewParams()
		l := NewLinear(ps, "", 300, 70, bias)
		rng := rand.New(rand.NewPCG(5, 6))
		l.Init(rng)
		p := l.Packed()
		for _, n := range []int{2, 5, 64} {
			x := make([]float32, n*300)
			fillNormal32(rng, x, 1)
			want, got := make([]float32, n*70), make([]float32, n*70)
			l.Forward(want, x, n)
			p.Forward(got, x, n)
			require.Equal(t, want, got, "bias=%v n=%d", bias, n)
		}
		x := make([]float32, 2*300)
		fillNormal32(rng, x, 1)
		before := make([]float32, 2*70)
		p.Forward(before, x, 2)
		l.Weight.W[0] += 1
		after := make([]float32, 2*70)
		p.Forward(after, x, 2)
		assert.Equal(t, before, after, "the snapshot must not see later weight changes")
		assert.Panics(t, func() { p.Forward(after, x, 3) })
	}
}

// TestLinearGradients checks dx, dW and db against finite differences of
// L = Σ y ⊙ r for a fixed random r, and that dW, db accumulate.
func TestLinearGradients(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		bias    bool
		dxIsNil bool
	}{
		{"bias", 3, true, false},
		{"no bias", 2, false, false},
		{"single row", 1, true, false},
		{"no dx", 3, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const in, out = 4, 3
			ps := NewParams()
			l := NewLinear(ps, "lin.", in, out, tc.bias)
			rng := rand.New(rand.NewPCG(5, 6))
			l.Init(rng)
			x := make([]float32, tc.n*in)
			r := make([]float32, tc.n*out)
			fillNormal32(rng, x, 1)
			fillNormal32(rng, r, 1)
			y := make([]float32, tc.n*out)
			loss := func() float64 {
				l.Forward(y, x, tc.n)
				return dot64(y, r)
			}

			// Accumulation: start the gradients from a known offset.
			for i := range ps.Grads {
				ps.Grads[i] = 0.25
			}
			var dx []float32
			if !tc.dxIsNil {
				dx = make([]float32, tc.n*in)
				for i := range dx {
					dx[i] = 7 // must be overwritten
				}
			}
			l.Backward(dx, r, x, tc.n)
			dW := make([]float32, len(l.Weight.G))
			for i, g := range l.Weight.G {
				dW[i] = g - 0.25
			}
			// L is linear in each argument, so a large step is exact up to rounding.
			fdCheckSlice(t, "dW", l.Weight.W, dW, loss, 1e-2, 1e-3, 1e-4)
			if tc.bias {
				db := make([]float32, out)
				for i, g := range l.Bias.G {
					db[i] = g - 0.25
				}
				fdCheckSlice(t, "db", l.Bias.W, db, loss, 1e-2, 1e-3, 1e-4)
			}
			if dx != nil {
				fdCheckSlice(t, "dx", x, dx, loss, 1e-2, 1e-3, 1e-4)
			}
		})
	}
}

func TestLinearPanicsOnShortBuffers(t *testing.T) {
	l := NewLinear(NewParams(), "", 3, 2, true)
	assert.Panics(t, func() { l.Forward(make([]float32, 3), make([]float32, 6), 2) })
	assert.Panics(t, func() { l.Backward(make([]float32, 5), make([]float32, 4), make([]float32, 6), 2) })
	assert.Panics(t, func() { NewLinear(NewParams(), "", 0, 2, true) })
}

func TestLinearNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	ps := NewParams()
	l := NewLinear(ps, "", 16, 8, true)
	l.Init(rand.New(rand.NewPCG(1, 1)))
	x := make([]float32, 4*16)
	y := make([]float32, 4*8)
	dx := make([]float32, 4*16)
	allocs := testing.AllocsPerRun(10, func() {
		l.Forward(y, x, 4)
		l.Backward(dx, y, x, 4)
	})
	assert.Zero(t, allocs)
}
