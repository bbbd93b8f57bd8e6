package rnn_test

// Scaling benchmarks for docs/BENCHMARKS.md: how one LSTM layer's forward and
// backward pass (full BPTT over a window of T steps) costs as the hidden size,
// the batch size, the window length and the number of cores grow.
//
//	go test -run '^$' -bench 'Scale' -benchtime 3x ./rnn
//
// Every sub-benchmark runs Forward then Backward on one Seq (buffers reused,
// as in training) and reports:
//
//	fwd-ms, bwd-ms   wall time of the forward and backward pass
//	us/step          (forward+backward) wall time per time step
//	GFLOP/s          useful FLOPs (3 x 2·T·B·4H·(In+H): forward, and backward
//	                 at twice the forward) per wall second
//	GFLOP/cpu-s      the same per CPU-second of the process (both threads)
//	tokens/s         T·B per wall second
//	BPTT-MiB         bytes the Seq allocated for its first Forward+Backward:
//	                 the activations BPTT keeps for T steps, and their gradients
//	Seq-MiB          Seq.Bytes(), the same buffers by their formula
//
// Sizes are tables with fixed seeds, as STYLE.md asks.

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/kernel"
)

type scaleCase struct {
	name       string
	In, H      int
	T, B       int
	gomaxprocs int // 0: leave as is
	threads    int // kernel.SetThreads; 0: default (GOMAXPROCS)
}

func scaleCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runScale(b *testing.B, c scaleCase) {
	if c.gomaxprocs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.gomaxprocs))
	}
	kernel.SetThreads(c.threads)
	defer kernel.SetThreads(0)

	ps := rnn.NewParams()
	l := rnn.NewLayer(ps, "rnn.", rnn.Config{Cell: rnn.LSTM, InputSize: c.In, HiddenSize: c.H})
	rng := rand.New(rand.NewPCG(1, 1))
	l.Init(rng)
	x := make([]float32, c.T*c.B*c.In)
	dy := make([]float32, c.T*c.B*c.H)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range dy {
		dy[i] = float32(rng.NormFloat64()) * 1e-2
	}
	init := l.NewState(c.B)

	// Memory BPTT needs: what a fresh Seq allocates for one window.
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	seq := l.NewSeq()
	seq.Forward(x, c.T, c.B, nil, init, true, rng)
	seq.Backward(dy, nil)
	runtime.ReadMemStats(&m1)
	bptt := float64(m1.TotalAlloc-m0.TotalAlloc) / (1 << 20)
	seqMiB := float64(seq.Bytes()) / (1 << 20)

	b.ReportAllocs()
	b.ResetTimer()
	var fwd, bwd time.Duration
	cpu0 := scaleCPU()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		seq.Forward(x, c.T, c.B, nil, init, true, rng)
		t1 := time.Now()
		seq.Backward(dy, nil)
		fwd += t1.Sub(t0)
		bwd += time.Since(t1)
	}
	cpu := scaleCPU() - cpu0
	b.StopTimer()
	n := float64(b.N)
	wall := (fwd + bwd).Seconds()
	flops := 3 * 2 * float64(c.T*c.B) * float64(4*c.H) * float64(c.In+c.H)
	b.ReportMetric(fwd.Seconds()*1e3/n, "fwd-ms")
	b.ReportMetric(bwd.Seconds()*1e3/n, "bwd-ms")
	b.ReportMetric(wall*1e6/n/float64(c.T), "us/step")
	b.ReportMetric(flops*n/wall/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(flops*n/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
	b.ReportMetric(float64(c.T*c.B)*n/wall, "tokens/s")
	b.ReportMetric(bptt, "BPTT-MiB")
	b.ReportMetric(seqMiB, "Seq-MiB")
}

func runScaleCases(b *testing.B, cases []scaleCase) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { runScale(b, c) })
	}
}

// BenchmarkScaleHidden: hidden size 128..1024, In = H (a stacked layer),
// batch 32, T 16.
func BenchmarkScaleHidden(b *testing.B) {
	var cs []scaleCase
	for _, h := range []int{128, 256, 384, 512, 768, 1024} {
		cs = append(cs, scaleCase{name: fmt.Sprintf("H=%d", h), In: h, H: h, T: 16, B: 32})
	}
	runScaleCases(b, cs)
}

// BenchmarkScaleBatch: batch 1..256 at H = In = 256, T 16.
func BenchmarkScaleBatch(b *testing.B) {
	var cs []scaleCase
	for _, bs := range []int{1, 2, 4, 8, 16, 32, 64, 128, 256} {
		cs = append(cs, scaleCase{name: fmt.Sprintf("B=%d", bs), In: 256, H: 256, T: 16, B: bs})
	}
	runScaleCases(b, cs)
}

// BenchmarkScaleSeqLen: BPTT window T 8..512 at W1's second layer (In = H =
// 256, batch 32). Time and BPTT memory are both linear in T.
func BenchmarkScaleSeqLen(b *testing.B) {
	var cs []scaleCase
	for _, t := range []int{8, 16, 32, 64, 128, 256, 512} {
		cs = append(cs, scaleCase{name: fmt.Sprintf("T=%d", t), In: 256, H: 256, T: t, B: 32})
	}
	runScaleCases(b, cs)
}

// BenchmarkScaleCores: 1 vs 2 cores on W1's second layer (In = H = 256,
// batch 32, T 64), and at H 1024 where the products are large.
// procs1: GOMAXPROCS=1; threads1: GOMAXPROCS=2 with kernel.SetThreads(1)
// (one goroutine per product, the runtime's background work on the other
// core); threads2: GOMAXPROCS=2 and two goroutines per large product.
func BenchmarkScaleCores(b *testing.B) {
	var cs []scaleCase
	for _, s := range []struct{ H, T int }{{256, 64}, {1024, 16}} {
		for _, v := range []struct {
			name       string
			procs, thr int
		}{{"procs1", 1, 1}, {"threads1", 2, 1}, {"threads2", 2, 2}} {
			cs = append(cs, scaleCase{name: fmt.Sprintf("H=%d/%s", s.H, v.name), In: s.H, H: s.H, T: s.T, B: 32,
				gomaxprocs: v.procs, threads: v.thr})
		}
	}
	runScaleCases(b, cs)
}
