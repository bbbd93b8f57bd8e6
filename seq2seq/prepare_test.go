package seq2seq

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrainTokenizers(t *testing.T) {
	pairs := []Pair{{Source: "ka lo mi.", Target: "MI LO KA."}, {Source: "nu pe!", Target: "PE NU!"}}
	opt := DefaultTokenizerOptions()
	opt.Kind = TokenizerWord
	src, tgt, err := TrainTokenizers(pairs, opt)
	require.NoError(t, err)
	assert.NotEqual(t, src, tgt)
	assert.NotContains(t, src.Encode("ka"), src.Encode("KA")[0], "the target's words are not the source's")
	assert.Equal(t, 2, len(src.Encode("mi.")), "punctuation split off")

	opt.JointVocab = 100
	src, tgt, err = TrainTokenizers(pairs, opt)
	require.NoError(t, err)
	assert.Same(t, src, tgt, "one tokenizer for both sides")
	assert.Equal(t, src.Encode("ka KA"), tgt.Encode("ka KA"))

	opt = DefaultTokenizerOptions()
	_, _, err = TrainTokenizers(pairs, opt)
	require.NoError(t, err, "BPE")
	opt.Kind = "chars"
	_, _, err = TrainTokenizers(pairs, opt)
	assert.ErrorContains(t, err, `tokenizer kind "chars"`)
}
