package charrnn

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
	"github.com/rnnkit/rnnkit/tokenize"
)

// w1Model builds workload W1 of docs/DESIGN.md: vocab 65 (+4 specials), embedding
// 64, LSTM 2x256.
func w1Model(b *testing.B) (*Model, string) {
	var sb strings.Builder
	alpha := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'-\n&$3")
	rng := rand.New(rand.NewPCG(1, 1))
	for sb.Len() < 400_000 {
		sb.WriteRune(alpha[rng.IntN(len(alpha))])
	}
	text := sb.String()
	tok, err := tokenize.TrainRune(strings.NewReader(text), tokenize.RuneOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(Config{Cell: rnn.LSTM, Embedding: 64, Hidden: 256, Layers: 2}, tok)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(rng)
	return m, text
}

// BenchmarkW1TrainStep is one training step of W1: batch 32, seq 64, Adam,
// clip 5. Reports chars/s (= 2048 chars per step).
func BenchmarkW1TrainStep(b *testing.B) {
	m, text := w1Model(b)
	opt := DefaultTrainOptions()
	tr := &trainer{m: m, opt: opt, T: 64, B: 32, train: m.Tok.Encode(text)}
	tr.streamLen = len(tr.train) / tr.B
	tr.perEpoch = (tr.streamLen - 1) / tr.T
	tr.alloc()
	tr.rng = rand.New(rand.NewPCG(1, 2))
	adam := optim.NewAdam(optim.AdamOptions{LR: 2e-3})
	step := func(w int) {
		tr.step(w)
		m.Params.ClipGradNorm(opt.Clip)
		adam.Step(m.Params)
		tr.state.CopyFrom(tr.seq.Final())
	}
	step(0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		step(i % tr.perEpoch)
	}
	b.ReportMetric(float64(b.N*64*32)/b.Elapsed().Seconds(), "chars/s")
	b.ReportMetric(float64(b.N*64*32)/(cpuTime()-cpu0).Seconds(), "chars/cpu-s")
}

// BenchmarkW2Sample is W2: batch-1 sampling from the W1 model at temperature 0.8.
func BenchmarkW2Sample(b *testing.B) { benchSample(b, false, 1) }

// BenchmarkW2SampleEnsemble2 is W2 from an Ensemble of two W1 models
// (different weights): twice the recurrent work per character, plus the
// mixture.
func BenchmarkW2SampleEnsemble2(b *testing.B) { benchSample(b, false, 2) }

// benchSample samples one character per iteration from an ensemble of n
// W1 models (n = 1: the Model's own generator), int8 models
// (Model.Quantize) when quantize is set.
func benchSample(b *testing.B, quantize bool, n int) {
	ms := w1Models(b, n)
	for _, m := range ms {
		// Store the weights as F16, as the default model file does, so the
		// generator streams half-precision weights.
		roundToHalf(b, m.Params)
		if quantize {
			m.Quantize()
		}
	}
	g := ms[0].NewGenerator()
	if n > 1 {
		e, err := NewEnsemble(ms...)
		if err != nil {
			b.Fatal(err)
		}
		g = e.NewGenerator()
	}
	rng := rand.New(rand.NewPCG(3, 3))
	g.Feed(5)
	opt := SampleOptions{Temperature: 0.8}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		g.Feed(g.Sample(rng, opt))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chars/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "chars/cpu-s")
}

// w1Models is the W1 model and n-1 more of its shape and tokenizer with
// other weights.
func w1Models(b *testing.B, n int) []*Model {
	m, _ := w1Model(b)
	ms := []*Model{m}
	for i := 1; i < n; i++ {
		o, err := New(m.Config, m.Tok)
		if err != nil {
			b.Fatal(err)
		}
		o.Init(rand.New(rand.NewPCG(uint64(i), 9)))
		ms = append(ms, o)
	}
	return ms
}

// BenchmarkW2Generate is W2 through Model.GenerateScored, the path of
// rnnkit generate: the prime, a seed, then sampling with the emitted text
// scored. Reports chars/s; allocations are per call of b.N characters.
func BenchmarkW2Generate(b *testing.B) {
	m, _ := w1Model(b)
	roundToHalf(b, m.Params)
	opt := SampleOptions{N: b.N, Temperature: 0.8, Seed: 3}
	emit := func(string) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	if _, err := m.GenerateScored(context.Background(), "ab", opt, emit); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chars/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "chars/cpu-s")
}

// BenchmarkW1Evaluate is Model.Evaluate (16 streams, windows of 256, the
// validation pass of training and rnnkit eval charrnn) of the W1 model on
// 20,000 characters per iteration. Reports chars/s.
func BenchmarkW1Evaluate(b *testing.B) {
	m, text := w1Model(b)
	text = text[:20_000]
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := m.Evaluate(text); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(text))/b.Elapsed().Seconds(), "chars/s")
	b.ReportMetric(float64(b.N*len(text))/(cpuTime()-cpu0).Seconds(), "chars/cpu-s")
}

// roundToHalf rounds every parameter to half precision through an F16
// safetensors round trip, as saving and loading an F16 model file does.
func roundToHalf(b *testing.B, ps *rnn.Params) {
	var buf bytes.Buffer
	if err := rnn.WriteSafetensors(&buf, ps.Tensors(), nil, rnn.F16); err != nil {
		b.Fatal(err)
	}
	ts, _, err := rnn.ReadSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		b.Fatal(err)
	}
	if err := ps.SetFromTensors(ts); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user+system CPU time. On a shared, loaded machine
// work per CPU-second is steadier than work per wall second; both are shown.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
