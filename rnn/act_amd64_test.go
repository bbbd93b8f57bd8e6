package rnn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestActivationPathsAgree: the AVX-512 and AVX2 forms of the vector
// sigmoid and tanh give the same bits on every length's body and tail, at
// saturation, for signed zeros, infinities and NaN. (The scalar tail is
// within TestVectorActivations' bound of them, not bit-equal.)
func TestActivationPathsAgree(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	t.Cleanup(func() { useAVX512 = true })
	rng := rand.New(rand.NewPCG(5, 6))
	special := []float32{0, float32(math.Copysign(0, -1)), 88, -88, 89, -104, 1e-30, -1e-30, 20, -20,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32}
	for _, n := range []int{1, 8, 15, 16, 17, 31, 32, 33, 47, 512, 1003} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 8)
			if i < len(special) && n >= 16 {
				x[i] = special[i]
			}
		}
		for _, f := range []struct {
			name string
			fn   func([]float32)
		}{{"sigmoid", sigmoidVec}, {"tanh", tanhVec}} {
			var outs [][]float32
			for _, wide := range []bool{false, true} {
				useAVX512 = wide
				y := append([]float32(nil), x...)
				f.fn(y)
				outs = append(outs, y)
			}
			for p := 1; p < len(outs); p++ {
				for i := range x {
					require.Equal(t, math.Float32bits(outs[0][i]), math.Float32bits(outs[p][i]),
						"%s n=%d x[%d]=%v: AVX-512 %v, AVX2 %v", f.name, n, i, x[i], outs[p][i], outs[0][i])
				}
			}
		}
	}
}
