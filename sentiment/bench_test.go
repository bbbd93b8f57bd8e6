package sentiment

import (
	"bytes"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
	"github.com/rnnkit/rnnkit/tokenize"
)

// w3 builds workload W3 of docs/DESIGN.md: vocab 20k, embedding 128, BiLSTM 128,
// max-pool over time, Linear to 2 classes; and n reviews of random ids,
// every one cut at 256 tokens (lengths 256, as bench/pytorch/w3.py).
func w3(b *testing.B, n int) (*Model, [][]int32) { return w3Cell(b, n, rnn.LSTM) }

func w3Cell(b *testing.B, n int, cell rnn.Cell) (*Model, [][]int32) {
	toks := make([]string, 20000)
	for i := range toks {
		toks[i] = "w" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	var text []byte
	for _, t := range toks {
		text = append(text, t...)
		text = append(text, ' ')
	}
	tok, err := tokenize.TrainWord(bytes.NewReader(text), tokenize.WordOptions{MaxVocab: 20000})
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(Config{Cell: cell, Embedding: 128, Hidden: 128, Layers: 1, Bidirectional: true,
		Pooling: PoolMax, Labels: []string{"negative", "positive"}, MaxLen: 256, Truncate: TruncHead}, tok)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	m.Init(rng)
	ids := make([][]int32, n)
	for i := range ids {
		ids[i] = make([]int32, 256)
		for t := range ids[i] {
			ids[i][t] = int32(4 + rng.IntN(m.Config.Vocab-4))
		}
	}
	return m, ids
}

// BenchmarkW3Train is one training step of W3 (batch 64, 256 tokens, Adam).
// Reports training tokens/s.
func BenchmarkW3Train(b *testing.B) { benchTrain(b, rnn.LSTM) }

// BenchmarkW3TrainGRU is W3 with a BiGRU instead of the BiLSTM.
func BenchmarkW3TrainGRU(b *testing.B) { benchTrain(b, rnn.GRU) }

func benchTrain(b *testing.B, cell rnn.Cell) {
	m, ids := w3Cell(b, 64, cell)
	w := m.newWork()
	adam := optim.NewAdam(optim.AdamOptions{LR: 1e-3})
	rng := rand.New(rand.NewPCG(2, 2))
	tgt := make([]int32, 64)
	for i := range tgt {
		tgt[i] = int32(i % 2)
	}
	dlogits := make([]float32, 64*2)
	step := func() {
		logits := m.forward(w, ids, true, rng)
		rnn.SoftmaxCrossEntropy(dlogits, logits, tgt, 64, 2, rnn.CrossEntropyOptions{})
		m.Params.ZeroGrad()
		m.backward(w, dlogits)
		adam.Step(m.Params)
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(b.N*64*256)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(b.N*64*256)/(cpuTime()-cpu0).Seconds(), "tokens/cpu-s")
}

// BenchmarkW3Infer classifies batches of 64 W3 reviews. Reports reviews/s.
func BenchmarkW3Infer(b *testing.B) {
	m, ids := w3(b, 64)
	m.PredictIDs(ids)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		m.PredictIDs(ids)
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "reviews/s")
	b.ReportMetric(float64(b.N*64)/(cpuTime()-cpu0).Seconds(), "reviews/cpu-s")
}

// cpuTime is the process's user+system CPU time; on a shared, loaded
// machine work per CPU-second is steadier than work per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
