package rnn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/diff/fd"
)

// TestAttentionGradients checks every attention kind's backward pass (query,
// keys and weights) against central finite differences of a random linear
// probe of the contexts of two steps sharing one memory, with and without
// ragged key lengths.
func TestAttentionGradients(t *testing.T) {
	const S, B, Q, K = 4, 3, 5, 6
	for _, kind := range []AttentionKind{Additive, Dot, General} {
		for _, ragged := range []bool{false, true} {
			name := kind.String()
			if ragged {
				name += "/ragged"
			}
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(11, uint64(kind)))
				q := Q
				if kind == Dot {
					q = K
				}
				ps := NewParams()
				a := NewAttention(ps, "attn.", AttentionConfig{Kind: kind, Query: q, Key: K, Hidden: 7})
				a.Init(rng)
				keys := randomProbe(rng, S*B*K)
				q1, q2 := randomProbe(rng, B*q), randomProbe(rng, B*q)
				r1, r2 := randomProbe(rng, B*K), randomProbe(rng, B*K)
				var lens []int
				if ragged {
					lens = []int{4, 1, 2}
				}
				mem := a.NewMemory()
				var st1, st2 AttentionStep
				c1, c2 := make([]float32, B*K), make([]float32, B*K)
				loss := func() float64 {
					mem.Set(keys, S, B, lens)
					mem.Forward(&st1, c1, q1)
					mem.Forward(&st2, c2, q2)
					var s float64
					for i := range c1 {
						s += float64(c1[i])*float64(r1[i]) + float64(c2[i])*float64(r2[i])
					}
					return s
				}
				loss()
				// weights are a distribution over the unmasked keys
				for b := 0; b < B; b++ {
					var sum float32
					for s := 0; s < S; s++ {
						w := st1.Weights()[b*S+s]
						if ragged && s >= lens[b] {
							assert.Zero(t, w)
						}
						sum += w
					}
					assert.InDelta(t, 1, sum, 1e-5)
				}
				ps.ZeroGrad()
				dq1, dq2 := make([]float32, B*q), make([]float32, B*q)
				mem.Backward(&st2, dq2, r2)
				mem.Backward(&st1, dq1, r1)
				dk := append([]float32(nil), mem.Finish()...)
				check := func(name string, vals, grads []float32) {
					t.Helper()
					orig := append([]float32(nil), vals...)
					want := fd.Gradient(nil, func(v []float64) float64 {
						for i := range v {
							vals[i] = float32(v[i])
						}
						return loss()
					}, toF64(vals), &fd.Settings{Formula: fd.Central, Step: 1e-2})
					copy(vals, orig)
					for i := range want {
						if math.Abs(float64(grads[i])-want[i]) > 1e-3+1e-2*math.Abs(want[i]) {
							t.Errorf("%s[%d]: analytic %.6f, finite difference %.6f", name, i, grads[i], want[i])
							return
						}
					}
				}
				for _, p := range ps.List() {
					check(p.Name, p.W, append([]float32(nil), p.G...))
				}
				check("q1", q1, dq1)
				check("q2", q2, dq2)
				check("keys", keys, dk)
			})
		}
	}
}

func TestAttentionNamesAndParse(t *testing.T) {
	ps := NewParams()
	NewAttention(ps, "attn.", AttentionConfig{Kind: Additive, Query: 4, Key: 6, Hidden: 5})
	assert.Equal(t, []string{"attn.key.bias", "attn.key.weight", "attn.query.weight", "attn.v.weight"}, ps.Names())
	for _, s := range []string{"additive", "dot", "general", "bahdanau", "luong"} {
		k, err := ParseAttention(s)
		require.NoError(t, err)
		b, _ := k.MarshalText()
		var k2 AttentionKind
		require.NoError(t, k2.UnmarshalText(b))
		assert.Equal(t, k, k2)
	}
	_, err := ParseAttention("nope")
	assert.Error(t, err)
	assert.Panics(t, func() { NewAttention(NewParams(), "", AttentionConfig{Kind: Dot, Query: 3, Key: 4}) })
}

func TestAttentionStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const S, B, Q, K = 6, 4, 8, 8
	rng := rand.New(rand.NewPCG(1, 2))
	ps := NewParams()
	a := NewAttention(ps, "", AttentionConfig{Kind: Additive, Query: Q, Key: K})
	a.Init(rng)
	keys, q := randomProbe(rng, S*B*K), randomProbe(rng, B*Q)
	mem := a.NewMemory()
	var st AttentionStep
	ctx, dq := make([]float32, B*K), make([]float32, B*Q)
	run := func() {
		mem.Set(keys, S, B, nil)
		mem.Forward(&st, ctx, q)
		mem.Backward(&st, dq, ctx)
		mem.Finish()
	}
	run()
	assert.Zero(t, testing.AllocsPerRun(10, run))
}
