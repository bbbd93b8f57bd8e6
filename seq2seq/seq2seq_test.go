package seq2seq

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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

// wordTok is a word tokenizer over an invented vocabulary.
func wordTok(t testing.TB, words string) tokenize.Tokenizer {
	t.Helper()
	tok, err := tokenize.TrainWord(strings.NewReader(words), tokenize.WordOptions{})
	require.NoError(t, err)
	return tok
}

func toF64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}

// TestModelGradients checks the whole model's backward pass (encoder,
// bridge, attention, decoder, output layer, embeddings) against central
// finite differences on tiny configurations with a ragged batch.
func TestModelGradients(t *testing.T) {
	src := wordTok(t, "a b c d e f")
	tgt := wordTok(t, "u v w x y")
	cases := []Config{
		{Cell: rnn.GRU, Attention: rnn.Additive},
		{Cell: rnn.LSTM, Attention: rnn.General, InputFeeding: true},
		{Cell: rnn.GRU, Attention: rnn.Dot, TieEmbeddings: true, DecLayers: 2},
		{Cell: rnn.LSTM, Attention: rnn.Additive, EncLayers: 2, TieEmbeddings: true, InputFeeding: true},
	}
	for i, cfg := range cases {
		cfg.Embedding, cfg.EncHidden, cfg.DecHidden, cfg.AttnHidden = 3, 3, 4, 5
		if cfg.Attention == rnn.Dot {
			cfg.DecHidden = 6
		}
		t.Run(fmt.Sprintf("%d-%s-%s-feed=%v-tied=%v", i, cfg.Cell, cfg.Attention, cfg.InputFeeding, cfg.TieEmbeddings), func(t *testing.T) {
			m, err := New(cfg, src, tgt)
			require.NoError(t, err)
			m.Init(rand.New(rand.NewPCG(1, uint64(i))))
			var bt batch
			bt.fill([][]int32{{4, 5, 6, 7}, {8, 4}, {9, 5, 6}}, [][]int32{{4, 5, 6}, {7}, {8, 4}})
			w := newWork(m)
			rng := rand.New(rand.NewPCG(3, 3))
			loss := func() float64 {
				l, _ := w.forward(&bt, true, 1, 0.1, rng, false)
				return l
			}
			w.forward(&bt, true, 1, 0.1, rng, true)
			m.Params.ZeroGrad()
			w.backward(&bt)
			grads := append([]float32(nil), m.Params.Grads...)
			vals := m.Params.Values
			want := fd.Gradient(nil, func(v []float64) float64 {
				for i := range v {
					vals[i] = float32(v[i])
				}
				return loss()
			}, toF64(vals), &fd.Settings{Formula: fd.Central, Step: 1e-2})
			bad := 0
			for _, p := range m.Params.List() {
				off := &p.W[0]
				base := 0
				for k := range vals {
					if &vals[k] == off {
						base = k
						break
					}
				}
				for j := range p.W {
					g, f := float64(grads[base+j]), want[base+j]
					if math.Abs(g-f) > 2e-3+2e-2*math.Abs(f) && bad < 5 {
						t.Errorf("%s[%d]: analytic %.6f, finite difference %.6f", p.Name, j, g, f)
						bad++
					}
				}
			}
		})
	}
}

// synthetic makes pairs of a toy task: the target is the source reversed,
// with every word mapped to its upper-case twin.
func synthetic(n int, seed uint64) []Pair {
	r := rand.New(rand.NewPCG(seed, 9))
	words := strings.Fields("ka lo mi nu pe ra si tu")
	var out []Pair
	for i := 0; i < n; i++ {
		l := 2 + r.IntN(4)
		var s, tt []string
		for j := 0; j < l; j++ {
			s = append(s, words[r.IntN(len(words))])
		}
		for j := l - 1; j >= 0; j-- {
			tt = append(tt, strings.ToUpper(s[j]))
		}
		out = append(out, Pair{Source: strings.Join(s, " "), Target: strings.Join(tt, " ")})
	}
	return out
}

func tinyModel(t testing.TB, pairs []Pair, cfg Config) *Model {
	var s, tg strings.Builder
	for _, p := range pairs {
		s.WriteString(p.Source + "\n")
		tg.WriteString(p.Target + "\n")
	}
	m, err := New(cfg, wordTok(t, s.String()), wordTok(t, tg.String()))
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(5, 5)))
	return m
}

func TestLearnsReversal(t *testing.T) {
	pairs := synthetic(1500, 1)
	val := synthetic(100, 2)
	m := tinyModel(t, pairs, Config{Cell: rnn.GRU, Embedding: 16, EncHidden: 32, DecHidden: 32, Attention: rnn.Additive})
	res, err := Train(context.Background(), m, pairs, trainOpts(func(o *TrainOptions) {
		o.Batch, o.Epochs, o.LR, o.Warmup, o.Val, o.Seed, o.LabelSmoothing = 32, 6, 1e-2, 20, val, 3, 0
	}), nil)
	require.NoError(t, err)
	t.Logf("best BLEU %.1f at step %d of %d", res.BestBLEU, res.BestStep, res.Steps)
	srcs := make([]string, len(val))
	for i, p := range val {
		srcs[i] = p.Source
	}
	trs, err := m.Translate(context.Background(), srcs, TranslateOptions{})
	require.NoError(t, err)
	correct := 0
	for i, tr := range trs {
		if tr.Text == val[i].Target {
			correct++
		}
	}
	t.Logf("exact greedy matches %d/%d, e.g. %q -> %q", correct, len(val), srcs[0], trs[0].Text)
	assert.GreaterOrEqual(t, correct, 90, "greedy exact matches")
	assert.Greater(t, res.BestBLEU, 90.0)

	// beam search of width 1 is greedy decoding
	b1, err := m.Translate(context.Background(), srcs, TranslateOptions{Beam: 1 + 0, Batch: 7})
	require.NoError(t, err)
	inf := newInfer(m)
	var ids [][]int32
	for _, s := range srcs[:20] {
		ids = append(ids, m.Src.Encode(s))
	}
	g := inf.greedy(ids, TranslateOptions{MaxLenRatio: 2})
	bm := inf.beam(ids, TranslateOptions{Beam: 1, MaxLenRatio: 2, LengthPenalty: -1})
	for i := range g {
		require.Len(t, bm[i], 1, "width 1 keeps one hypothesis")
		assert.Equal(t, g[i].toks, bm[i][0].toks, "sentence %d", i)
		assert.InDelta(t, g[i].logProb, bm[i][0].logProb, 1e-4)
		assert.Equal(t, g[i].attn, bm[i][0].attn)
	}
	for i := range b1 {
		assert.Equal(t, trs[i].Text, b1[i].Text)
	}
	// beam 4 finds translations at least as likely (length-normalised) as greedy on this easy task
	b4, err := m.Translate(context.Background(), srcs, TranslateOptions{Beam: 4})
	require.NoError(t, err)
	// its n-best list starts with the translation, best first, at most Beam long
	nb, err := m.Translate(context.Background(), srcs, TranslateOptions{Beam: 4, NBest: 3})
	require.NoError(t, err)
	for i := range nb {
		assert.Equal(t, b4[i].Text, nb[i].Text)
		require.NotEmpty(t, nb[i].NBest)
		assert.LessOrEqual(t, len(nb[i].NBest), 3)
		assert.Equal(t, nb[i].Text, nb[i].NBest[0].Text)
		assert.InDelta(t, nb[i].LogProb, nb[i].NBest[0].LogProb, 1e-9)
		for j := 1; j < len(nb[i].NBest); j++ {
			assert.GreaterOrEqual(t, nb[i].NBest[j-1].Score, nb[i].NBest[j].Score)
		}
	}
	same := 0
	for i := range b4 {
		if b4[i].Text == val[i].Target {
			same++
		}
		assert.Len(t, b4[i].Attention, len(b4[i].Target))
		assert.Len(t, b4[i].Attention[0], len(b4[i].Source))
	}
	assert.GreaterOrEqual(t, same, 90)

	// save / load round trip gives the same translations
	path := filepath.Join(t.TempDir(), "m.safetensors")
	m.Meta["license"] = "test"
	require.NoError(t, m.Save(path, rnn.F32))
	m2, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, m.Config, m2.Config)
	assert.Equal(t, "test", m2.Meta["license"])
	trs2, err := m2.Translate(context.Background(), srcs, TranslateOptions{})
	require.NoError(t, err)
	assert.Equal(t, trs, trs2)
}

func TestTranslateBadInput(t *testing.T) {
	pairs := synthetic(50, 1)
	m := tinyModel(t, pairs, Config{Cell: rnn.LSTM, Embedding: 4, EncHidden: 4, DecHidden: 4, Attention: rnn.General, InputFeeding: true, TieEmbeddings: true})
	trs, err := m.Translate(context.Background(), []string{"", "ka lo", "zz unknown"}, TranslateOptions{Beam: 3})
	require.NoError(t, err)
	assert.Equal(t, "", trs[0].Text)
	assert.NotEmpty(t, trs[1].Target)
	_, err = m.Translate(context.Background(), []string{"ok", "bad \xff"}, TranslateOptions{})
	assert.ErrorIs(t, err, ErrInvalidUTF8)
	assert.Contains(t, err.Error(), "sentence 2")
	_, err = m.Translate(context.Background(), []string{strings.Repeat("ka ", 1000)}, TranslateOptions{})
	assert.ErrorIs(t, err, ErrTooLong)
}

func TestUnkReplacement(t *testing.T) {
	pairs := synthetic(50, 1)
	m := tinyModel(t, pairs, Config{Cell: rnn.GRU, Embedding: 4, EncHidden: 4, DecHidden: 4})
	text := "ka Zorblax lo"
	ids, offs := m.Src.EncodeOffsets(text)
	require.Equal(t, tokenize.Unk, ids[1])
	ka, _ := m.Tgt.ID("KA")
	h := hyp{toks: []int32{ka, tokenize.Unk, tokenize.EOS}, attn: [][]float32{{1, 0, 0}, {0.1, 0.8, 0.1}, {0, 0, 1}}}
	tr := m.render(text, ids, offs, h, false, nil)
	assert.Equal(t, "KA Zorblax", tr.Text)
	assert.Equal(t, "KA <unk>", m.render(text, ids, offs, h, true, nil).Text)
}

func TestBatchLayout(t *testing.T) {
	var b batch
	b.fill([][]int32{{5, 6}, {7}}, [][]int32{{8}, {9, 10}})
	assert.Equal(t, 2, b.S)
	assert.Equal(t, 3, b.T)
	assert.Equal(t, []int32{5, 7, 6, 0}, b.src)
	assert.Equal(t, []int{2, 1}, b.srcLen)
	assert.Equal(t, []int32{tokenize.BOS, tokenize.BOS, 8, 9, 0, 10}, b.tgtIn)
	assert.Equal(t, []int32{8, 9, tokenize.EOS, 10, -1, tokenize.EOS}, b.tgtOut)
	assert.Equal(t, 5, b.tokens)
}

func TestSplitPairsGrouped(t *testing.T) {
	var pairs []Pair
	for i := 0; i < 400; i++ {
		s := fmt.Sprintf("sentence %d", i/3)
		pairs = append(pairs, Pair{Source: s, Target: fmt.Sprintf("t %d", i)})
	}
	tr, val := SplitPairs(pairs, 0.1, 1)
	assert.Equal(t, len(pairs), len(tr)+len(val))
	assert.NotEmpty(t, val)
	seen := map[string]bool{}
	for _, p := range tr {
		seen[p.Source] = true
	}
	for _, p := range val {
		assert.False(t, seen[p.Source], "validation source %q is in training", p.Source)
	}
	srcs, refs := GroupReferences(pairs[:7])
	assert.Equal(t, []string{"sentence 0", "sentence 1", "sentence 2"}, srcs)
	assert.Equal(t, []string{"t 0", "t 1", "t 2"}, refs[0])
	assert.Equal(t, []string{"t 6"}, refs[2])
}

// TestResumeBitExact interrupts a run, resumes it from its checkpoint and
// compares the final weights with an uninterrupted run of the same seed.
func TestResumeBitExact(t *testing.T) {
	pairs, val := synthetic(300, 3), synthetic(30, 4)
	mk := func() *Model {
		return tinyModel(t, pairs, Config{Cell: rnn.GRU, Embedding: 8, EncHidden: 8, DecHidden: 8, Dropout: 0.1})
	}
	opt := trainOpts(func(o *TrainOptions) { o.Batch, o.Epochs, o.Val, o.EvalEvery, o.TeacherForcing = 16, 2, val, 7, 0.7 })
	full := mk()
	resFull, err := Train(context.Background(), full, pairs, opt, nil)
	require.NoError(t, err)

	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	part := mk()
	ctx, cancel := context.WithCancel(context.Background())
	o := opt
	o.CheckpointPath = ck
	_, err = Train(ctx, part, pairs, o, func(p Progress) {
		if p.Step == 23 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	resumed, res, err := Resume(context.Background(), ck, pairs, o, nil)
	require.NoError(t, err)
	assert.Equal(t, resFull.Steps, res.Steps)
	assert.Equal(t, resFull.BestBLEU, res.BestBLEU)
	assert.Equal(t, full.Params.Values, resumed.Params.Values)
}

// TestCopyNames: a source name the translation lacks replaces the target
// words that attended to it; a name already there, or one nothing
// attended to, changes nothing.
func TestCopyNames(t *testing.T) {
	pairs := synthetic(50, 1)
	m := tinyModel(t, pairs, Config{Cell: rnn.GRU, Embedding: 4, EncHidden: 4, DecHidden: 4})
	text := "ka Zorblax lo"
	ids, offs := m.Src.EncodeOffsets(text)
	ka, _ := m.Tgt.ID("KA")
	lo, _ := m.Tgt.ID("LO")
	m.SetLexicon([]string{"ka"}) // LO is made up
	toName := []float32{0.1, 0.8, 0.1}
	h := hyp{toks: []int32{ka, lo, lo, tokenize.EOS}, attn: [][]float32{{1, 0, 0}, toName, toName, {0, 0, 1}}}
	assert.Equal(t, "KA LO LO", m.render(text, ids, offs, h, false, nil).Text)
	assert.Equal(t, "KA Zorblax", m.render(text, ids, offs, h, false, m.lexicon()).Text)
	// Only the words that attended to the name go.
	h.attn[1] = []float32{0, 0, 1}
	assert.Equal(t, "KA LO Zorblax", m.render(text, ids, offs, h, false, m.lexicon()).Text)
	h.attn[2] = []float32{0, 0, 1}
	assert.Equal(t, "KA LO LO", m.render(text, ids, offs, h, false, m.lexicon()).Text, "nothing attended to the name")
	h.attn[1], h.attn[2] = toName, toName
	m.SetLexicon([]string{"ka", "lo"})
	assert.Equal(t, "KA LO LO", m.render(text, ids, offs, h, false, m.lexicon()).Text, "capitalised real words stay (Tokio for Tokyo)")
	m.SetLexicon(nil)
	assert.Equal(t, "KA LO LO", m.render(text, ids, offs, h, false, m.lexicon()).Text, "no lexicon, no copying")

	// Through Translate: the option reaches render; a name in the output stays.
	trs, err := m.Translate(context.Background(), []string{"ka lo"}, TranslateOptions{CopyNames: true})
	require.NoError(t, err)
	plain, err := m.Translate(context.Background(), []string{"ka lo"}, TranslateOptions{})
	require.NoError(t, err)
	assert.Equal(t, plain[0].Text, trs[0].Text, "no names in the source: no change")
}

// TestNonFiniteKeepsBest: as sentiment's: one ErrNonFinite, best weights kept.
func TestNonFiniteKeepsBest(t *testing.T) {
	pairs := synthetic(200, 1)
	m := tinyModel(t, pairs, Config{Cell: rnn.GRU, Embedding: 4, EncHidden: 4, DecHidden: 4})
	start := slices.Clone(m.Params.Values)
	res, err := Train(context.Background(), m, pairs, trainOpts(func(o *TrainOptions) {
		o.Batch, o.Epochs, o.LR, o.Warmup, o.EvalEvery, o.Val = 16, 4, 1e38, 1, 1000, synthetic(20, 2)
	}), nil)
	require.ErrorIs(t, err, ErrNonFinite)
	require.ErrorIs(t, err, rnn.ErrNonFinite)
	assert.Positive(t, res.Steps)
	assert.Equal(t, start, m.Params.Values)
}

// trainOpts returns DefaultTrainOptions changed by set.
func trainOpts(set func(o *TrainOptions)) TrainOptions {
	o := DefaultTrainOptions()
	set(&o)
	return o
}

// TestGradientsSameOnAnyThreads: a training step's gradients are the same
// bits on one thread and on two (the products, the attention and the loss
// split their work over goroutines where large), on a W4-shaped model with
// a ragged batch of 64, additive and general attention.
func TestGradientsSameOnAnyThreads(t *testing.T) {
	for _, att := range []rnn.AttentionKind{rnn.Additive, rnn.General} {
		const V, B, T = 600, 64, 12
		cfg := DefaultConfig(V, V)
		cfg.Attention = att
		m, err := New(cfg, synthVocabTok(t, V), synthVocabTok(t, V))
		require.NoError(t, err)
		m.Init(rand.New(rand.NewPCG(1, 1)))
		r := rand.New(rand.NewPCG(2, 2))
		srcs, tgts := make([][]int32, B), make([][]int32, B)
		for i := range srcs {
			srcs[i], tgts[i] = make([]int32, 3+r.IntN(T)), make([]int32, 2+r.IntN(T))
			for k := range srcs[i] {
				srcs[i][k] = int32(4 + r.IntN(V-4))
			}
			for k := range tgts[i] {
				tgts[i][k] = int32(4 + r.IntN(V-4))
			}
		}
		var bt batch
		bt.fill(srcs, tgts)
		grads := func(threads int) []float32 {
			kernel.SetThreads(threads)
			defer kernel.SetThreads(0)
			w := newWork(m)
			w.forward(&bt, true, 1, 0.1, rand.New(rand.NewPCG(3, 3)), true)
			m.Params.ZeroGrad()
			w.backward(&bt)
			return append([]float32(nil), m.Params.Grads...)
		}
		g1, g2 := grads(1), grads(2)
		for i := range g1 {
			if math.Float32bits(g1[i]) != math.Float32bits(g2[i]) {
				t.Fatalf("%v attention: gradient %d is %v on one thread, %v on two", att, i, g1[i], g2[i])
			}
		}
	}
}

// TestBPEDropoutResumeBitExact: with BPE-dropout the encodings change every
// epoch, yet a resumed run ends with the weights of an uninterrupted one,
// and the run differs from one without dropout. A word vocabulary, having
// no merges, is refused.
func TestBPEDropoutResumeBitExact(t *testing.T) {
	pairs, val := synthetic(300, 3), synthetic(30, 4)
	src, tgt, err := TrainTokenizers(pairs, TokenizerOptions{Kind: TokenizerBPE, SrcVocab: 40, TgtVocab: 40, SplitPunct: true})
	require.NoError(t, err)
	mk := func() *Model {
		m, err := New(Config{Cell: rnn.GRU, Embedding: 8, EncHidden: 8, DecHidden: 8}, src, tgt)
		require.NoError(t, err)
		m.Init(rand.New(rand.NewPCG(5, 5)))
		return m
	}
	opt := trainOpts(func(o *TrainOptions) { o.Batch, o.Epochs, o.Val, o.EvalEvery, o.BPEDropout = 16, 2, val, 7, 0.2 })
	full := mk()
	resFull, err := Train(context.Background(), full, pairs, opt, nil)
	require.NoError(t, err)

	ck := filepath.Join(t.TempDir(), "run.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	o := opt
	o.CheckpointPath = ck
	_, err = Train(ctx, mk(), pairs, o, func(p Progress) {
		if p.Step == 23 { // in the second epoch
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	resumed, res, err := Resume(context.Background(), ck, pairs, o, nil)
	require.NoError(t, err)
	assert.Equal(t, resFull.Steps, res.Steps)
	assert.Equal(t, full.Params.Values, resumed.Params.Values)

	plain := mk()
	o = opt
	o.BPEDropout = 0
	_, err = Train(context.Background(), plain, pairs, o, nil)
	require.NoError(t, err)
	assert.NotEqual(t, plain.Params.Values, full.Params.Values, "BPE-dropout changed nothing")

	o = opt
	o.BPEDropout = 1
	_, err = Train(context.Background(), mk(), pairs, o, nil)
	require.ErrorContains(t, err, "not a probability")
	_, err = Train(context.Background(), tinyModel(t, pairs, Config{Cell: rnn.GRU, Embedding: 4, EncHidden: 4, DecHidden: 4}), pairs, opt, nil)
	require.ErrorContains(t, err, "BPE-dropout needs BPE tokenizers")
}
