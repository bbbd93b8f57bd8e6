package embed

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// TestKernelsMatchNaive checks sgns against the naive loop on random
// lengths, covering every tail of the 8-wide loop. (Dot and Axpy are
// rnn/kernel's, tested there.)
func TestKernelsMatchNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randv := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	for n := 0; n <= 70; n++ {
		x := randv(n)
		a := float32(rng.NormFloat64())
		neu, out := randv(n), randv(n)
		n1, o1 := append([]float32(nil), neu...), append([]float32(nil), out...)
		n2, o2 := append([]float32(nil), neu...), append([]float32(nil), out...)
		n3, o3 := append([]float32(nil), neu...), append([]float32(nil), out...)
		sgns(n1, o1, x, a)
		sgnsGo(n2, o2, x, a)
		sgnsNaive(n3, o3, x, a)
		require.InDeltaSlice(t, n3, n1, 1e-5, "sgns neu n=%d", n)
		require.InDeltaSlice(t, o3, o1, 1e-5, "sgns out n=%d", n)
		require.InDeltaSlice(t, n3, n2, 1e-5, "sgnsGo neu n=%d", n)
		require.InDeltaSlice(t, o3, o2, 1e-5, "sgnsGo out n=%d", n)
	}
}

func BenchmarkKernels(b *testing.B) {
	x, y, z := make([]float32, 100), make([]float32, 100), make([]float32, 100)
	for i := range x {
		x[i], y[i] = float32(i)*1e-3, float32(-i)*1e-3
	}
	b.Run("dot/100", func(b *testing.B) {
		b.ReportAllocs()
		var s float32
		for b.Loop() {
			s += kernel.Dot(x, y)
		}
		_ = s
	})
	b.Run("sgns/100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sgns(z, y, x, 1e-6)
		}
	})
}
