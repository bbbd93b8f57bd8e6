package seq2seq

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
	"github.com/rnnkit/rnnkit/tokenize"
)

// synthVocabTok is a word tokenizer with exactly n ids ("w4", "w5", ...).
func synthVocabTok(b testing.TB, n int) tokenize.Tokenizer {
	var sb strings.Builder
	for i := 4; i < n; i++ {
		fmt.Fprintf(&sb, "w%d ", i)
	}
	tok, err := tokenize.TrainWord(strings.NewReader(sb.String()), tokenize.WordOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// w4 builds workload W4 of docs/DESIGN.md: vocab 8k/8k, embedding 128, bi-GRU 256
// encoder, GRU 256 decoder with additive attention, output Linear over
// [h; context; embedding]; a batch of 64 pairs of 20 tokens each side.
func w4(b testing.TB) (*Model, [][]int32, [][]int32) {
	const V, B, T = 8000, 64, 20
	// -benchtime Nx runs a benchmark twice (N=1, then N), and bench runs the
	// training and decoding benchmarks in one process: collect the previous
	// run's model and optimizer state (150 MB) before building another, as
	// the PyTorch script's reference counting frees its model at once.
	runtime.GC()
	src, tgt := synthVocabTok(b, V), synthVocabTok(b, V)
	m, err := New(DefaultConfig(V, V), src, tgt)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(1, 1)))
	r := rand.New(rand.NewPCG(2, 2))
	srcs, tgts := make([][]int32, B), make([][]int32, B)
	for i := range srcs {
		srcs[i], tgts[i] = make([]int32, T), make([]int32, T-1) // T target steps with EOS
		for t := range srcs[i] {
			srcs[i][t] = int32(4 + r.IntN(V-4))
		}
		for t := range tgts[i] {
			tgts[i][t] = int32(4 + r.IntN(V-4))
		}
	}
	return m, srcs, tgts
}

// BenchmarkW4Train measures training pairs/s on W4 (Adam, clip 5).
func BenchmarkW4Train(b *testing.B) {
	m, srcs, tgts := w4(b)
	w := newWork(m)
	var bt batch
	bt.fill(srcs, tgts)
	adam := optim.NewAdam(optim.AdamOptions{LR: 1e-3})
	rng := rand.New(rand.NewPCG(3, 3))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		w.forward(&bt, true, 1, 0, rng, true)
		m.Params.ZeroGrad()
		w.backward(&bt)
		m.Params.ClipGradNorm(5)
		adam.Step(m.Params)
	}
	b.ReportMetric(float64(b.N*len(srcs))/time.Since(start).Seconds(), "pairs/s")
	b.ReportMetric(float64(b.N*len(srcs))/(cpuTime()-cpu0).Seconds(), "pairs/cpu-s")
}

// BenchmarkW4Greedy measures greedy decoding sentences/s on W4 (batch 64,
// 20 output tokens: EOS is never chosen by the random model before the cap).
func BenchmarkW4Greedy(b *testing.B) { benchDecode(b, 1, false) }

// BenchmarkW4Beam5 measures beam-5 decoding sentences/s on W4.
func BenchmarkW4Beam5(b *testing.B) { benchDecode(b, 5, false) }

// benchDecode measures decoding with the given beam, on the int8 model
// (Model.Quantize) when quantize is set.
func benchDecode(b *testing.B, beam int, quantize bool) {
	m, srcs, _ := w4(b)
	if quantize {
		m.Quantize()
	}
	inf := newInfer(m)
	// 20 output tokens: MaxLenRatio·20 + 5 = 20
	opt := TranslateOptions{Beam: beam, MaxLenRatio: 0.75, LengthPenalty: 1}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for i := 0; i < b.N; i++ {
		if beam > 1 {
			for lo := 0; lo < len(srcs); lo += 64 / beam {
				inf.beam(srcs[lo:min(lo+64/beam, len(srcs))], opt)
			}
		} else {
			inf.greedy(srcs, opt)
		}
		n += len(srcs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "sentences/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "sentences/cpu-s")
}

// cpuTime is the CPU time (user + system) used by the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTrainSmall measures training pairs/s at the size of the default
// en->es model (vocab 4k/4k, embedding 256, bi-GRU 256, GRU 256, additive
// attention, tied output) on Tatoeba-like lengths (9 source, 10 target tokens).
func BenchmarkTrainSmall(b *testing.B) {
	const V, B = 4000, 64
	cfg := Config{Cell: rnn.GRU, Embedding: 256, EncHidden: 256, DecHidden: 256, Attention: rnn.Additive, TieEmbeddings: true, Dropout: 0.15}
	m, err := New(cfg, synthVocabTok(b, V), synthVocabTok(b, V))
	if err != nil {
		b.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(1, 1)))
	r := rand.New(rand.NewPCG(2, 2))
	srcs, tgts := make([][]int32, B), make([][]int32, B)
	for i := range srcs {
		srcs[i], tgts[i] = make([]int32, 9), make([]int32, 9)
		for t := range srcs[i] {
			srcs[i][t], tgts[i][t] = int32(4+r.IntN(V-4)), int32(4+r.IntN(V-4))
		}
	}
	w := newWork(m)
	var bt batch
	bt.fill(srcs, tgts)
	adam := optim.NewAdam(optim.AdamOptions{LR: 1e-3})
	rng := rand.New(rand.NewPCG(3, 3))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		w.forward(&bt, true, 1, 0.1, rng, true)
		m.Params.ZeroGrad()
		w.backward(&bt)
		m.Params.ClipGradNorm(5)
		adam.Step(m.Params)
	}
	b.ReportMetric(float64(b.N*B)/time.Since(start).Seconds(), "pairs/s")
	b.ReportMetric(float64(b.N*B)/(cpuTime()-cpu0).Seconds(), "pairs/cpu-s")
}
