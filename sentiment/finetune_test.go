package sentiment

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// TestInitFromLMCopiesExactly: after NewFromLM every embedding.* and rnn.*
// tensor of the classifier equals the LM file's tensor of the same name,
// and the classifier's bidirectional encoder computes the two LMs: its
// forward half is the forward LM's state, its reverse half the backward
// LM's state over the reversed text.
func TestInitFromLMCopiesExactly(t *testing.T) {
	tok := wordTok(t, grammarDocs(30, 1))
	for _, cell := range []rnn.Cell{rnn.GRU, rnn.LSTM} {
		t.Run(cell.String(), func(t *testing.T) {
			lm := tinyLM(t, tok, LMConfig{Cell: cell, Embedding: 6, Hidden: 5, Layers: 2, Bidirectional: true}, 3)
			m, err := NewFromLM(lm, Config{Cell: rnn.Tanh, Embedding: 99, Pooling: "max+mean", Labels: []string{"negative", "positive"}}, rand.New(rand.NewPCG(1, 1)))
			require.NoError(t, err)
			assert.Equal(t, []any{cell, 6, 5, 2, true}, []any{m.Config.Cell, m.Config.Embedding, m.Config.Hidden, m.Config.Layers, m.Config.Bidirectional},
				"the architecture comes from the LM")
			assert.Same(t, lm.Tok, m.Tok)
			byName := map[string]rnn.Tensor{}
			for _, tt := range lm.Tensors() {
				byName[tt.Name] = tt
			}
			copied := 0
			for _, p := range m.Params.List() {
				if tt, ok := byName[p.Name]; ok {
					require.Equal(t, tt.Data, p.W, p.Name)
					copied++
				} else {
					require.True(t, strings.HasPrefix(p.Name, "fc."), "%s not from the LM", p.Name)
				}
			}
			assert.Equal(t, 1+2*2*4, copied, "the embedding and 4 tensors per layer and direction")

			ids := []int32{4, 7, 5, 9, 6, 3, 8}
			T, H := len(ids), 5
			x := make([]float32, T*6)
			m.emb.Forward(x, ids)
			out := m.rnn.NewSeq().Forward(x, T, 1, nil, nil, false, nil)
			lx := make([]float32, T*6)
			lm.emb.Forward(lx, ids)
			fwd := slices.Clone(lm.fwd.NewSeq().Forward(lx, T, 1, nil, nil, false, nil))
			rx := make([]float32, T*6)
			lm.emb.Forward(rx, reversed(ids))
			bwd := lm.bwd.NewSeq().Forward(rx, T, 1, nil, nil, false, nil)
			for tt := 0; tt < T; tt++ {
				assert.InDeltaSlice(t, fwd[tt*H:(tt+1)*H], out[tt*2*H:tt*2*H+H], 1e-6, "forward half at t=%d", tt)
				assert.InDeltaSlice(t, bwd[(T-1-tt)*H:(T-tt)*H], out[tt*2*H+H:(tt+1)*2*H], 1e-6, "reverse half at t=%d", tt)
			}
		})
	}
	lm := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 4, Hidden: 4, Layers: 1, Bidirectional: true}, 3)
	other, err := New(Config{Cell: rnn.LSTM, Embedding: 4, Hidden: 4, Layers: 1, Bidirectional: true, Labels: []string{"a", "b"}}, tok)
	require.NoError(t, err)
	require.ErrorContains(t, other.InitFromLM(lm), "differs from the LM's")
}

// TestFineTuneFreezingAndRates follows every parameter group through a
// fine-tuning run: only the head moves during the head-only warm-up, then
// the groups start one by one from the top, and the first Adam update of
// each group (|Δθ| = its rate) shows the rate divided by the factor per
// group.
func TestFineTuneFreezingAndRates(t *testing.T) {
	all := synth(200, 20, 4)
	tok := synthTok(t, all)
	m, err := New(Config{Cell: rnn.GRU, Embedding: 8, Hidden: 8, Layers: 2, Bidirectional: true, Pooling: "max+mean",
		Labels: []string{"negative", "positive"}, MaxLen: 40}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	groups := m.paramGroups()
	require.Equal(t, []string{"head", "rnn layer 1", "rnn layer 0", "embedding"},
		[]string{groups[0].name, groups[1].name, groups[2].name, groups[3].name})
	require.Equal(t, 0, groups[3].lo)
	require.Equal(t, m.Params.Len(), groups[0].hi)
	opt := trainOpts(func(o *TrainOptions) {
		o.Batch, o.Epochs, o.LR, o.Warmup, o.DiscriminativeLR, o.FreezeSteps, o.UnfreezeEvery = 16, 1, 1e-2, 1, 2, 3, 2
	})
	prev := slices.Clone(m.Params.Values)
	tr, val := SplitExamples(all, 0.2, 1)
	_, err = Train(context.Background(), m, Data{Train: tr, Val: val}, opt, func(p Progress) {
		step := p.Step - 1
		for i, g := range groups {
			var maxD float64
			for j := g.lo; j < g.hi; j++ {
				maxD = math.Max(maxD, math.Abs(float64(m.Params.Values[j]-prev[j])))
			}
			from := 0
			if i > 0 {
				from = opt.FreezeSteps + (i-1)*opt.UnfreezeEvery
			}
			switch {
			case step < from:
				assert.Zero(t, maxD, "step %d: %s is frozen", step, g.name)
			case step == from:
				// The first Adam step moves each weight by the rate
				// (m̂/√v̂ = ±1), and the largest move is exactly the rate.
				assert.InEpsilon(t, p.LR/math.Pow(2, float64(i)), maxD, 1e-3, "step %d: %s's first update", step, g.name)
			default:
				assert.Positive(t, maxD, "step %d: %s learns", step, g.name)
			}
		}
		assert.Equal(t, make([]float32, 8), m.emb.Row(tokenize.Pad))
		copy(prev, m.Params.Values)
	})
	require.NoError(t, err)
}

// TestFineTuneResumeIsExact interrupts a fine-tuning run inside its
// unfreezing schedule and checks that the resumed run ends with the
// weights of the uninterrupted one, bit for bit.
func TestFineTuneResumeIsExact(t *testing.T) {
	all := synth(240, 20, 6)
	tok := synthTok(t, all)
	tr, val := SplitExamples(all, 0.2, 1)
	data := Data{Train: tr, Val: val}
	newModel := func() *Model {
		lm := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 8, Hidden: 8, Layers: 1, Bidirectional: true, Tied: true}, 5)
		m, err := NewFromLM(lm, Config{Pooling: "max+mean", Dropout: 0.2, EmbDropout: 0.1, Labels: []string{"negative", "positive"}, MaxLen: 40}, rand.New(rand.NewPCG(2, 2)))
		require.NoError(t, err)
		return m
	}
	opt := DefaultFineTune()
	opt.Batch, opt.Epochs, opt.LR, opt.EvalEvery, opt.FreezeSteps, opt.UnfreezeEvery = 16, 3, 5e-3, 5, 8, 6
	m := newModel()
	full, err := Train(context.Background(), m, data, opt, nil)
	require.NoError(t, err)

	ck := filepath.Join(t.TempDir(), "ft.ckpt")
	opt2 := opt
	opt2.CheckpointPath = ck
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Train(ctx, newModel(), data, opt2, func(p Progress) {
		if p.Step == 11 { // the recurrent layer learns, the embedding is still frozen
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	_, err = os.Stat(ck)
	require.NoError(t, err)
	m3, res, err := Resume(context.Background(), ck, data, opt2, nil)
	require.NoError(t, err)
	assert.Equal(t, full.Steps, res.Steps)
	assert.Equal(t, full.BestValAcc, res.BestValAcc)
	require.Equal(t, m.Params.Values, m3.Params.Values, "resumed weights differ from the uninterrupted run")

	// Without the fine-tuning options the checkpoint's optimizer state does not fit.
	plain := opt2
	plain.DiscriminativeLR, plain.FreezeSteps, plain.UnfreezeEvery = 0, 0, 0
	_, _, err = Resume(context.Background(), ck, data, plain, nil)
	require.ErrorContains(t, err, "optim.group")
}

// Transfer task for TestPretrainingHelps: the labelled reviews use only two
// polarity words per side, the test reviews only six others. Nothing in
// the labelled data says what the other words mean; the unlabelled text
// does: every polarity word is followed, a few words later, by "so i loved
// it" or "so i hated it".
var (
	ptNoise = strings.Fields("the a film movie plot actor scene story it was and of to is in that this with for as")
	ptPos   = strings.Fields("good great wonderful superb brilliant excellent lovely amazing")
	ptNeg   = strings.Fields("bad awful terrible boring dreadful horrible lousy dull")
)

func ptNoiseWords(rng *rand.Rand, n int) []string {
	w := make([]string, n)
	for i := range w {
		w[i] = ptNoise[rng.IntN(len(ptNoise))]
	}
	return w
}

func ptUnlabelled(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 21))
	out := make([]string, n)
	for i := range out {
		pos := rng.IntN(2) == 0
		src, verdict := ptNeg, "hated"
		if pos {
			src, verdict = ptPos, "loved"
		}
		words := ptNoiseWords(rng, 1+rng.IntN(4))
		words = append(words, src[rng.IntN(len(src))], verdict)
		words = append(words, ptNoiseWords(rng, rng.IntN(4))...)
		out[i] = strings.Join(words, " ")
	}
	return out
}

// TestPretrainingHelps: on a task where only the unlabelled text carries the
// meaning of the test reviews' words, a classifier fine-tuned from an LM
// pretrained on that text beats one trained from scratch (the same
// tokenizer, architecture and data) by a wide margin.
func TestPretrainingHelps(t *testing.T) {
	unl := ptUnlabelled(800, 1)
	seen := func(n int, seed uint64) []Example { return ptReviewsFrom(n, seed, 0, 2) }
	unseen := func(n int, seed uint64) []Example { return ptReviewsFrom(n, seed, 2, 8) }
	lab, val, test := seen(400, 2), seen(60, 3), unseen(400, 4)
	var texts []string
	texts = append(texts, unl...)
	for _, e := range lab {
		texts = append(texts, e.Text)
	}
	tok := wordTok(t, texts)
	for _, w := range append(slices.Clone(ptPos), ptNeg...) {
		_, ok := tok.ID(w)
		require.True(t, ok, w)
	}
	cfg := Config{Pooling: "max+mean", Dropout: 0.1, Labels: []string{"negative", "positive"}, MaxLen: 40}
	var accs []string
	for seed := uint64(1); seed <= 3; seed++ {
		lm := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 16, Hidden: 16, Layers: 1, Bidirectional: true, Tied: true}, seed)
		lopt := DefaultLMTrainOptions()
		lopt.SeqLen, lopt.Batch, lopt.Epochs, lopt.LR, lopt.Warmup, lopt.Samples, lopt.Seed = 16, 8, 30, 1e-2, 10, 8, seed
		lres, err := TrainLM(context.Background(), lm, LMData{Train: texts, Val: ptUnlabelled(40, 9)}, lopt, nil)
		require.NoError(t, err)

		opt := trainOpts(func(o *TrainOptions) { o.Batch, o.Epochs, o.LR, o.Warmup, o.Seed = 16, 6, 1e-2, 10, seed })
		scratchCfg := cfg
		scratchCfg.Cell, scratchCfg.Embedding, scratchCfg.Hidden, scratchCfg.Layers, scratchCfg.Bidirectional = rnn.GRU, 16, 16, 1, true
		scratch, err := New(scratchCfg, tok)
		require.NoError(t, err)
		scratch.Init(rand.New(rand.NewPCG(seed, 9)))
		_, err = Train(context.Background(), scratch, Data{Train: lab, Val: val}, opt, nil)
		require.NoError(t, err)

		pre, err := NewFromLM(lm, cfg, rand.New(rand.NewPCG(seed, 9)))
		require.NoError(t, err)
		ft := opt
		ft.DiscriminativeLR, ft.FreezeSteps, ft.UnfreezeEvery = 2.6, 50, 25
		_, err = Train(context.Background(), pre, Data{Train: lab, Val: val}, ft, nil)
		require.NoError(t, err)

		rs, err := scratch.Evaluate(test)
		require.NoError(t, err)
		rp, err := pre.Evaluate(test)
		require.NoError(t, err)
		accs = append(accs, fmt.Sprintf("seed %d: LM perplexity %.2f/%.2f, unseen-word accuracy scratch %.3f, pretrained %.3f",
			seed, lres.BestVal.FwdPerplexity, lres.BestVal.BwdPerplexity, rs.Accuracy, rp.Accuracy))
		assert.GreaterOrEqual(t, rp.Accuracy, 0.8, accs[len(accs)-1])
		assert.GreaterOrEqual(t, rp.Accuracy-rs.Accuracy, 0.15, accs[len(accs)-1])
	}
	t.Log(strings.Join(accs, "\n"))
}

// ptReviewsFrom writes n reviews of noise words with one polarity word taken
// from positions [lo, hi) of its side's list.
func ptReviewsFrom(n int, seed uint64, lo, hi int) []Example {
	rng := rand.New(rand.NewPCG(seed, 22))
	out := make([]Example, n)
	for i := range out {
		label := rng.IntN(2)
		src := ptNeg
		if label == 1 {
			src = ptPos
		}
		w := ptNoiseWords(rng, 4+rng.IntN(8))
		w[rng.IntN(len(w))] = src[lo+rng.IntN(hi-lo)]
		out[i] = Example{Text: strings.Join(w, " "), Label: label}
	}
	return out
}

// TestNewFromModel: with the source's classes every tensor is copied (the
// predictions are the source's); with new classes the encoder and
// attention pooling are copied and the head is new, shaped for them.
func TestNewFromModel(t *testing.T) {
	all := synth(100, 20, 5)
	tok := synthTok(t, all)
	src := tinyModel(t, tok, rnn.GRU, "attention+max")
	same, err := NewFromModel(src, src.Config.Labels, rand.New(rand.NewPCG(9, 9)))
	require.NoError(t, err)
	for _, e := range all[:5] {
		assert.Equal(t, src.Predict(e.Text).Probs, same.Predict(e.Text).Probs)
	}
	m, err := NewFromModel(src, []string{"1", "2", "3"}, rand.New(rand.NewPCG(9, 9)))
	require.NoError(t, err)
	assert.Equal(t, src.Vocab(), m.Vocab())
	for _, p := range m.Params.List() {
		q := src.Params.Get(p.Name)
		if strings.HasPrefix(p.Name, "fc.") {
			assert.Equal(t, 3, p.Shape[0], p.Name)
			continue
		}
		assert.Equal(t, q.W, p.W, p.Name)
	}
	assert.Len(t, m.Predict(all[0].Text).Probs, 3)
	want := DefaultTrainOptions()
	want.DiscriminativeLR, want.FreezeSteps, want.UnfreezeEvery = 2.6, 4, 4
	assert.Equal(t, want, FineTuneFor(40))
	assert.Equal(t, 1, FineTuneFor(3).FreezeSteps)
}

// TestBlockSplitExamples: the last examples of each class are held out,
// whatever the file's order of classes.
func TestBlockSplitExamples(t *testing.T) {
	var ex []Example
	for i := 0; i < 100; i++ {
		ex = append(ex, Example{Text: fmt.Sprintf("review %d", i), Label: i / 50})
	}
	tr, va, rep := BlockSplitExamples(ex, 0.2)
	assert.Len(t, va, 20)
	assert.Equal(t, "review 40", va[0].Text)
	assert.Equal(t, "review 90", va[10].Text)
	assert.Equal(t, 8, rep.Gap, "a tenth of each class's 40 training reviews")
	assert.Len(t, tr, 72)
}

// TestNonFiniteKeepsBest: a run stopped by a non-finite loss returns the
// one ErrNonFinite of every application and leaves the best weights seen
// in the model (here the initial ones: no evaluation came first).
func TestNonFiniteKeepsBest(t *testing.T) {
	all := synth(200, 20, 6)
	m := tinyModel(t, synthTok(t, all), rnn.GRU, "max")
	start := slices.Clone(m.Params.Values)
	res, err := Train(context.Background(), m, Data{Train: all[:160], Val: all[160:]},
		trainOpts(func(o *TrainOptions) { o.Batch, o.Epochs, o.LR, o.Warmup, o.EvalEvery = 16, 4, 1e38, 1, 1000 }), nil)
	require.ErrorIs(t, err, ErrNonFinite)
	require.ErrorIs(t, err, rnn.ErrNonFinite)
	assert.Positive(t, res.Steps)
	assert.Equal(t, start, m.Params.Values)
}

// TestNewFromLMAdapted: the task's frequent words that the LM lacks take the
// ids of the LM's words the task uses least (never first); the vocabulary
// size, every other id, the encoder and the other embedding rows stay the
// LM's, and the new rows start at the mean of the LM's rows.
func TestNewFromLMAdapted(t *testing.T) {
	// LM text: "common" 3 times, "rare1" and "rare2" once, "shared" twice.
	tok := wordTok(t, []string{"common common common shared shared rare1 rare2"})
	lm := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 4, Hidden: 3, Layers: 1, Bidirectional: true}, 5)
	task := []string{"Zorp zorp common.", "zorp shared blick", "blick once quux quux"}
	m, n, err := NewFromLMAdapted(lm, Config{Pooling: "max", Labels: []string{"neg", "pos"}}, task, 2, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	// zorp (3), blick (2) and quux (2) are frequent and new ("once" and "."
	// are too rare): they replace rare2 and rare1, which the task never
	// uses, and shared, used once (common is used once too, but the LM saw
	// it more often).
	assert.Equal(t, 3, n)
	require.Equal(t, lm.Tok.VocabSize(), m.Tok.VocabSize())
	assert.Equal(t, []int32{tokenize.Unk}, m.Tok.Encode("shared"))
	for _, w := range []string{"zorp", "blick", "quux"} {
		ids := m.Tok.Encode(w)
		require.Len(t, ids, 1)
		assert.NotEqual(t, tokenize.Unk, ids[0], w)
	}
	assert.Equal(t, []int32{tokenize.Unk}, m.Tok.Encode("rare1"), "an LM word the task never uses gave its id")
	assert.Equal(t, []int32{tokenize.Unk}, m.Tok.Encode("rare2"))
	assert.Equal(t, lm.Tok.Encode("common"), m.Tok.Encode("common"), "other ids stay")

	lmRows := map[string][]float32{}
	for id := int32(0); id < int32(lm.Tok.VocabSize()); id++ {
		lmRows[lm.Tok.Token(id)] = lm.emb.Row(id)
	}
	mean := make([]float32, 4)
	for _, w := range []string{"common", "shared", "rare1", "rare2"} {
		for j, v := range lmRows[w] {
			mean[j] += v / 4
		}
	}
	for id := int32(0); id < int32(m.Tok.VocabSize()); id++ {
		w := m.Tok.Token(id)
		if want, ok := lmRows[w]; ok && w != "<pad>" {
			assert.Equal(t, want, m.emb.Row(id), w)
		}
	}
	for _, w := range []string{"zorp", "blick", "quux"} {
		assert.InDeltaSlice(t, mean, m.emb.Row(m.Tok.Encode(w)[0]), 1e-6, "%s starts at the mean", w)
	}
	byName := map[string]rnn.Tensor{}
	for _, tt := range lm.Tensors() {
		byName[tt.Name] = tt
	}
	for _, p := range m.Params.List() {
		if strings.HasPrefix(p.Name, "rnn.") {
			assert.Equal(t, byName[p.Name].Data, p.W, p.Name)
		}
	}

	bpe, err := tokenize.TrainBPE(strings.NewReader("some text to learn from\n"), tokenize.BPEOptions{VocabSize: 40})
	require.NoError(t, err)
	blm := tinyLM(t, bpe, LMConfig{Cell: rnn.GRU, Embedding: 4, Hidden: 3, Layers: 1}, 5)
	_, _, err = NewFromLMAdapted(blm, Config{Labels: []string{"a", "b"}}, task, 2, rand.New(rand.NewPCG(1, 1)))
	assert.ErrorContains(t, err, "needs a word tokenizer")
}
