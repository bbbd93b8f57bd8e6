package seq2seq

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

// Re-ranking by the opposite direction: each hypothesis's score gains
// BackWeight times the back model's mean log-probability of the source
// given it, the best first; without a weight nothing changes.
func TestBackRerank(t *testing.T) {
	pairs := synthetic(600, 2)
	var back []Pair
	for _, p := range pairs {
		back = append(back, Pair{Source: p.Target, Target: p.Source})
	}
	cfg := Config{Cell: rnn.GRU, Embedding: 16, EncHidden: 16, DecHidden: 16, Attention: rnn.Additive}
	fwd, bwd := tinyModel(t, pairs, cfg), tinyModel(t, back, cfg)
	for _, tc := range []struct {
		m *Model
		p []Pair
	}{{fwd, pairs}, {bwd, back}} {
		_, err := Train(context.Background(), tc.m, tc.p, trainOpts(func(o *TrainOptions) {
			o.Batch, o.Epochs, o.LR, o.Warmup, o.Seed, o.LabelSmoothing = 32, 1, 1e-2, 10, 3, 0
		}), nil)
		require.NoError(t, err)
	}
	srcs := []string{"ka lo mi", "pe nu ra si", "tu tu ka", ""}
	base := TranslateOptions{Beam: 4, NBest: 4}
	plain, err := fwd.Translate(context.Background(), srcs, base)
	require.NoError(t, err)
	off := base
	off.Back = bwd // a weight of 0: off
	same, err := fwd.Translate(context.Background(), srcs, off)
	require.NoError(t, err)
	assert.Equal(t, plain, same)

	on := base
	on.Back, on.BackWeight = bwd, 0.7
	got, err := fwd.Translate(context.Background(), srcs, on)
	require.NoError(t, err)
	bs := newBackScorer(bwd)
	for i, src := range srcs[:3] {
		require.Len(t, got[i].NBest, len(plain[i].NBest))
		fwdScore := map[string]float64{}
		for _, a := range plain[i].NBest {
			fwdScore[a.Text] = a.Score
		}
		for _, a := range got[i].NBest {
			lp := bs.logProb(a.Text, src)
			assert.Less(t, lp, 0.0)
			assert.InDelta(t, fwdScore[a.Text]+0.7*lp, a.Score, 1e-5, "%q -> %q", src, a.Text)
		}
		assert.True(t, sort.SliceIsSorted(got[i].NBest, func(a, b int) bool { return got[i].NBest[a].Score > got[i].NBest[b].Score }))
		assert.Equal(t, got[i].NBest[0].Text, got[i].Text)
	}
	assert.Equal(t, "", got[3].Text)

	// The back score is the mean token log-probability: a perfect
	// reversal scores higher than a wrong one.
	good, bad := bs.logProb("MI LO KA", "ka lo mi"), bs.logProb("TU PE SI", "ka lo mi")
	assert.False(t, math.IsNaN(good) || math.IsNaN(bad))
	assert.Greater(t, good, bad)
}

// The back scorer's score of a pair does not depend on the batch it is
// scored in: logProbs, which sorts the pairs by length, scores each
// distinct one once, uses packed weights and computes the logits of the
// real target positions only, gives the bits of scoring each pair in a
// batch of two with the plain weights and the full output layer (as the
// scorer did before).
func TestBackScoresIndependentOfBatch(t *testing.T) {
	words := strings.Fields("ka lo mi nu pe ra si tu")
	r := rand.New(rand.NewPCG(4, 4))
	sentence := func(upper bool) string {
		n := 1 + r.IntN(14)
		var ws []string
		for range n {
			w := words[r.IntN(len(words))]
			if upper {
				w = strings.ToUpper(w)
			}
			ws = append(ws, w)
		}
		return strings.Join(ws, " ")
	}
	var cands, sources []string
	for len(cands) < 150 {
		if len(cands) > 0 && r.IntN(8) == 0 { // a repeated pair
			j := r.IntN(len(cands))
			cands, sources = append(cands, cands[j]), append(sources, sources[j])
			continue
		}
		cands, sources = append(cands, sentence(true)), append(sources, sentence(false))
	}
	var pairs []Pair
	for i := range cands {
		pairs = append(pairs, Pair{Source: cands[i], Target: sources[i]})
	}
	cfg := Config{Cell: rnn.GRU, Embedding: 64, EncHidden: 40, DecHidden: 72, Attention: rnn.Additive, AttnHidden: 80, TieEmbeddings: true}
	m := tinyModel(t, pairs, cfg)
	got := newBackScorer(m).logProbs(cands, sources)

	ref := &backScorer{m: m, w: newWork(m)} // no packed weights
	V := m.Config.TgtVocab
	for i := range cands {
		j := (i + 1) % len(cands)
		var srcs, tgts [][]int32
		for _, k := range []int{i, j} {
			srcs, tgts = append(srcs, m.Src.Encode(cands[k])), append(tgts, m.Tgt.Encode(sources[k]))
		}
		ref.bt.fill(srcs, tgts)
		ref.w.forward(&ref.bt, false, 1, 0, nil, false)
		var sum float64
		n := 0
		for t := 0; t < ref.bt.T; t++ {
			if y := ref.bt.tgtOut[t*2]; y >= 0 {
				row := ref.w.logits[t*2*V : (t*2+1)*V]
				sum += float64(row[y]) - rnn.LogSumExp(row)
				n++
			}
		}
		want := sum / float64(n)
		require.Equal(t, math.Float64bits(want), math.Float64bits(got[i]), "pair %d (%q, %q): %v, want %v", i, cands[i], sources[i], got[i], want)
	}
}
