package seq2seq

import (
	"context"
	"math"
	"sort"
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
