package sentiment

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

// TestNewFromLMFor: the same model as NewFromLM or NewFromLMAdapted from
// the same seed, with the adapted words and the <unk> tokens counted.
func TestNewFromLMFor(t *testing.T) {
	tok := wordTok(t, []string{"common common common shared shared rare1 rare2"})
	lm := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 4, Hidden: 3, Layers: 1, Bidirectional: true}, 5)
	task := []string{"Zorp zorp common.", "zorp shared blick", "blick once quux quux"}
	cfg := Config{Pooling: "max", Labels: []string{"neg", "pos"}}

	want, n, err := NewFromLMAdapted(lm, cfg, task, 2, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	m, rep, err := NewFromLMFor(lm, cfg, task, FromLMOptions{AdaptVocab: true, MinFreq: 2}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	assert.Equal(t, want.Params.Tensors(), m.Params.Tensors())
	assert.Equal(t, n, rep.Adapted)
	// "once" and "." are too rare to be adapted, "shared" lost its id.
	assert.Equal(t, 3, rep.Unknown)
	assert.Equal(t, 3, m.UnknownTokens(task))

	want, err = NewFromLM(lm, cfg, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	m, rep, err = NewFromLMFor(lm, cfg, task, FromLMOptions{}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	assert.Equal(t, want.Params.Tensors(), m.Params.Tensors())
	assert.Equal(t, 0, rep.Adapted)
	// every word but common and shared is unknown to the LM's tokenizer
	assert.Equal(t, 9, rep.Unknown)

	_, _, err = NewFromLMFor(lm, Config{Pooling: "nope", Labels: cfg.Labels}, task, FromLMOptions{}, rand.New(rand.NewPCG(1, 1)))
	assert.Error(t, err)
}

func TestScaleFineTune(t *testing.T) {
	o := DefaultTrainOptions()
	o.Batch, o.Epochs = 32, 2
	o.ScaleFineTune(100) // 4 batches an epoch, 8 steps
	want := FineTuneFor(8)
	assert.Equal(t, [3]any{want.DiscriminativeLR, want.FreezeSteps, want.UnfreezeEvery}, [3]any{o.DiscriminativeLR, o.FreezeSteps, o.UnfreezeEvery})

	o.Batch, o.Epochs = 0, 1.5 // a zero batch counts as 1
	o.ScaleFineTune(1000)
	assert.Equal(t, 150, o.FreezeSteps)
	assert.Equal(t, 150, o.UnfreezeEvery)
}
