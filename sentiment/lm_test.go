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
	"gonum.org/v1/gonum/diff/fd"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/kernel"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Toy grammar: documents of two sentences "subject verb adverb .", the verb
// fixed by the subject, two subjects per verb. Left to right the verb is
// certain; right to left the subject is one of two.
var (
	grammarVerb = map[string]string{"cat": "meows", "kitten": "meows", "dog": "barks", "puppy": "barks"}
	grammarSubj = []string{"cat", "kitten", "dog", "puppy"}
	grammarAdv  = []string{"loudly", "softly"}
)

func grammarDocs(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 17))
	docs := make([]string, n)
	for i := range docs {
		var b strings.Builder
		for k := 0; k < 2; k++ {
			s := grammarSubj[rng.IntN(len(grammarSubj))]
			fmt.Fprintf(&b, "%s %s %s . ", s, grammarVerb[s], grammarAdv[rng.IntN(len(grammarAdv))])
		}
		docs[i] = strings.TrimSpace(b.String())
	}
	return docs
}

func wordTok(t testing.TB, docs ...[]string) tokenize.Tokenizer {
	var sb strings.Builder
	for _, ds := range docs {
		for _, d := range ds {
			sb.WriteString(Clean(d))
			sb.WriteByte('\n')
		}
	}
	tok, err := tokenize.TrainWord(strings.NewReader(sb.String()), tokenize.WordOptions{Lowercase: true, NFC: true, SplitPunct: true})
	require.NoError(t, err)
	return tok
}

func tinyLM(t testing.TB, tok tokenize.Tokenizer, cfg LMConfig, seed uint64) *LM {
	t.Helper()
	m, err := NewLM(cfg, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(seed, 3)))
	return m
}

// TestLMGradients checks the whole LM's backward pass (embedding, both
// directions' stacks from a carried state, output dropout off, tied or
// untied decoder, sampled or full softmax) against finite differences.
func TestLMGradients(t *testing.T) {
	tok := wordTok(t, grammarDocs(20, 1))
	V := tok.VocabSize()
	for _, tc := range []struct {
		name    string
		cfg     LMConfig
		samples int
	}{
		{"gru bidi 2 layers tied sampled", LMConfig{Cell: rnn.GRU, Embedding: 4, Hidden: 4, Layers: 2, Bidirectional: true, Tied: true}, 6},
		{"lstm bidi 2 layers untied full", LMConfig{Cell: rnn.LSTM, Embedding: 3, Hidden: 4, Layers: 2, Bidirectional: true}, 0},
		{"gru forward untied sampled", LMConfig{Cell: rnn.GRU, Embedding: 3, Hidden: 5, Layers: 1}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyLM(t, tok, tc.cfg, 2)
			opt := LMTrainOptions{SeqLen: 3, Batch: 2, Samples: tc.samples}
			tr := newLMTrainer(m, opt)
			rng := rand.New(rand.NewPCG(5, 6))
			var sampler *rnn.Sampler
			if tc.samples > 0 {
				sampler = rnn.NewLogUniformSampler(V)
				tr.draws = make([]int32, tc.samples)
				sampler.Sample(tr.draws, rng)
				tr.draws[0] = 2 // a special token among the candidates
			}
			tr.loss = rnn.NewSampledSoftmax(m.decW, m.decB, sampler, tc.samples)
			for di, d := range tr.dirs {
				for i := range d.ids {
					d.ids[i] = int32(1 + rng.IntN(V-1)) // never <pad>, whose row takes no gradient
				}
				for i := range d.state.H {
					d.state.H[i] = float32(rng.NormFloat64() * 0.5)
				}
				for i := range d.state.C {
					d.state.C[i] = float32(rng.NormFloat64() * 0.5)
				}
				for i := range tr.tgt[di*6 : (di+1)*6] {
					tr.tgt[di*6+i] = int32(rng.IntN(V))
				}
			}
			if tc.samples > 0 {
				tr.tgt[0] = tr.draws[1] // an accidental hit
			}
			tr.lossGrad(true, true)
			grads := slices.Clone(m.Params.Grads)
			vals := m.Params.Values
			orig := slices.Clone(vals)
			want := fd.Gradient(nil, func(v []float64) float64 {
				for i := range v {
					vals[i] = float32(v[i])
				}
				return tr.lossGrad(false, true)
			}, lmF64(vals), &fd.Settings{Formula: fd.Central, Step: 1e-2})
			copy(vals, orig)
			bad := 0
			for i := range want {
				if math.Abs(float64(grads[i])-want[i]) > 1e-3+2e-2*math.Abs(want[i]) {
					bad++
					if bad < 5 {
						t.Errorf("value %d: analytic %.6f, finite difference %.6f", i, grads[i], want[i])
					}
				}
			}
			require.Zero(t, bad, "of %d gradients", len(want))
		})
	}
}

// TestLMLearnsToyGrammar: both directions' full-softmax perplexity on
// held-out documents falls far below the uniform one, and each direction
// predicts what only it can: the verb after a subject (forward), the pair
// of subjects before a verb (backward).
func TestLMLearnsToyGrammar(t *testing.T) {
	train, val := grammarDocs(400, 1), grammarDocs(40, 2)
	tok := wordTok(t, train)
	V := tok.VocabSize()
	m := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 16, Hidden: 16, Layers: 1, Bidirectional: true, Tied: true}, 1)
	before, err := m.Evaluate(val)
	require.NoError(t, err)
	opt := DefaultLMTrainOptions()
	opt.SeqLen, opt.Batch, opt.Epochs, opt.LR, opt.Warmup, opt.Samples = 12, 8, 10, 1e-2, 10, 6
	res, err := TrainLM(context.Background(), m, LMData{Train: train, Val: val}, opt, nil)
	require.NoError(t, err)
	after, err := m.Evaluate(val)
	require.NoError(t, err)
	t.Logf("vocab %d: perplexity forward %.2f -> %.2f, backward %.2f -> %.2f (best %.3f nats at step %d of %d)",
		V, before.FwdPerplexity, after.FwdPerplexity, before.BwdPerplexity, after.BwdPerplexity, res.BestVal.Loss, res.BestStep, res.Steps)
	// The grammar's entropy is 4.16 nats per 9-token document: perplexity 1.6.
	assert.Less(t, after.FwdPerplexity, 2.2)
	assert.Less(t, after.BwdPerplexity, 2.2)
	assert.Greater(t, before.FwdPerplexity, 0.7*float64(V), "an untrained LM is near uniform")
	assert.InDelta(t, res.BestVal.Loss, after.Loss, 1e-9, "the model keeps the best weights")

	id := func(w string) int32 {
		i, ok := tok.ID(w)
		require.True(t, ok, w)
		return i
	}
	next := m.PredictNext([]int32{tokenize.EOS, id("kitten")})
	assert.Greater(t, next[id("meows")], float32(0.9), "forward: kitten -> meows")
	prev := m.PredictPrev([]int32{id("barks"), id("softly"), id(".")})
	both := prev[id("dog")] + prev[id("puppy")]
	assert.Greater(t, both, float32(0.85), "backward: dog or puppy before barks")
	assert.InDelta(t, 0.5, prev[id("dog")]/both, 0.2, "backward: dog and puppy equally likely")
	assert.Less(t, prev[id("cat")]+prev[id("kitten")], float32(0.1))
}

// TestLMResumeIsExact interrupts a run (dropout, sampled softmax, carried
// state, an epoch boundary), resumes it from the checkpoint, and checks that
// the weights equal those of an uninterrupted run bit for bit.
func TestLMResumeIsExact(t *testing.T) {
	train, val := grammarDocs(120, 3), grammarDocs(10, 4)
	tok := wordTok(t, train)
	cfg := LMConfig{Cell: rnn.LSTM, Embedding: 8, Hidden: 8, Layers: 2, Bidirectional: true, Tied: true, Dropout: 0.2, EmbDropout: 0.1}
	opt := DefaultLMTrainOptions()
	opt.SeqLen, opt.Batch, opt.Epochs, opt.LR, opt.Warmup, opt.Samples, opt.EvalEvery = 8, 4, 2, 5e-3, 5, 5, 7
	data := LMData{Train: train, Val: val}
	m := tinyLM(t, tok, cfg, 9)
	full, err := TrainLM(context.Background(), m, data, opt, nil)
	require.NoError(t, err)
	require.Greater(t, full.Steps, 40)

	m2 := tinyLM(t, tok, cfg, 9)
	ck := filepath.Join(t.TempDir(), "lm.ckpt")
	opt2 := opt
	opt2.CheckpointPath = ck
	ctx, cancel := context.WithCancel(context.Background())
	_, err = TrainLM(ctx, m2, data, opt2, func(p LMProgress) {
		if p.Step == 25 { // mid-epoch, after an evaluation at 21
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	_, err = os.Stat(ck)
	require.NoError(t, err)
	m3, res, err := ResumeLM(context.Background(), ck, data, opt2, nil)
	require.NoError(t, err)
	assert.Equal(t, full.Steps, res.Steps)
	assert.Equal(t, full.BestStep, res.BestStep)
	assert.Equal(t, full.BestVal.Loss, res.BestVal.Loss)
	require.Equal(t, m.Params.Values, m3.Params.Values, "resumed weights differ from the uninterrupted run")

	// The checkpoint of a different architecture is refused.
	opt3 := opt2
	opt3.Batch = 2
	_, _, err = ResumeLM(context.Background(), ck, data, opt3, nil)
	require.Error(t, err)
}

// TestLMTrainingIsDeterministic: the two directions run on two goroutines
// when a core is free, and the weights do not depend on it.
func TestLMTrainingIsDeterministic(t *testing.T) {
	train, val := grammarDocs(60, 7), grammarDocs(6, 8)
	tok := wordTok(t, train)
	run := func(threads int) []float32 {
		kernel.SetThreads(threads)
		defer kernel.SetThreads(0)
		m := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 8, Hidden: 8, Layers: 2, Bidirectional: true, Dropout: 0.2}, 1)
		opt := DefaultLMTrainOptions()
		opt.SeqLen, opt.Batch, opt.Epochs, opt.Samples = 8, 4, 1, 6
		_, err := TrainLM(context.Background(), m, LMData{Train: train, Val: val}, opt, nil)
		require.NoError(t, err)
		return m.Params.Values
	}
	a, b := run(1), run(2)
	require.Equal(t, a, b, "the thread count changed the result")
}

// TestLMFullSoftmaxTraining: Samples 0 trains with the exact softmax.
func TestLMFullSoftmaxTraining(t *testing.T) {
	train, val := grammarDocs(200, 5), grammarDocs(20, 6)
	tok := wordTok(t, train)
	m := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 12, Hidden: 16, Layers: 1}, 2)
	opt := DefaultLMTrainOptions()
	opt.SeqLen, opt.Batch, opt.Epochs, opt.LR, opt.Warmup, opt.Samples = 12, 8, 6, 1e-2, 5, 0
	res, err := TrainLM(context.Background(), m, LMData{Train: train, Val: val}, opt, nil)
	require.NoError(t, err)
	assert.Less(t, res.BestVal.FwdPerplexity, 2.4)
	assert.True(t, math.IsNaN(res.BestVal.Bwd), "a forward-only LM has no backward loss")
}

// TestLMFileLayout: the model file's tensors carry the classifier's names
// and shapes, the backward LM under _reverse; a stacked bidirectional
// layer's input matrix has the other direction's half zero; and a loaded
// file gives back the same model.
func TestLMFileLayout(t *testing.T) {
	tok := wordTok(t, grammarDocs(30, 1))
	cfg := LMConfig{Cell: rnn.GRU, Embedding: 6, Hidden: 5, Layers: 2, Bidirectional: true, Dropout: 0.1}
	m := tinyLM(t, tok, cfg, 4)
	m.Meta["trained_on"] = "toy"
	path := filepath.Join(t.TempDir(), "lm.safetensors")
	require.NoError(t, m.Save(path, rnn.F32))
	info, ts, err := rnn.LoadModel(path, LMKind)
	require.NoError(t, err)
	assert.Equal(t, "toy", info.Meta["trained_on"])
	byName := map[string]rnn.Tensor{}
	for _, tt := range ts {
		byName[tt.Name] = tt
	}
	clf, err := New(Config{Cell: rnn.GRU, Embedding: 6, Hidden: 5, Layers: 2, Bidirectional: true, Labels: []string{"a", "b"}}, tok)
	require.NoError(t, err)
	n := 0
	for _, p := range clf.Params.List() {
		if strings.HasPrefix(p.Name, "fc.") {
			continue
		}
		tt, ok := byName[p.Name]
		require.True(t, ok, "the LM file lacks %s", p.Name)
		assert.Equal(t, p.Shape, tt.Shape, p.Name)
		n++
	}
	assert.Len(t, ts, n+2, "the encoder's tensors plus decoder.weight and decoder.bias")
	H, GH := 5, 15
	fwd, rev := byName["rnn.weight_ih_l1"], byName["rnn.weight_ih_l1_reverse"]
	for r := 0; r < GH; r++ {
		assert.Equal(t, make([]float32, H), fwd.Data[r*2*H+H:(r+1)*2*H], "forward direction reads only the forward layer below")
		assert.Equal(t, make([]float32, H), rev.Data[r*2*H:r*2*H+H], "backward direction reads only the backward layer below")
		assert.Equal(t, m.Params.Get("rnn_reverse.weight_ih_l1").W[r*H:(r+1)*H], rev.Data[r*2*H+H:(r+1)*2*H])
	}
	assert.Equal(t, m.Params.Get("rnn_reverse.weight_hh_l0").W, byName["rnn.weight_hh_l0_reverse"].Data)

	m2, err := LoadLM(path)
	require.NoError(t, err)
	assert.Equal(t, m.Config, m2.Config)
	assert.Equal(t, m.Params.Values, m2.Params.Values)
	ids := []int32{4, 5, 6}
	assert.Equal(t, m.PredictNext(ids), m2.PredictNext(ids))
	assert.Equal(t, m.PredictPrev(ids), m2.PredictPrev(ids))

	// A classifier file is not an LM.
	cp := filepath.Join(t.TempDir(), "clf.safetensors")
	require.NoError(t, clf.Save(cp, rnn.F32))
	_, err = LoadLM(cp)
	require.ErrorContains(t, err, `"sentiment" model`)
}

func TestLMConfigErrors(t *testing.T) {
	tok := wordTok(t, grammarDocs(10, 1))
	_, err := NewLM(LMConfig{Cell: rnn.GRU, Embedding: 8, Hidden: 6, Layers: 1, Tied: true}, tok)
	require.ErrorContains(t, err, "tied")
	_, err = NewLM(LMConfig{Cell: rnn.GRU, Embedding: 8, Hidden: 8, Layers: 0}, tok)
	require.Error(t, err)
	m := tinyLM(t, tok, LMConfig{Cell: rnn.GRU, Embedding: 4, Hidden: 4, Layers: 1}, 1)
	opt := DefaultLMTrainOptions()
	_, err = TrainLM(context.Background(), m, LMData{Train: grammarDocs(2, 1), Val: grammarDocs(2, 2)}, opt, nil)
	require.ErrorContains(t, err, "too few")
	opt.Proposal = "zipf"
	_, err = TrainLM(context.Background(), m, LMData{Train: grammarDocs(2, 1), Val: grammarDocs(2, 2)}, opt, nil)
	require.ErrorContains(t, err, "proposal")
	assert.Equal(t, LMConfig{Cell: rnn.GRU, Vocab: 100, Embedding: 128, Hidden: 128, Layers: 1, Bidirectional: true, Dropout: 0.1}, DefaultLMConfig(100))
}

func lmF64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}
