package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
)

// w4Shapes are the output layer's products in workload W4 (docs/DESIGN.md):
// in training over T·B = 1280 rows, vocabulary 8000, features [h; ctx; e]
// of 896 (forward, weight gradient, input gradient), and one decoding step
// of 64 rows (greedy) or 60 (beam 5 over 12 sentences) against the packed
// weight.
var w4Shapes = []struct {
	name    string
	tA, tB  blas.Transpose
	m, n, k int
	beta    float32
	packed  bool
}{
	{"out_fwd_1280x8000x896", blas.NoTrans, blas.Trans, 1280, 8000, 896, 1, false},
	{"out_dW_8000x896x1280", blas.Trans, blas.NoTrans, 8000, 896, 1280, 1, false},
	{"out_dX_1280x896x8000", blas.NoTrans, blas.NoTrans, 1280, 896, 8000, 0, false},
	{"decode_64x8000x896", blas.NoTrans, blas.Trans, 64, 8000, 896, 1, true},
	{"beam_60x8000x896", blas.NoTrans, blas.Trans, 60, 8000, 896, 1, true},
	{"gru_step_64x768x256", blas.NoTrans, blas.Trans, 64, 768, 256, 1, true},
}

// BenchmarkSgemmW4 reports GFLOP per CPU-second (2mnk per call, all
// threads) and per wall second of the W4 products on one and two threads.
func BenchmarkSgemmW4(b *testing.B) {
	for _, s := range w4Shapes {
		rng := rand.New(rand.NewPCG(1, 1))
		a := randSlice(rng, s.m*s.k)
		bm := randSlice(rng, s.k*s.n)
		c := randSlice(rng, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.tA != blas.NoTrans {
			lda = s.m
		}
		if s.tB != blas.NoTrans {
			ldb = s.k
		}
		var pb *PackedB
		if s.packed {
			pb = PackB(nil, s.tB, s.k, s.n, bm, ldb)
		}
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, t := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", s.name, t), func(b *testing.B) {
				SetThreads(t)
				defer SetThreads(0)
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime()
				for i := 0; i < b.N; i++ {
					if pb != nil {
						SgemmPacked(s.tA, s.m, 1, a, lda, pb, s.beta, c, s.n)
					} else {
						Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, s.beta, c, s.n)
					}
				}
				b.ReportMetric(flops*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
				if cpu := cpuTime() - cpu0; cpu > 0 {
					b.ReportMetric(flops*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
				}
			})
		}
	}
}
