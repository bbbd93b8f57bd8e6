package seq2seq

import (
	"context"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTargetLexiconAndUnknownWords(t *testing.T) {
	lex := TargetLexicon([]Pair{{Source: "x", Target: "¡Hola, Tom!"}, {Source: "y", Target: "Adiós... hola"}})
	assert.Equal(t, []string{"adiós", "hola", "tom"}, lex)
	set := map[string]bool{}
	for _, w := range lex {
		set[w] = true
	}
	// a made-up word counts; a word of the source (a name) does not
	assert.Equal(t, 1, unknownWords("Holárate, Tom.", wordsOf("Hello Tom"), set))
	assert.Equal(t, 0, unknownWords("Hola, Anna.", wordsOf("Hello Anna"), set))
}

// TestLexiconPenaltyPrefersKnownWords: re-ranking the beam never picks a
// hypothesis with more unknown words than the plain beam's best, and on an
// untrained model (which strings random words) it picks fewer overall.
func TestLexiconPenaltyPrefersKnownWords(t *testing.T) {
	pairs := synthetic(300, 1)
	m := tinyModel(t, pairs, Config{Cell: rnn.GRU, Embedding: 8, EncHidden: 8, DecHidden: 8, Attention: rnn.Additive})
	srcs, _ := GroupReferences(pairs[:60])
	m.SetLexicon([]string{"ka", "lo"})
	lex := m.lexicon()
	plain, err := m.Translate(context.Background(), srcs, TranslateOptions{Beam: 5})
	require.NoError(t, err)
	ranked, err := m.Translate(context.Background(), srcs, TranslateOptions{Beam: 5, LexiconPenalty: 100})
	require.NoError(t, err)
	var before, after int
	for i := range srcs {
		src := wordsOf(srcs[i])
		u0, u1 := unknownWords(plain[i].Text, src, lex), unknownWords(ranked[i].Text, src, lex)
		assert.LessOrEqual(t, u1, u0, srcs[i])
		before, after = before+u0, after+u1
	}
	assert.Less(t, after, before)

	// no lexicon in the file: the penalty changes nothing
	delete(m.Meta, LexiconMetaKey)
	again, err := m.Translate(context.Background(), srcs, TranslateOptions{Beam: 5, LexiconPenalty: 100})
	require.NoError(t, err)
	assert.Equal(t, plain, again)
}

func TestSourceNames(t *testing.T) {
	assert.Equal(t, []string{"Madrid"}, sourceNames("Vivo en Madrid."))
	assert.Equal(t, []string{"Peter", "3"}, sourceNames("Tom is my friend Peter. He has 3 cats."))
	assert.Empty(t, sourceNames("¿Dónde está la estación?"))
	assert.Empty(t, sourceNames("Hello. Where is the USA?"), "acronyms and sentence starts are not names")
	assert.Equal(t, 1, missingNames("I live in Mother.", []string{"Madrid"}))
	assert.Equal(t, 0, missingNames("I live in Madrid.", []string{"Madrid"}))
}
