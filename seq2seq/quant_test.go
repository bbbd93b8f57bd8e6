package seq2seq

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

// teacherLogProbs runs the decoder over fixed target tokens and returns
// the log-probabilities of every step (steps, R, V).
func teacherLogProbs(m *Model, ids [][]int32, toks []int32, steps int) []float32 {
	in := newInfer(m)
	in.start(ids, 1)
	R := len(ids)
	var out []float32
	for t := 0; t < steps; t++ {
		in.step(R, false)
		out = append(out, in.logits[:R*m.Config.TgtVocab]...)
		for r := range in.ids[:R] {
			in.ids[r] = toks[(t+r)%len(toks)]
		}
	}
	return out
}

// TestQuantize: a quantized translator's per-step log-probabilities stay
// within a few hundredths of the float32 model's (untied and tied output
// layer), greedy and beam decoding run on it, and the float32 weights are
// kept.
func TestQuantize(t *testing.T) {
	pairs := synthetic(60, 4)
	for _, tied := range []bool{false, true} {
		cfg := Config{Cell: rnn.GRU, Embedding: 16, EncHidden: 24, DecHidden: 24, Attention: rnn.Additive, TieEmbeddings: tied}
		m := tinyModel(t, pairs, cfg)
		var ids [][]int32
		for _, p := range pairs[:12] {
			ids = append(ids, m.Src.Encode(p.Source))
		}
		toks := m.Tgt.Encode(pairs[0].Target)
		want := teacherLogProbs(m, ids, toks, 6)
		values := append([]float32(nil), m.Params.Values...)
		m.Quantize()
		require.True(t, m.Quantized())
		got := teacherLogProbs(m, ids, toks, 6)
		var d float64
		for i := range want {
			d = max(d, math.Abs(float64(want[i]-got[i])))
		}
		assert.Greater(t, d, 0.0, "the int8 path did not run")
		assert.Less(t, d, 0.05, "tied %v: log-probabilities moved by %.4f", tied, d)
		opt := TranslateOptions{MaxLenRatio: 2, Beam: 3, LengthPenalty: -1}
		for i, h := range newInfer(m).beam(ids, opt) {
			require.NotEmpty(t, h, "sentence %d", i)
		}
		assert.Len(t, newInfer(m).greedy(ids, opt), len(ids))
		assert.Equal(t, values, m.Params.Values)
	}
}
