package sentiment

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rawPart(name string, n int, labels ...string) Part {
	p := Part{Name: name}
	for i := 0; i < n; i++ {
		l := labels[i%len(labels)]
		p.Examples = append(p.Examples, RawExample{Text: fmt.Sprintf("review %d of a %s film", i, l), Label: l})
	}
	return p
}

func TestPrepare(t *testing.T) {
	a, b := rawPart("a.tsv", 100, "neg", "pos"), rawPart("b.tsv", 50, "pos", "neg", "pos")
	opt := DefaultPrepareOptions()
	opt.Split, opt.Balanced = SplitRandom, true
	p, err := Prepare([]Part{a, b}, nil, opt)
	require.NoError(t, err)
	assert.Equal(t, []string{"negative", "positive"}, p.Labels)
	require.Len(t, p.Splits, 2)
	assert.Equal(t, 150, len(p.Data.Train)+len(p.Data.Val))
	assert.Equal(t, p.Splits[0].Train+p.Splits[1].Train, len(p.Data.Train))
	assert.Equal(t, 10, p.Splits[0].Val, "a tenth of each part")
	assert.Equal(t, BalancedWeights(p.Data.Train, 2), p.ClassWeights)
	assert.NotEqual(t, p.ClassWeights[0], p.ClassWeights[1], "b has more positive reviews")

	// A validation part replaces the split; the classes come from both.
	val := rawPart("val.tsv", 9, "neg", "pos", "meh")
	p, err = Prepare([]Part{a}, &val, DefaultPrepareOptions())
	require.NoError(t, err)
	assert.Len(t, p.Labels, 3)
	assert.Len(t, p.Data.Train, 100)
	assert.Len(t, p.Data.Val, 9)
	assert.Nil(t, p.Splits)
	assert.Nil(t, p.ClassWeights)

	// The default block split holds out the end of each class.
	p, err = Prepare([]Part{a}, nil, DefaultPrepareOptions())
	require.NoError(t, err)
	assert.Equal(t, 10, p.Splits[0].Val)
	assert.Equal(t, "review 99 of a pos film", p.Data.Val[len(p.Data.Val)-1].Text)
}

func TestPrepareRefuses(t *testing.T) {
	_, err := Prepare([]Part{rawPart("one.tsv", 10, "spam")}, nil, DefaultPrepareOptions())
	assert.ErrorContains(t, err, `only the label "spam"`)
	many := make([]string, MaxClasses+1)
	for i := range many {
		many[i] = fmt.Sprint("c", i)
	}
	_, err = Prepare([]Part{rawPart("many.tsv", 300, many...)}, nil, DefaultPrepareOptions())
	assert.ErrorIs(t, err, ErrTooManyClasses)
	opt := DefaultPrepareOptions()
	opt.ValFrac = 1
	_, err = Prepare([]Part{rawPart("a.tsv", 10, "neg", "pos")}, nil, opt)
	assert.ErrorContains(t, err, "validation fraction 1")
	opt = DefaultPrepareOptions()
	opt.Split = "sideways"
	_, err = Prepare([]Part{rawPart("a.tsv", 10, "neg", "pos")}, nil, opt)
	assert.ErrorContains(t, err, `split "sideways"`)
	_, err = Prepare([]Part{rawPart("a.tsv", 2, "neg", "pos")}, nil, DefaultPrepareOptions())
	assert.ErrorContains(t, err, "need at least one of each")
	for _, e := range []error{err} {
		assert.NotContains(t, e.Error(), "--", "library errors name no flags")
	}
}

func TestTrainTokenizer(t *testing.T) {
	texts := []string{"A <br /> GREAT film!", "an awful film.", "great great acting"}
	opt := DefaultTokenizerOptions()
	opt.MinFreq = 1
	tok, err := TrainTokenizer(texts, opt)
	require.NoError(t, err)
	assert.Equal(t, tok.Encode("great film"), tok.Encode("GREAT Film"), "lowercased")
	var vocab []string
	for id := 0; id < tok.VocabSize(); id++ {
		vocab = append(vocab, tok.Token(int32(id)))
	}
	assert.NotContains(t, strings.Join(vocab, " "), "br", "cleaned of markup")
	assert.Contains(t, vocab, "great")
	opt.Kind = "chars"
	_, err = TrainTokenizer(texts, opt)
	assert.ErrorContains(t, err, `tokenizer kind "chars"`)
}

func TestParseClassWeights(t *testing.T) {
	p, err := Prepare([]Part{rawPart("a.tsv", 40, "neg", "pos", "pos")}, nil, PrepareOptions{Split: SplitRandom, ValFrac: 0.25, Seed: 1})
	require.NoError(t, err)
	for _, spec := range []string{"", "none"} {
		w, err := p.ParseClassWeights(spec)
		require.NoError(t, err)
		assert.Nil(t, w, spec)
	}
	w, err := p.ParseClassWeights("balanced")
	require.NoError(t, err)
	assert.Equal(t, BalancedWeights(p.Data.Train, 2), w)
	pb, err := Prepare([]Part{rawPart("a.tsv", 40, "neg", "pos", "pos")}, nil, PrepareOptions{Split: SplitRandom, ValFrac: 0.25, Seed: 1, Balanced: true})
	require.NoError(t, err)
	w, err = pb.ParseClassWeights("balanced")
	require.NoError(t, err)
	assert.Equal(t, pb.ClassWeights, w)

	w, err = p.ParseClassWeights("1, 2.5")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2.5}, w)

	_, err = p.ParseClassWeights("1,2,3")
	var we *ClassWeightsError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, ClassWeightsError{N: 3, Labels: []string{"negative", "positive"}}, *we)
	assert.Equal(t, "sentiment: 3 class weights for 2 classes (negative, positive)", err.Error())
	for _, bad := range []string{"x", "-1", "inf"} {
		_, err = p.ParseClassWeights("1," + bad)
		require.ErrorAs(t, err, &we, bad)
		assert.Equal(t, bad, we.Bad)
		assert.Equal(t, fmt.Sprintf("sentiment: class weight %q is not a non-negative number", bad), err.Error())
	}
}
