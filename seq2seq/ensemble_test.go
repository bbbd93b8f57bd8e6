package seq2seq

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

func TestEnsemble(t *testing.T) {
	pairs := synthetic(600, 1)
	cfg := Config{Cell: rnn.GRU, Embedding: 16, EncHidden: 16, DecHidden: 16, Attention: rnn.Additive}
	a := tinyModel(t, pairs, cfg)
	_, err := Train(context.Background(), a, pairs, trainOpts(func(o *TrainOptions) {
		o.Batch, o.Epochs, o.LR, o.Warmup, o.Seed, o.LabelSmoothing = 32, 2, 1e-2, 10, 3, 0
	}), nil)
	require.NoError(t, err)
	srcs := []string{"ka lo mi", "pe nu ra si", "tu tu ka"}
	for _, beam := range []int{1, 3} {
		opt := TranslateOptions{Beam: beam}
		alone, err := a.Translate(context.Background(), srcs, opt)
		require.NoError(t, err)
		// a model averaged with itself is the model
		opt.Ensemble = []*Model{a}
		self, err := a.Translate(context.Background(), srcs, opt)
		require.NoError(t, err)
		assert.Equal(t, alone, self, "beam %d", beam)
	}

	// another model of the same tokenizers changes the average; the
	// ensemble's log-probability lies between the two models' own
	b := tinyModel(t, pairs, cfg)
	b.Init(rand.New(rand.NewPCG(9, 9)))
	mix, err := a.Translate(context.Background(), srcs, TranslateOptions{Ensemble: []*Model{b}})
	require.NoError(t, err)
	alone, err := a.Translate(context.Background(), srcs, TranslateOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, alone[0].LogProb, mix[0].LogProb)
	assert.Len(t, mix[0].Attention, len(mix[0].Target))

	// other tokenizers: an error, not garbage
	other := tinyModel(t, synthetic(50, 7)[:3], cfg)
	_, err = a.Translate(context.Background(), srcs, TranslateOptions{Ensemble: []*Model{other}})
	assert.ErrorContains(t, err, "same source tokenizer")

	// The check's fingerprints follow the tokenizers: a model given other
	// tokenizers after a check is compared on the new ones, and back.
	require.NoError(t, a.SameTokenizers(b))
	saved := b.Src
	b.Src = other.Src
	assert.ErrorContains(t, a.SameTokenizers(b), "same source tokenizer")
	b.Src = saved
	assert.NoError(t, a.SameTokenizers(b))
}
