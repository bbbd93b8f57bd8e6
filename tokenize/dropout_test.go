package tokenize

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BPE-dropout: p = 0 is Encode, p = 1 skips every merge (one token per
// rune), anything between gives segmentations that decode to the same text,
// are never coarser than the plain one, vary, and repeat with the seed.
func TestEncodeDropout(t *testing.T) {
	b, err := TrainBPE(strings.NewReader(strings.Repeat(corpus, 3)), BPEOptions{VocabSize: 300, MinFreq: 2, SplitPunct: true, OpenMarks: true})
	require.NoError(t, err)
	text := "¿Dónde está la estación? The quick brown fox jumps over the lazy dog."
	plain := b.Encode(text)

	assert.Equal(t, plain, b.EncodeDropout(text, 0, rand.New(rand.NewPCG(1, 2))))
	assert.Equal(t, plain, b.EncodeDropout(text, 0.5, nil))

	all := b.EncodeDropout(text, 1, rand.New(rand.NewPCG(1, 2)))
	for _, id := range all {
		tok := strings.TrimPrefix(b.Token(id), "▁")
		assert.LessOrEqual(t, len([]rune(tok)), 1, "token %q survived dropout 1", b.Token(id))
	}
	assert.Equal(t, b.Decode(plain), b.Decode(all))

	seen := map[string]bool{}
	for seed := range uint64(20) {
		ids := b.EncodeDropout(text, 0.1, rand.New(rand.NewPCG(seed, 7)))
		assert.Equal(t, b.Decode(plain), b.Decode(ids), "seed %d", seed)
		assert.GreaterOrEqual(t, len(ids), len(plain))
		assert.LessOrEqual(t, len(ids), len(all))
		seen[strings.Join(idTokens(b, ids), " ")] = true
		again := b.EncodeDropout(text, 0.1, rand.New(rand.NewPCG(seed, 7)))
		assert.Equal(t, ids, again, "the same generator state gives the same segmentation")
	}
	assert.Greater(t, len(seen), 5, "dropout 0.1 over 20 seeds gave only %d segmentations", len(seen))
	// the cache is untouched: plain encoding is unchanged afterwards
	assert.Equal(t, plain, b.Encode(text))
}

func idTokens(t Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.Token(id)
	}
	return out
}
