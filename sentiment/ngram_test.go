package sentiment

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/internal/modelio/modeliotest"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// orderSynth writes reviews whose label is carried by word order only:
// "not good" and "good" share their words with "good not" and the others,
// so a bag of words cannot tell them apart but bigrams can.
func orderSynth(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]Example, n)
	for i := range out {
		words := make([]string, 6+rng.IntN(10))
		for j := range words {
			words[j] = noise[rng.IntN(len(noise))]
		}
		at := rng.IntN(len(words) - 1)
		label := rng.IntN(2)
		if label == 1 {
			words[at], words[at+1] = "good", "not"
		} else {
			words[at], words[at+1] = "not", "good"
		}
		out[i] = Example{Text: strings.Join(words, " "), Label: label}
	}
	return out
}

func smallNGram() NGramOptions {
	o := DefaultNGramOptions()
	o.Buckets, o.MinCount, o.Epochs, o.LR = 1<<12, 2, 3, 0.2
	return o
}

// The branch learns what only word order says, leaves m untouched, and the
// model's probabilities are the normalised product of the two parts'.
func TestTrainNGramLearnsBigrams(t *testing.T) {
	tr, val := orderSynth(600, 1), orderSynth(200, 2)
	m := tinyModel(t, synthTok(t, tr), rnn.GRU, "max+mean") // untrained: near chance
	before := m.PredictBatch(texts(val))
	hm, res, err := m.TrainNGram(context.Background(), tr, smallNGram())
	require.NoError(t, err)
	assert.Greater(t, res.Features, 20)
	assert.Greater(t, res.Buckets, 20)
	assert.Nil(t, m.Config.NGram, "m itself is not changed")
	assert.Equal(t, before, m.PredictBatch(texts(val)))
	rep, err := hm.Evaluate(val)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, rep.Accuracy, 0.95)

	w := float64(hm.Config.NGram.Weight)
	for i, e := range val[:20] {
		ids := hm.Encode(e.Text)
		z := make([]float64, 2)
		hm.ngramScores(z, make([]float64, 1), ngramFeatures(nil, ids, hm.Config.NGram.N, hm.Config.NGram.Buckets))
		p := before[i].Probs
		a := math.Exp((1-w)*math.Log(float64(p[0])) + w*z[0])
		b := math.Exp((1-w)*math.Log(float64(p[1])) + w*z[1])
		assert.InDelta(t, b/(a+b), hm.Predict(e.Text).Probs[1], 1e-5, "review %d", i)
	}

	plain, err := hm.WithoutNGram()
	require.NoError(t, err)
	assert.Equal(t, before, plain.PredictBatch(texts(val)))
	_, err = Train(context.Background(), hm, Data{Train: tr, Val: val}, trainOpts(func(*TrainOptions) {}), nil)
	require.ErrorContains(t, err, "WithoutNGram")
}

// More than two classes: one row of logits per class.
func TestTrainNGramThreeClasses(t *testing.T) {
	var ex []Example
	for i, e := range orderSynth(600, 3) {
		if i%3 == 0 {
			e = Example{Text: e.Text + " meh meh", Label: 2}
		}
		ex = append(ex, e)
	}
	tok := synthTok(t, ex)
	m, err := New(Config{Cell: rnn.LSTM, Embedding: 8, Hidden: 8, Pooling: "max", Labels: []string{"neg", "pos", "mixed"}, MaxLen: 40}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	hm, _, err := m.TrainNGram(context.Background(), ex[:450], smallNGram())
	require.NoError(t, err)
	assert.Equal(t, []int{3, 1 << 12}, hm.ngram.Shape)
	rep, err := hm.Evaluate(ex[450:])
	require.NoError(t, err)
	assert.GreaterOrEqual(t, rep.Accuracy, 0.9)
}

func TestTrainNGramBadOptions(t *testing.T) {
	ex := orderSynth(20, 1)
	m := tinyModel(t, synthTok(t, ex), rnn.GRU, "max")
	for _, c := range []struct {
		set  func(o *NGramOptions)
		want string
	}{
		{func(o *NGramOptions) { o.N = 0 }, "n-gram length 0 must be 1 to 5"},
		{func(o *NGramOptions) { o.N = 6 }, "n-gram length 6"},
		{func(o *NGramOptions) { o.Buckets = 1000 }, "buckets 1000 must be a power of two"},
		{func(o *NGramOptions) { o.Weight = 1 }, "weight 1 must be in (0, 1)"},
		{func(o *NGramOptions) { o.Weight = float32(math.NaN()) }, "weight NaN"},
		{func(o *NGramOptions) { o.MinCount = 0 }, "min count 0"},
		{func(o *NGramOptions) { o.LR = math.Inf(1) }, "learning rate"},
	} {
		o := smallNGram()
		c.set(&o)
		_, _, err := m.TrainNGram(context.Background(), ex, o)
		assert.ErrorContains(t, err, c.want)
	}
	_, _, err := m.TrainNGram(context.Background(), nil, smallNGram())
	assert.ErrorContains(t, err, "no training reviews")
	_, _, err = m.TrainNGram(context.Background(), []Example{{Text: "good", Label: 2}}, smallNGram())
	assert.ErrorContains(t, err, "class 2")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = m.TrainNGram(ctx, ex, smallNGram())
	assert.ErrorIs(t, err, context.Canceled)
}

// The features are pinned: a model file's buckets must mean the same to
// every reader (python/rnnkit_torch.py computes them too; docs/FORMAT.md).
func TestNGramFeaturesPinned(t *testing.T) {
	assert.Equal(t, []uint32{1419, 2321, 2772, 3637, 4074}, ngramFeatures(nil, []int32{5, 6, 7}, 2, 1<<12))
	assert.Len(t, ngramFeatures(nil, []int32{5, 6, 7}, 3, 1<<12), 6)
	// Repeats count once; n-grams across <pad> (an occluded token) are skipped.
	assert.Equal(t, ngramFeatures(nil, []int32{5, 6}, 1, 1<<12), ngramFeatures(nil, []int32{5, 6, 5, 6}, 1, 1<<12))
	assert.Equal(t, ngramFeatures(nil, []int32{5}, 2, 1<<12), ngramFeatures(nil, []int32{5, 0}, 2, 1<<12))
}

func texts(ex []Example) []string {
	out := make([]string, len(ex))
	for i, e := range ex {
		out[i] = e.Text
	}
	return out
}

// Files with a branch round-trip in every storage type, and a config that
// contradicts the branch's tensors is an error naming both.
func TestNGramFile(t *testing.T) {
	tr := orderSynth(300, 5)
	m := tinyModel(t, synthTok(t, tr), rnn.GRU, "max+mean")
	hm, _, err := m.TrainNGram(context.Background(), tr, smallNGram())
	require.NoError(t, err)
	for _, dt := range []rnn.DType{rnn.F32, rnn.F16, rnn.Q8} {
		path := filepath.Join(t.TempDir(), "m.safetensors")
		require.NoError(t, hm.Save(path, dt))
		back, err := Load(path)
		require.NoError(t, err, dt)
		assert.Equal(t, hm.Config, back.Config)
		tol := map[rnn.DType]float64{rnn.F32: 0, rnn.F16: 2e-3, rnn.Q8: 2e-2}[dt]
		for _, e := range tr[:20] {
			assert.InDelta(t, hm.Predict(e.Text).Probs[1], back.Predict(e.Text).Probs[1], tol, "%s", dt)
		}
	}
	data := modeliotest.File(t, hm.Save)
	modeliotest.ConfigMismatch(t, LoadBytes, data, []modeliotest.ConfigCase{
		{"ngram", `{"n":3,"buckets":2048,"weight":0.5}`, `config "ngram.buckets" = 2048 but tensor ngram.weight has shape [1 4096]`},
		{"ngram", `{"n":3,"buckets":4096,"weight":1.5}`, `n-gram weight 1.5 must be in (0, 1)`},
		{"ngram", `{"n":9,"buckets":4096,"weight":0.5}`, `n-gram length 9 must be 1 to 5`},
	})
	plain := modeliotest.File(t, m.Save)
	modeliotest.ConfigMismatch(t, LoadBytes, plain, []modeliotest.ConfigCase{
		{"ngram", `{"n":3,"buckets":4096,"weight":0.5}`, `config "ngram" = true but the file has no tensor ngram.weight`},
	})
}

// Explanations cover the mixture: occlusion measures the whole model, and
// gradient × input the recurrent part, weighted by its share.
func TestExplainWithNGram(t *testing.T) {
	tr := orderSynth(300, 6)
	m := tinyModel(t, synthTok(t, tr), rnn.GRU, "max+mean")
	hm, _, err := m.TrainNGram(context.Background(), tr, smallNGram())
	require.NoError(t, err)
	text := "the plot was good not boring"
	occ, err := hm.Explain(text, ExplainOcclusion)
	require.NoError(t, err)
	assert.Equal(t, hm.Predict(text).Probs, occ.Probs)
	grad, err := hm.Explain(text, ExplainGradient)
	require.NoError(t, err)
	assert.InDeltaSlice(t, hm.Predict(text).Probs, grad.Probs, 1e-6)
	plainGrad, err := m.Explain(text, ExplainGradient)
	require.NoError(t, err)
	if plainGrad.Class == grad.Class {
		// The mixture's log-odds are (1−w) times the RNN part's plus the
		// n-gram part's, which does not depend on the embeddings.
		w := float64(hm.Config.NGram.Weight)
		for i := range grad.Tokens {
			assert.InDelta(t, (1-w)*plainGrad.Tokens[i].Score, grad.Tokens[i].Score, 1e-6, "token %d", i)
		}
	}
}

// The branch reads the whole of a review longer than MaxLen, the recurrent
// part the cut that it was trained on; Predict, PredictBatch and both
// explanations agree on it.
func TestNGramReadsWholeReview(t *testing.T) {
	tr := orderSynth(300, 7)
	m := tinyModel(t, synthTok(t, tr), rnn.GRU, "max+mean") // MaxLen 40, head+tail
	hm, _, err := m.TrainNGram(context.Background(), tr, smallNGram())
	require.NoError(t, err)
	words := make([]string, 100)
	for i := range words {
		words[i] = noise[i%len(noise)]
	}
	words[30], words[31] = "good", "not" // positive, inside the cut-away middle (tokens 10-69)
	long := strings.Join(words, " ")
	require.Len(t, m.Encode(long), 40)
	ids := hm.Encode(long)
	require.Len(t, ids, 100)

	rnnP := m.Predict(long).Probs // the recurrent part alone, on the cut
	z := make([]float64, 2)
	hm.ngramScores(z, make([]float64, 1), ngramFeatures(nil, ids, hm.Config.NGram.N, hm.Config.NGram.Buckets))
	w := float64(hm.Config.NGram.Weight)
	a := math.Exp((1-w)*math.Log(float64(rnnP[0])) + w*z[0])
	b := math.Exp((1-w)*math.Log(float64(rnnP[1])) + w*z[1])
	got := hm.Predict(long)
	assert.InDelta(t, b/(a+b), got.Probs[1], 1e-5)
	assert.Equal(t, "positive", got.Label)
	assert.InDeltaSlice(t, got.Probs, hm.PredictBatch([]string{"good not", long, "not good"})[1].Probs, 1e-5)
	for _, method := range []string{ExplainOcclusion, ExplainGradient} {
		e, err := hm.Explain(long, method)
		require.NoError(t, err)
		assert.InDeltaSlice(t, got.Probs, e.Probs, 1e-5, method)
		assert.Len(t, e.Tokens, 40, "the tokens the recurrent part reads")
	}
}

func TestAutoBuckets(t *testing.T) {
	assert.Equal(t, 1024, AutoBuckets(0))
	assert.Equal(t, 1024, AutoBuckets(256))
	assert.Equal(t, 2048, AutoBuckets(257))
	assert.Equal(t, 1<<21, AutoBuckets(600_000))
	assert.Equal(t, MaxAutoBuckets, AutoBuckets(1<<30))
	tr := orderSynth(300, 8)
	m := tinyModel(t, synthTok(t, tr), rnn.GRU, "max")
	o := smallNGram()
	o.Buckets = 0
	hm, res, err := m.TrainNGram(context.Background(), tr, o)
	require.NoError(t, err)
	assert.Equal(t, AutoBuckets(res.Features), hm.Config.NGram.Buckets)
	assert.Equal(t, []int{1, hm.Config.NGram.Buckets}, hm.ngram.Shape)
}

// The ngram object of a config is read as strictly as the rest.
func TestNGramConfigStrict(t *testing.T) {
	tr := orderSynth(100, 9)
	m := tinyModel(t, synthTok(t, tr), rnn.GRU, "max")
	hm, _, err := m.TrainNGram(context.Background(), tr, smallNGram())
	require.NoError(t, err)
	data := modeliotest.File(t, hm.Save)
	modeliotest.ConfigMismatch(t, LoadBytes, data, []modeliotest.ConfigCase{
		{"ngram", `{"n":3,"buckets":4096,"weight":0.5,"bogus":1}`, `ngram: unknown key "bogus"`},
		{"ngram", `{"N":3,"Buckets":4096,"WEIGHT":0.5}`, `ngram: unknown key`},
		{"ngram", `{"n":3,"buckets":4096}`, `ngram: key "weight" missing`},
		{"ngram", `{"n":"3","buckets":4096,"weight":0.5}`, `ngram "n"`},
		{"ngram", `[3]`, `sentiment: ngram:`},
	})
}
