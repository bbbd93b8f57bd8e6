package kernel

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// BenchmarkStepGemm is one time step of W1's LSTM (batch 32, H 256): the
// recurrent product forward (32x1024x256) and its gradient backward
// (32x256x1024), on one and on two threads. These are what limit the speed-up
// from a second core: each takes a few hundred microseconds, so handing half
// of it to another thread must cost far less than that.
func BenchmarkStepGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, w, c := randSlice(rng, 32*256), randSlice(rng, 1024*256), make([]float32, 32*1024)
	for _, th := range []int{1, 2} {
		b.Run(map[int]string{1: "1thread", 2: "2threads"}[th], func(b *testing.B) {
			SetThreads(th)
			defer SetThreads(0)
			for i := 0; i < b.N; i++ {
				Sgemm(blas.NoTrans, blas.Trans, 32, 1024, 256, 1, a, 256, w, 256, 1, c, 1024)
			}
		})
		b.Run(map[int]string{1: "bwd1thread", 2: "bwd2threads"}[th], func(b *testing.B) {
			SetThreads(th)
			defer SetThreads(0)
			g := randSlice(rng, 32*1024)
			for i := 0; i < b.N; i++ {
				Sgemm(blas.NoTrans, blas.NoTrans, 32, 256, 1024, 1, g, 1024, w, 256, 1, c, 256)
			}
		})
	}
}

// BenchmarkStepGemmHalf is half of the forward product on one thread: the
// best two threads can do.
func BenchmarkStepGemmHalf(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, w, c := randSlice(rng, 32*256), randSlice(rng, 1024*256), make([]float32, 32*1024)
	SetThreads(1)
	defer SetThreads(0)
	for i := 0; i < b.N; i++ {
		Sgemm(blas.NoTrans, blas.Trans, 32, 512, 256, 1, a, 256, w, 256, 1, c, 1024)
	}
}

// busy is about 25 µs of arithmetic per item.
type busy struct{ x []float32 }

func (b *busy) Range(lo, hi int) {
	for i := lo; i < hi; i++ {
		s := float32(0)
		for r := 0; r < 60; r++ {
			s += dotGo(b.x, b.x)
		}
		b.x[0] = s * 1e-30
	}
}

// BenchmarkParallelOverhead runs two 25 µs items with Parallel on one and
// two threads: the difference from half of the one-thread time is the cost
// of a hand-off.
func BenchmarkParallelOverhead(b *testing.B) {
	bz := &busy{x: make([]float32, 1024)}
	for _, th := range []int{1, 2} {
		b.Run(map[int]string{1: "1thread", 2: "2threads"}[th], func(b *testing.B) {
			SetThreads(th)
			defer SetThreads(0)
			for i := 0; i < b.N; i++ {
				Parallel(2, 1, bz)
			}
		})
	}
}
