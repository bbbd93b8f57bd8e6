package rnn

import (
	"fmt"
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

// TestAttentionStepMemoryExact checks the inference paths of a decoder's
// memory against Set and Forward on a plain memory, bit for bit: the packed
// query projection (NewStepMemory), SetRepeated's one projection per run
// of repeated sequences, and Keep's removal of finished sequences. Widths
// are large enough for the matrix kernel's wide tiles and partial panels;
// the int8 case runs the same checks after Quantize.
func TestAttentionStepMemoryExact(t *testing.T) {
	const S, Q, K, H = 5, 40, 24, 70
	for _, kind := range []AttentionKind{Additive, General, Dot} {
		for _, quant := range []bool{false, true} {
			name := kind.String()
			if quant {
				name += "/int8"
			}
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, uint64(kind)))
				q := Q
				if kind == Dot {
					q = K
				}
				ps := NewParams()
				a := NewAttention(ps, "", AttentionConfig{Kind: kind, Query: q, Key: K, Hidden: H})
				a.Init(rng)
				if quant {
					a.Quantize()
				}
				for _, rep := range []int{1, 3} {
					for _, U := range []int{1, 4} { // distinct sequences
						B := U * rep
						// keys (S, B, K) with runs of rep copies; lengths likewise
						keys := make([]float32, S*B*K)
						lens := make([]int, B)
						for b := 0; b < U; b++ {
							n := 1 + rng.IntN(S)
							for s := 0; s < S; s++ {
								row := randomProbe(rng, K)
								for j := 0; j < rep; j++ {
									copy(keys[(s*B+b*rep+j)*K:], row)
									lens[b*rep+j] = n
								}
							}
						}
						queries := randomProbe(rng, B*q)
						plain := a.NewMemory()
						plain.Set(keys, S, B, lens)
						var st0, st1 AttentionStep
						c0, c1 := make([]float32, B*K), make([]float32, B*K)
						plain.Forward(&st0, c0, queries)
						step := a.NewStepMemory()
						own := append([]float32(nil), keys...)
						step.SetRepeated(own, S, B, lens, rep)
						step.Forward(&st1, c1, queries)
						requireSameBits(t, c0, c1, "context, B=%d rep=%d", B, rep)
						requireSameBits(t, st0.Weights(), st1.Weights(), "weights, B=%d rep=%d", B, rep)

						// Keep every other sequence, then compare with a
						// memory Set with only those.
						var rows []int
						for b := 0; b < B; b += 2 {
							rows = append(rows, b)
						}
						n := len(rows)
						if n < 2 {
							continue // one query is a matrix-vector product
						}
						sub := make([]float32, S*n*K)
						subLens := make([]int, n)
						subQ := make([]float32, n*q)
						for i, r := range rows {
							for s := 0; s < S; s++ {
								copy(sub[(s*n+i)*K:(s*n+i+1)*K], keys[(s*B+r)*K:(s*B+r+1)*K])
							}
							subLens[i] = lens[r]
							copy(subQ[i*q:(i+1)*q], queries[r*q:(r+1)*q])
						}
						plain.Set(sub, S, n, subLens)
						plain.Forward(&st0, c0[:n*K], subQ)
						step.Keep(rows)
						step.Forward(&st1, c1[:n*K], subQ)
						requireSameBits(t, c0[:n*K], c1[:n*K], "context after Keep, B=%d rep=%d", B, rep)
						requireSameBits(t, st0.Weights(), st1.Weights(), "weights after Keep, B=%d rep=%d", B, rep)
					}
				}
			})
		}
	}
}

// requireSameBits fails unless a and b hold the same float32 bits.
func requireSameBits(t *testing.T, a, b []float32, msg string, args ...any) {
	t.Helper()
	require.Equal(t, len(a), len(b), fmt.Sprintf(msg, args...))
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s: element %d: %v != %v", fmt.Sprintf(msg, args...), i, a[i], b[i])
		}
	}
}
