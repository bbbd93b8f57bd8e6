package seq2seq

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A translator saved as int8 (rnn.Q8) loads unchanged and translates as its
// float file does, with nearly the same log-probabilities and attention.
func TestInt8FileCloseToFloat(t *testing.T) {
	src, tgt := tokenize.NewRune([]rune("abcdefghijklmnopqrstuvwxyz ")), tokenize.NewRune([]rune("ABCDEFGHIJKLMNOPQRSTUVWXYZ "))
	for _, cfg := range []Config{
		{Cell: rnn.GRU, Embedding: 32, EncHidden: 32, EncLayers: 1, DecHidden: 48, DecLayers: 1, Attention: rnn.Additive, AttnHidden: 32},
		{Cell: rnn.LSTM, Embedding: 32, EncHidden: 24, EncLayers: 2, DecHidden: 48, DecLayers: 2, Attention: rnn.Dot, InputFeeding: true, TieEmbeddings: true},
	} {
		cfg.SrcVocab, cfg.TgtVocab = src.VocabSize(), tgt.VocabSize()
		if cfg.Attention == rnn.Dot {
			cfg.DecHidden = 2 * cfg.EncHidden
		}
		m, err := New(cfg, src, tgt)
		require.NoError(t, err)
		m.Init(rand.New(rand.NewPCG(5, 6)))
		for i := range m.Params.Values {
			m.Params.Values[i] *= 2
		}
		dir := t.TempDir()
		f32, q8 := filepath.Join(dir, "f32.safetensors"), filepath.Join(dir, "int8.safetensors")
		require.NoError(t, m.Save(f32, rnn.F32))
		require.NoError(t, m.Save(q8, rnn.Q8))
		a, err := Load(f32)
		require.NoError(t, err)
		data, err := os.ReadFile(q8)
		require.NoError(t, err)
		b, err := LoadBytes("int8", data)
		require.NoError(t, err)

		// The teacher-forced loss on invented pairs.
		pairs := [][2]string{{"hello world", "HELLO WORLD"}, {"the cat sat on the mat", "THE CAT SAT"}, {"abc", "ABC"},
			{"zebra quiz", "ZEBRA QUIZ"}, {"int eight weights", "EIGHT BIT"}}
		loss := func(m *Model) float64 {
			var srcs, tgts [][]int32
			for _, p := range pairs {
				srcs, tgts = append(srcs, m.Src.Encode(p[0])), append(tgts, m.Tgt.Encode(p[1]))
			}
			var bt batch
			bt.fill(srcs, tgts)
			l, _ := newWork(m).forward(&bt, false, 1, 0, rand.New(rand.NewPCG(1, 1)), false)
			return l
		}
		la, lb := loss(a), loss(b)
		assert.InDelta(t, la, lb, 0.01*la, "teacher-forced loss")

		// Greedy translations: where the two agree, nearly the same
		// log-probabilities and attention (random weights leave close calls,
		// so they need not always agree).
		sents := make([]string, len(pairs))
		for i, p := range pairs {
			sents[i] = p[0]
		}
		ctx := context.Background()
		ta, err := a.Translate(ctx, sents, TranslateOptions{Beam: 1})
		require.NoError(t, err)
		tb, err := b.Translate(ctx, sents, TranslateOptions{Beam: 1})
		require.NoError(t, err)
		same := 0
		for i := range ta {
			if ta[i].Text != tb[i].Text {
				continue
			}
			same++
			assert.InDelta(t, ta[i].LogProb, tb[i].LogProb, 0.02*math.Abs(ta[i].LogProb)+0.02, sents[i])
			for s := range ta[i].Attention {
				for k := range ta[i].Attention[s] {
					assert.InDelta(t, ta[i].Attention[s][k], tb[i].Attention[s][k], 0.02)
				}
			}
		}
		t.Logf("%s: loss F32 %.5f int8 %.5f; %d of %d greedy translations identical", cfg.Cell, la, lb, same, len(sents))
	}
}
