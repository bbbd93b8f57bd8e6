package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestLayerQuantizedInference: after Quantize, inference runs the int8
// products (the outputs move, by far less than the float32 outputs' scale)
// for every cell, bidirectional and ragged, at batch 1 and batch 5, while a
// training pass is still bit for bit the float32 one.
func TestLayerQuantizedInference(t *testing.T) {
	for _, cell := range []Cell{Tanh, LSTM, GRU} {
		for _, bidir := range []bool{false, true} {
			for _, B := range []int{1, 5} {
				t.Run(fmt.Sprintf("%v/bidir=%v/B=%d", cell, bidir, B), func(t *testing.T) {
					const T, In, H = 7, 24, 32
					ps := NewParams()
					l := NewLayer(ps, "", Config{Cell: cell, InputSize: In, HiddenSize: H, NumLayers: 2, Bidirectional: bidir})
					rng := rand.New(rand.NewPCG(1, 2))
					l.Init(rng)
					x := randomProbe(rng, T*B*In)
					var lens []int
					if B > 1 {
						lens = []int{7, 3, 1, 7, 5}
					}
					init := l.NewState(B)
					for i := range init.H {
						init.H[i] = float32(rng.NormFloat64()) * 0.3
					}
					for i := range init.C {
						init.C[i] = float32(rng.NormFloat64()) * 0.3
					}
					seq := l.NewInferenceSeq()
					ref := append([]float32(nil), seq.Forward(x, T, B, lens, init, false, nil)...)
					refFinal := append([]float32(nil), seq.Final().H...)
					trainRef := append([]float32(nil), l.NewSeq().Forward(x, T, B, lens, init, true, rng)...)

					require.False(t, l.Quantized())
					l.Quantize()
					require.True(t, l.Quantized())
					for _, s := range []*Seq{l.NewSeq(), l.NewInferenceSeq(), seq} {
						got := s.Forward(x, T, B, lens, init, false, nil)
						d := maxAbsDiff(ref, got)
						assert.Greater(t, d, 0.0, "the int8 path did not run")
						assert.Less(t, d, 0.03, "int8 outputs too far from float32")
						assert.Less(t, maxAbsDiff(refFinal, s.Final().H), 0.03)
					}
					// Padding is still padding: zero outputs beyond each length.
					if lens != nil {
						got := seq.Forward(x, T, B, lens, init, false, nil)
						DH := l.OutputSize()
						for tt := 0; tt < T; tt++ {
							for b, n := range lens {
								if tt >= n {
									assert.Equal(t, make([]float32, DH), got[(tt*B+b)*DH:(tt*B+b+1)*DH])
								}
							}
						}
					}
					// Training ignores the int8 copies.
					assert.Equal(t, trainRef, l.NewSeq().Forward(x, T, B, lens, init, true, rng))
				})
			}
		}
	}
}

// TestLinearQuantized: Forward and a Packed snapshot of a quantized Linear
// give the same bits, close to the float32 product, with and without bias.
func TestLinearQuantized(t *testing.T) {
	for _, bias := range []bool{true, false} {
		const In, Out, n = 40, 70, 9
		ps := NewParams()
		l := NewLinear(ps, "", In, Out, bias)
		rng := rand.New(rand.NewPCG(3, 4))
		l.Init(rng)
		x := randomProbe(rng, n*In)
		ref := make([]float32, n*Out)
		l.Forward(ref, x, n)
		l.Quantize()
		require.True(t, l.Quantized())
		got := make([]float32, n*Out)
		for i := range got {
			got[i] = 123 // overwritten, not accumulated
		}
		l.Forward(got, x, n)
		d := maxAbsDiff(ref, got)
		assert.Greater(t, d, 0.0)
		assert.Less(t, d, 0.04)
		packed := make([]float32, n*Out)
		l.Packed().Forward(packed, x, n)
		assert.Equal(t, got, packed)
		one := make([]float32, Out)
		l.Forward(one, x[:In], 1)
		assert.Equal(t, got[:Out], one, "a row's result does not depend on the batch")
	}
}

// TestLayerQuantizedSteadyStateAllocs: quantized inference allocates nothing
// per pass once the workspace has grown.
func TestLayerQuantizedSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const T, B, In, H = 16, 4, 8, 16
	ps := NewParams()
	l := NewLayer(ps, "", Config{Cell: GRU, InputSize: In, HiddenSize: H, NumLayers: 2, Bidirectional: true})
	rng := rand.New(rand.NewPCG(1, 1))
	l.Init(rng)
	l.Quantize()
	seq := l.NewSeq()
	x := randomProbe(rng, T*B*In)
	pass := func() { seq.Forward(x, T, B, nil, nil, false, nil) }
	pass()
	assert.Zero(t, testing.AllocsPerRun(20, pass))
}
