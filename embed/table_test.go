package embed

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/diff/fd"

	"github.com/rnnkit/rnnkit/rnn"
)

func newTestTable(t *testing.T, vocab, dim, pad int) (*rnn.Params, *Table) {
	t.Helper()
	ps := rnn.NewParams()
	tab := NewTable(ps, "embedding.", vocab, dim, pad)
	tab.Init(rand.New(rand.NewPCG(1, 2)), InitNormal)
	return ps, tab
}

func TestTableShapeAndName(t *testing.T) {
	ps, tab := newTestTable(t, 7, 3, 0)
	p := ps.Get("embedding.weight")
	require.NotNil(t, p)
	assert.Equal(t, []int{7, 3}, p.Shape)
	assert.Equal(t, []float32{0, 0, 0}, tab.Row(0), "pad row zero after Init")
}

func TestTableInitSchemes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scheme InitScheme
		bound  float64 // max |w|, 0 = unbounded
	}{
		{"normal", InitNormal, 0},
		{"uniform", InitUniform, 0.05},
		{"xavier", InitXavier, 0.21}, // sqrt(6/(100+36)) = 0.21
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := rnn.NewParams()
			tab := NewTable(ps, "", 100, 36, 3)
			tab.Init(rand.New(rand.NewPCG(3, 4)), tc.scheme)
			var sum, sq float64
			for i, w := range tab.Weight.W {
				if i/36 == 3 {
					require.Zero(t, w, "pad row")
					continue
				}
				if tc.bound > 0 {
					require.LessOrEqual(t, abs(float64(w)), tc.bound)
				}
				sum += float64(w)
				sq += float64(w) * float64(w)
			}
			n := float64(99 * 36)
			assert.InDelta(t, 0, sum/n, 0.05)
			if tc.scheme == InitNormal {
				assert.InDelta(t, 1, sq/n, 0.1, "N(0,1) variance")
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestTableGradient checks Backward against finite differences of
// L = sum_i c_i . Forward(ids)_i, with repeated ids and the pad id.
func TestTableGradient(t *testing.T) {
	for _, pad := range []int{-1, 0, 2} {
		ps, tab := newTestTable(t, 6, 4, pad)
		ids := []int32{1, 3, 0, 3, 5, 2, 1}
		rng := rand.New(rand.NewPCG(5, 6))
		c := make([]float32, len(ids)*tab.Dim)
		for i := range c {
			c[i] = float32(rng.NormFloat64())
		}
		out := make([]float32, len(c))
		loss := func(w []float64) float64 {
			for i, v := range w {
				tab.Weight.W[i] = float32(v)
			}
			tab.Forward(out, ids)
			var s float64
			for i := range out {
				s += float64(c[i]) * float64(out[i])
			}
			return s
		}
		w0 := make([]float64, len(tab.Weight.W))
		for i, v := range tab.Weight.W {
			w0[i] = float64(v)
		}
		want := fd.Gradient(nil, loss, w0, &fd.Settings{Formula: fd.Central, Step: 1e-2})
		loss(w0)
		ps.ZeroGrad()
		tab.Backward(c, ids)
		for i, g := range tab.Weight.G {
			row := i / tab.Dim
			if row == pad {
				require.Zero(t, g, "pad %d: pad row gets no gradient", pad)
				continue
			}
			require.InDelta(t, want[i], float64(g), 1e-3, "pad %d: grad[%d]", pad, i)
		}
		// Backward accumulates.
		g1 := append([]float32(nil), tab.Weight.G...)
		tab.Backward(c, ids)
		for i := range g1 {
			require.InDelta(t, 2*g1[i], tab.Weight.G[i], 1e-5)
		}
	}
}

// TestTableBackwardSparse checks that rows not looked up are not touched.
func TestTableBackwardSparse(t *testing.T) {
	ps, tab := newTestTable(t, 5, 2, -1)
	for i := range ps.Grads {
		ps.Grads[i] = 7
	}
	tab.Backward([]float32{1, 2, 3, 4}, []int32{1, 1})
	assert.Equal(t, []float32{7, 7, 11, 13, 7, 7, 7, 7, 7, 7}, tab.Weight.G)
}

func TestTableForward(t *testing.T) {
	_, tab := newTestTable(t, 4, 3, 0)
	dst := make([]float32, 9)
	tab.Forward(dst, []int32{2, 0, 2})
	assert.Equal(t, tab.Row(2), dst[0:3])
	assert.Equal(t, []float32{0, 0, 0}, dst[3:6])
	assert.Equal(t, tab.Row(2), dst[6:9])
	assert.Zero(t, testing.AllocsPerRun(100, func() { tab.Forward(dst, []int32{2, 0, 2}) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { tab.Backward(dst, []int32{2, 0, 2}) }))
}

func TestTableOutOfRangePanics(t *testing.T) {
	_, tab := newTestTable(t, 4, 3, 0)
	dst := make([]float32, 6)
	assert.PanicsWithValue(t, `embed: token id 4 at position 1 out of range [0, 4) for table "embedding.weight"`,
		func() { tab.Forward(dst, []int32{1, 4}) })
	assert.Panics(t, func() { tab.Backward(dst, []int32{-1, 0}) })
	assert.Panics(t, func() { tab.Forward(dst[:5], []int32{1, 2}) }, "dst size")
}

func TestTableLoad(t *testing.T) {
	_, tab := newTestTable(t, 3, 2, 0)
	require.NoError(t, tab.Load([]float32{1, 2, 3, 4, 5, 6}))
	assert.Equal(t, []float32{0, 0, 3, 4, 5, 6}, tab.Weight.W, "pad row re-zeroed")
	require.ErrorContains(t, tab.Load([]float32{1, 2}), "needs 6")

	v := &Vectors{Words: []string{"cat", "dog"}, Dim: 2, Data: []float32{1, 1, 2, 2}}
	before := append([]float32(nil), tab.Weight.W...)
	found, oov, err := tab.LoadVectors(v, []string{"<pad>", "Dog", "emu"}, true)
	require.NoError(t, err)
	assert.Equal(t, 1, found)
	assert.Equal(t, []string{"<pad>", "emu"}, oov)
	assert.Equal(t, []float32{0, 0, 2, 2, before[4], before[5]}, tab.Weight.W, "OOV rows keep their init")
	_, _, err = tab.LoadVectors(&Vectors{Dim: 3}, []string{"a", "b", "c"}, false)
	require.ErrorContains(t, err, "dimension 3")
}
