package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkSgemm reports GFLOP/s (2mnk per call, wall clock) for square and
// LSTM shapes, and GFLOP/cpu-s (per CPU-second of the whole process, which
// is steadier on a loaded machine; for t2 it sums both threads).
// Sub-benchmarks per shape:
//
//	t1      Sgemm with SetThreads(1)
//	t2      Sgemm with SetThreads(2)
//	generic SgemmGeneric (pure-Go micro-kernel), SetThreads(1)
//	gonum   gonum's native pure-Go Sgemm (GOMAXPROCS goroutines)
func BenchmarkSgemm(b *testing.B) {
	type shape struct {
		name    string
		tA, tB  blas.Transpose
		m, n, k int
		beta    float32
	}
	shapes := []shape{
		{"256", blas.NoTrans, blas.NoTrans, 256, 256, 256, 0},
		{"1024", blas.NoTrans, blas.NoTrans, 1024, 1024, 1024, 0},
	}
	for _, s := range lstmShapes {
		shapes = append(shapes, shape{s.name, s.tA, s.tB, s.m, s.n, s.k, s.beta})
	}
	impls := []struct {
		name    string
		f       gemmFunc
		threads int
	}{
		{"t1", Sgemm, 1},
		{"t2", Sgemm, 2},
		{"generic", SgemmGeneric, 1},
		{"gonum", gonum.Implementation{}.Sgemm, 0},
	}
	for _, s := range shapes {
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
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/%s", s.name, impl.name), func(b *testing.B) {
				SetThreads(impl.threads)
				defer SetThreads(0)
				b.ReportAllocs()
				start, cpu0 := time.Now(), cpuTime()
				for b.Loop() {
					impl.f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, s.beta, c, s.n)
				}
				b.ReportMetric(flops*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
				if cpu := cpuTime() - cpu0; cpu > 0 {
					b.ReportMetric(flops*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
				}
			})
		}
	}
}

func BenchmarkDot(b *testing.B) {
	for _, n := range []int{64, 256, 1024} {
		rng := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(rng, n), randSlice(rng, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			var s float32
			start := time.Now()
			for b.Loop() {
				s += Dot(x, y)
			}
			b.ReportMetric(2*float64(n)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkAxpy(b *testing.B) {
	for _, n := range []int{64, 256, 1024} {
		rng := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(rng, n), randSlice(rng, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				Axpy(1e-3, x, y)
			}
			b.ReportMetric(2*float64(n)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPackA packs a 144x256 block of a non-transposed A (the six-row
// panels the micro-kernel reads) with the assembly transpose and with the
// Go loop it replaced, in elements per second.
func BenchmarkPackA(b *testing.B) {
	const lda, mb, kb = 1024, 144, 256
	a := make([]float32, mb*lda)
	dst := make([]float32, mb*kb)
	for _, asm := range []bool{true, false} {
		name := map[bool]string{true: "asm", false: "go"}[asm]
		b.Run(name, func(b *testing.B) {
			if asm && !useAsm {
				b.Skip("no AVX2")
			}
			saved := useAsm
			useAsm = asm
			defer func() { useAsm = saved }()
			for i := 0; i < b.N; i++ {
				packA(false, a, lda, 0, 0, mb, kb, 6, dst)
			}
			b.ReportMetric(float64(mb*kb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
