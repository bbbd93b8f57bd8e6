package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

func TestF16Conversions(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f {
			continue // NaN payloads
		}
		back, ok := F32ToF16Exact(f)
		if !ok || back != uint16(h) {
			t.Fatalf("half %#04x -> %v -> %#04x (exact %v)", h, f, back, ok)
		}
	}
	for _, v := range []float32{0.1, 1e-9, 70000, float32(math.NaN())} {
		if _, ok := F32ToF16Exact(v); ok {
			t.Errorf("%v reported exactly representable in half precision", v)
		}
	}
}

// TestGemvF16MatchesNaive: fast == naive on random shapes, 1-3 threads, and
// equal bits to the float32 Sgemm path on half-representable weights (the
// same accumulation order), so switching to half storage changes nothing.
func TestGemvF16MatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		for _, sh := range [][3]int{{1, 1, 1}, {3, 7, 9}, {4, 16, 16}, {17, 33, 40}, {64, 64, 64}, {1024, 256, 256}, {1030, 200, 203}, {1024, 64, 70}, {69, 256, 256}} {
			n, k, ldb := sh[0], sh[1], sh[2]
			x := make([]float32, k)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			b := make([]uint16, (n-1)*ldb+k)
			b32 := make([]float32, len(b))
			for i := range b {
				h, _ := F32ToF16Exact(float32(rng.IntN(2048)-1024) / 512)
				b[i], b32[i] = h, F16ToF32(h)
			}
			got, want, viaF32 := make([]float32, n), make([]float32, n), make([]float32, n)
			GemvF16(n, k, x, b, ldb, got)
			GemvF16Naive(n, k, x, b, ldb, want)
			Sgemm(blas.NoTrans, blas.Trans, 1, n, k, 1, x, k, b32, ldb, 0, viaF32, n) // NoTrans, Trans
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*float64(k) {
					t.Fatalf("threads=%d %v: c[%d] = %v, naive %v", threads, sh, i, got[i], want[i])
				}
				if k%8 == 0 && n%4 == 0 && got[i] != viaF32[i] {
					t.Fatalf("threads=%d %v: c[%d] = %v, float32 path %v", threads, sh, i, got[i], viaF32[i])
				}
			}
		}
	}
	SetThreads(0)
}
