package sentiment

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/diff/fd"
)

// trainedToyModel trains a tiny classifier on synthetic reviews in which
// good, great, wonderful and superb mean positive and bad, awful, terrible
// and boring negative, among neutral filler words.
func trainedToyModel(t *testing.T) *Model {
	t.Helper()
	all := synth(600, 20, 31)
	tok := synthTok(t, all)
	m := tinyModel(t, tok, rnn.GRU, "max+mean")
	tr, val := SplitExamples(all, 0.2, 3)
	res, err := Train(context.Background(), m, Data{Train: tr, Val: val},
		trainOpts(func(o *TrainOptions) { o.Batch, o.Epochs, o.LR, o.Warmup = 16, 4, 1e-2, 10 }), nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, res.BestValAcc, 0.95)
	return m
}

func byStrength(e Explanation) []TokenScore {
	s := slices.Clone(e.Tokens)
	slices.SortStableFunc(s, func(a, b TokenScore) int { return cmp.Compare(math.Abs(b.Score), math.Abs(a.Score)) })
	return s
}

// Occlusion and gradient × input agree: the strongest tokens are the
// sentiment words, they push toward the predicted class, and both methods
// give each of them the same sign.
func TestExplainMethodsAgree(t *testing.T) {
	m := trainedToyModel(t)
	sentimentWord := map[string]bool{}
	for _, w := range append(slices.Clone(posW), negW...) {
		sentimentWord[w] = true
	}
	reviews := []string{
		"the film was good and the plot wonderful",
		"it was a boring story , the actor awful",
		"this movie is great",
		"in that scene the plot was terrible and it was bad",
	}
	for _, e := range synth(12, 20, 77) {
		reviews = append(reviews, Clean(e.Text))
	}
	for _, text := range reviews {
		occ, err := m.Explain(text, ExplainOcclusion)
		require.NoError(t, err)
		grad, err := m.Explain(text, ExplainGradient)
		require.NoError(t, err)
		pred := m.Predict(text)
		assert.Equal(t, pred.Label, occ.Label, text)
		assert.Equal(t, pred.Label, grad.Label, text)
		assert.InDelta(t, pred.Probability, occ.Probability, 1e-5, text)
		assert.InDelta(t, pred.Probability, grad.Probability, 1e-5, text)
		require.Len(t, grad.Tokens, len(occ.Tokens))

		strong := byStrength(occ)
		top := strong[0]
		assert.True(t, sentimentWord[top.Token], "%q: strongest token %q is not a sentiment word (%+v)", text, top.Token, strong)
		assert.Positive(t, top.Score, "%q: the strongest token pushes toward the prediction", text)
		// The strongest token by occlusion is among the three strongest by
		// gradient × input. It, the other tokens at least half as strong by
		// occlusion, and the sentiment words get the same sign from both
		// methods. (Filler words have small scores on which the two may
		// differ: gradient × input is a first-order estimate of occlusion's
		// effect, and a noisier one.)
		gs := byStrength(grad)
		assert.True(t, slices.ContainsFunc(gs[:min(3, len(gs))], func(x TokenScore) bool { return x.Start == top.Start }),
			"%q: strongest token by occlusion %+v, by gradient %+v", text, strong, gs)
		check := map[int]bool{}
		for i, ts := range occ.Tokens {
			if sentimentWord[ts.Token] || math.Abs(ts.Score) >= math.Abs(top.Score)/2 {
				check[i] = true
			}
		}
		for i := range check {
			assert.Equal(t, math.Signbit(occ.Tokens[i].Score), math.Signbit(grad.Tokens[i].Score),
				"%q: token %q: occlusion %+.4f, gradient %+.4f", text, occ.Tokens[i].Token, occ.Tokens[i].Score, grad.Tokens[i].Score)
		}
	}
}

// The gradient of the log-odds with respect to the embedding outputs
// matches central finite differences, for several cells, poolings, depths
// and class counts, with dropout configured (inactive in inference).
func TestExplainGradientFiniteDifferences(t *testing.T) {
	ex := synth(50, 12, 41)
	tok := synthTok(t, ex)
	for _, tc := range []struct {
		name    string
		cell    rnn.Cell
		pooling string
		layers  int
		labels  []string
	}{
		{"gru max+mean", rnn.GRU, "max+mean", 1, []string{"negative", "positive"}},
		{"lstm attention+last 2 layers", rnn.LSTM, "attention+last", 2, []string{"negative", "positive"}},
		{"gru mean 3 classes", rnn.GRU, "mean", 1, []string{"1", "3", "5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Cell: tc.cell, Embedding: 6, Hidden: 5, Layers: tc.layers, Bidirectional: true,
				Pooling: tc.pooling, Dropout: 0.3, EmbDropout: 0.2, Labels: tc.labels, MaxLen: 40}, tok)
			require.NoError(t, err)
			m.Init(rand.New(rand.NewPCG(3, 4)))
			// Distinct tokens, so that a token's embedding row is its input.
			ids := m.Encode("the film was good and a plot")
			require.Len(t, ids, 7)
			E := m.Config.Embedding
			for _, c := range []int{0, len(tc.labels) - 1} {
				logits, dx, _ := m.inputGradient(ids, c)
				require.InDelta(t, logOdds(logits, c), logOdds(m.logitsOf(ids), c), 1e-5)
				for _, pos := range []int{0, 3, len(ids) - 1} {
					row := m.emb.Row(ids[pos])
					orig := slices.Clone(row)
					want := fd.Gradient(nil, func(v []float64) float64 {
						for i := range row {
							row[i] = float32(v[i])
						}
						return logOdds(m.logitsOf(ids), c)
					}, toF64(orig), &fd.Settings{Formula: fd.Central, Step: 1e-2})
					copy(row, orig)
					for e := range E {
						assert.InDelta(t, want[e], dx[pos*E+e], 2e-3+2e-2*math.Abs(want[e]), "class %d token %d dim %d", c, pos, e)
					}
				}
			}
			// The copy's backward pass wrote no gradient of m.
			assert.Zero(t, m.Params.GradNorm())
		})
	}
}

// logitsOf runs one review through m (inference).
func (m *Model) logitsOf(ids []int32) []float32 {
	w := m.newWork()
	return slices.Clone(m.forward(w, [][]int32{ids}, false, nil))
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// Occlusion's score of a token is exactly the drop of the log-odds when the
// token is replaced by <pad>; gradient × input is ∂z/∂x · x.
func TestExplainScoresDefinition(t *testing.T) {
	ex := synth(50, 12, 43)
	tok := synthTok(t, ex)
	m := tinyModel(t, tok, rnn.LSTM, "max+attention")
	text := "the plot was good , the actor bad"
	occ, err := m.Explain(text, "")
	require.NoError(t, err)
	assert.Equal(t, ExplainOcclusion, occ.Method)
	ids := m.Encode(text)
	base := m.logitsOf(ids)
	c := occ.Class
	for i, ts := range occ.Tokens {
		v := slices.Clone(ids)
		v[i] = tokenize.Pad
		assert.InDelta(t, logOdds(base, c)-logOdds(m.logitsOf(v), c), ts.Score, 1e-4, ts.Token)
	}
	grad, err := m.Explain(text, ExplainGradient)
	require.NoError(t, err)
	_, dx, x := m.inputGradient(ids, c)
	E := m.Config.Embedding
	for i, ts := range grad.Tokens {
		var want float64
		for e := range E {
			want += float64(dx[i*E+e]) * float64(x[i*E+e])
		}
		assert.InDelta(t, want, ts.Score, 1e-6)
	}
	_, err = m.Explain(text, "shap")
	assert.ErrorContains(t, err, `unknown explanation method "shap"`)
}

// Tokens carry their text and offsets into Explanation.Text (the cleaned
// review), follow the truncation policy, and an empty review is one <unk>.
func TestExplainTokens(t *testing.T) {
	ex := synth(50, 12, 45)
	tok := synthTok(t, ex)
	m := tinyModel(t, tok, rnn.GRU, "max")
	e, err := m.Explain("The film<br />was GOOD, xyzzy!", ExplainGradient)
	require.NoError(t, err)
	assert.Equal(t, "The film was GOOD, xyzzy!", e.Text)
	var toks []string
	for _, ts := range e.Tokens {
		toks = append(toks, ts.Token)
		assert.Equal(t, e.Text[ts.Start:ts.End], ts.Token)
	}
	assert.Equal(t, []string{"The", "film", "was", "GOOD", ",", "xyzzy", "!"}, toks)
	assert.Equal(t, tokenize.Unk, e.Tokens[5].ID, "an unknown word keeps its text")

	words := make([]string, 60)
	for i := range words {
		words[i] = noise[i%len(noise)]
	}
	long := strings.Join(words, " ")
	for _, policy := range []string{TruncHead, TruncTail, TruncHeadTail} {
		m.Config.MaxLen, m.Config.Truncate = 8, policy
		e, err := m.Explain(long, ExplainOcclusion)
		require.NoError(t, err)
		var ids []int32
		for _, ts := range e.Tokens {
			ids = append(ids, ts.ID)
		}
		assert.Equal(t, m.Encode(long), ids, policy)
	}

	e, err = m.Explain(" \n", ExplainOcclusion)
	require.NoError(t, err)
	require.Len(t, e.Tokens, 1)
	assert.Equal(t, TokenScore{Token: "<unk>", ID: tokenize.Unk, Score: e.Tokens[0].Score}, e.Tokens[0])
}

// Explanations run concurrently with each other and with predictions
// (run with -race), and leave the model's gradients untouched.
func TestExplainConcurrent(t *testing.T) {
	ex := synth(32, 20, 47)
	tok := synthTok(t, ex)
	m := tinyModel(t, tok, rnn.GRU, "max+attention")
	want := make([]Explanation, len(ex))
	for i, e := range ex {
		var err error
		want[i], err = m.Explain(e.Text, []string{ExplainOcclusion, ExplainGradient}[i%2])
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < len(ex); i += 4 {
				got, err := m.Explain(ex[i].Text, want[i].Method)
				assert.NoError(t, err)
				for k := range got.Tokens {
					assert.InDelta(t, want[i].Tokens[k].Score, got.Tokens[k].Score, 1e-5)
				}
				m.Predict(ex[i].Text)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, m.Params.GradNorm())
}
