package rnn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInferenceOnlySeqIsExact: an InferenceOnly workspace, which keeps two
// steps of state instead of every step's, gives bit for bit the outputs
// and final state of a full one, float and int8, with ragged lengths and
// an initial state; it still trains, and refuses Backward after an
// inference pass.
func TestInferenceOnlySeqIsExact(t *testing.T) {
	const In, H = 3, 5
	for _, cell := range []Cell{Tanh, LSTM, GRU} {
		for _, quant := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(5, 6))
			ps := NewParams()
			l := NewLayer(ps, "", Config{Cell: cell, InputSize: In, HiddenSize: H, NumLayers: 2, Bidirectional: true})
			l.Init(rng)
			if quant {
				l.Quantize()
			}
			full, light := l.NewSeq(), l.NewSeq().InferenceOnly()
			for _, sh := range []struct {
				T, B int
				lens []int
			}{{1, 1, nil}, {2, 3, nil}, {7, 3, []int{7, 1, 4}}, {6, 2, []int{3, 6}}} {
				x := randomProbe(rng, sh.T*sh.B*In)
				init := &State{H: randomProbe(rng, l.StateRows()*sh.B*H)}
				if cell == LSTM {
					init.C = randomProbe(rng, l.StateRows()*sh.B*H)
				}
				want := append([]float32(nil), full.Forward(x, sh.T, sh.B, sh.lens, init, false, nil)...)
				got := light.Forward(x, sh.T, sh.B, sh.lens, init, false, nil)
				require.Equal(t, want, got, "%v int8=%v T=%d B=%d", cell, quant, sh.T, sh.B)
				require.Equal(t, full.Final().H, light.Final().H)
				require.Equal(t, full.Final().C, light.Final().C)
			}
			assert.PanicsWithValue(t, "rnn: Backward after an inference pass of an InferenceOnly Seq, which keeps no per-step state",
				func() { light.Backward(nil, &State{H: make([]float32, l.StateRows()*2*H)}) })
			if quant {
				continue
			}
			// A training pass keeps every step, so Backward works as on a full workspace.
			x := randomProbe(rng, 4*2*In)
			dy := randomProbe(rng, 4*2*l.OutputSize())
			ps.ZeroGrad()
			full.Forward(x, 4, 2, nil, nil, true, rand.New(rand.NewPCG(1, 1)))
			dxFull := append([]float32(nil), full.Backward(dy, nil)...)
			gFull := append([]float32(nil), ps.Grads...)
			ps.ZeroGrad()
			light.Forward(x, 4, 2, nil, nil, true, rand.New(rand.NewPCG(1, 1)))
			assert.Equal(t, dxFull, light.Backward(dy, nil), "%v", cell)
			assert.Equal(t, gFull, ps.Grads)
		}
	}
}
