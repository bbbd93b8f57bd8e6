package seq2seq

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

func TestTidyPunct(t *testing.T) {
	for in, want := range map[string]string{
		"Por favor,.":          "Por favor.",
		"¡Hola, amigo,!":       "¡Hola, amigo!",
		"¿Vienes, ?":           "¿Vienes?",
		"Sí, claro.":           "Sí, claro.",
		"1,5 kilos.":           "1,5 kilos.",
		"Bueno, pues... vale.": "Bueno, pues... vale.",
		"¡ Buena suerte!":      "¡Buena suerte!",
		"Dime: ¿ qué pasa?":    "Dime: ¿qué pasa?",
	} {
		assert.Equal(t, want, tidyPunct(in), in)
	}
}

// TestBestLogProbMatchesLogSoftmax: the greedy decoder's choice from raw
// logits is bestOutput over rnn.LogSoftmax's output, token and
// log-probability bit for bit, also when distinct logits round to the same
// log-probability (then the first of them wins in both) and when the
// largest logit sits on a token that may not be output.
func TestBestLogProbMatchesLogSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const V = 300
	for trial := 0; trial < 2000; trial++ {
		z := make([]float32, V)
		for i := range z {
			z[i] = float32(rng.NormFloat64() * 3)
		}
		switch trial % 8 {
		case 1: // near-ties that log-softmax rounds together: small
			// logits (fine steps) against a log-sum-exp of about log V
			// (coarse steps), the largest last and a few ulps below it
			// earlier
			for i := range z {
				z[i] = float32(rng.NormFloat64() * 0.01)
			}
			z[V-1] = 0.1
			for k := 0; k < 3; k++ {
				z[4+rng.IntN(V-5)] = 0.1 - float32(1+rng.IntN(8))*7.5e-9
			}
		case 2: // the largest logit on <pad> or <s>
			z[tokenize.Pad], z[tokenize.BOS] = 50, 49
		case 3: // exact ties
			z[5], z[9] = 30, 30
		case 4: // a NaN logit
			z[7] = float32(math.NaN())
		case 5: // +Inf
			z[11] = float32(math.Inf(1))
		case 6: // all -Inf
			for i := range z {
				z[i] = float32(math.Inf(-1))
			}
		case 7: // large logits, a log-probability near 0
			for i := range z {
				z[i] += 1e4
			}
			z[V/2] += 40
		}
		lp := make([]float32, V)
		rnn.LogSoftmax(lp, z, 1, V)
		want := bestOutput(lp)
		lse, mx := rnn.LogSumExpMax(z)
		got, glp := bestLogProb(z, lse, mx)
		if got != want || math.Float32bits(glp) != math.Float32bits(lp[want]) {
			t.Fatalf("trial %d: token %d (log p %v), LogSoftmax gives %d (%v)", trial, got, glp, want, lp[want])
		}
	}
}

// extendTopPlain is extendTop as beam search first wrote it: every token
// scored and compared.
func extendTopPlain(top []cand, k int, lp []float32, sc float64, r int) []cand {
	for v, l := range lp {
		if int32(v) == tokenize.Pad || int32(v) == tokenize.BOS {
			continue
		}
		s := sc + float64(l)
		if len(top) == k && s <= top[len(top)-1].score {
			continue
		}
		c := cand{s, r, int32(v)}
		i := sort.Search(len(top), func(i int) bool { return top[i].score < s })
		if len(top) < k {
			top = append(top, cand{})
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = c
	}
	return top
}

// TestExtendTopMatchesPlain: beam search's candidates with the float32 cut
// are those of scoring every token, in the same order, with ties between
// and within rows, scores that round together, -Inf log-probabilities
// and very large or small scores.
func TestExtendTopMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const V = 200
	for trial := 0; trial < 1000; trial++ {
		k := 2 + rng.IntN(10)
		var fast, plain []cand
		for r := 0; r < 1+rng.IntN(5); r++ {
			lp := make([]float32, V)
			for i := range lp {
				lp[i] = -float32(rng.ExpFloat64() * 5)
				switch rng.IntN(40) {
				case 0:
					lp[i] = float32(math.Inf(-1))
				case 1:
					lp[i] = lp[rng.IntN(i+1)] // a tie
				case 2:
					lp[i] = math.Nextafter32(lp[rng.IntN(i+1)], 0)
				}
			}
			sc := -rng.ExpFloat64() * 20
			switch trial % 5 {
			case 1:
				sc = math.Round(sc) // scores that tie across rows
			case 2:
				sc *= 1e12 // s rounds coarsely: many l give one score
			case 3:
				sc = -1e-30
			}
			if trial%2 == 1 {
				// From logits: the log-probabilities LogSoftmax writes.
				z := lp
				for i := range z {
					if rng.IntN(30) > 0 && math.Abs(float64(z[i])) < 1e6 { // no overflow to +Inf
						z[i] = -z[i] * float32(rng.Float64()*3-1)
					}
				}
				lp = make([]float32, V)
				rnn.LogSoftmax(lp, z, 1, V)
				fast = extendTop(fast, k, z, rnn.LogSumExp(z), sc, r)
			} else {
				fast = extendTop(fast, k, lp, 0, sc, r)
			}
			plain = extendTopPlain(plain, k, lp, sc, r)
		}
		if len(fast) != len(plain) {
			t.Fatalf("trial %d: %d candidates, want %d", trial, len(fast), len(plain))
		}
		for i := range fast {
			if fast[i].row != plain[i].row || fast[i].tok != plain[i].tok || math.Float64bits(fast[i].score) != math.Float64bits(plain[i].score) {
				t.Fatalf("trial %d: candidate %d is %+v, want %+v", trial, i, fast[i], plain[i])
			}
		}
	}
}

// TestTranslateIndependentOfBatch: a sentence's translation does not depend
// on the sentences decoded beside it, bit for bit (log-probabilities and
// attention included), although the decoder drops the rows of finished
// sentences as it goes (greedy and beam), the beam projects each
// sentence's keys once and packed weights replace plain products: every
// sentence of a large batch gets what it gets in a batch of two. With an
// ensemble too, whose other model drops the same rows.
func TestTranslateIndependentOfBatch(t *testing.T) {
	pairs := synthetic(600, 7)
	// Widths of 64 and more: one row's matrix-vector products round
	// differently from the matrix kernel's there.
	cfg := Config{Cell: rnn.GRU, Embedding: 64, EncHidden: 40, DecHidden: 72, Attention: rnn.Additive, AttnHidden: 80, TieEmbeddings: true}
	m, other := tinyModel(t, pairs, cfg), tinyModel(t, pairs, cfg)
	other.Init(rand.New(rand.NewPCG(8, 8)))
	_, err := Train(context.Background(), m, pairs, trainOpts(func(o *TrainOptions) {
		o.Batch, o.Epochs, o.LR, o.Warmup, o.Seed, o.LabelSmoothing = 32, 1, 1e-2, 10, 3, 0
	}), nil)
	require.NoError(t, err)
	var texts []string
	for _, p := range synthetic(40, 8) {
		texts = append(texts, p.Source)
	}
	texts = append(texts, "ka", "lo mi nu pe ra si tu ka lo mi nu pe") // the shortest and the longest
	for _, tc := range []struct {
		name string
		opt  TranslateOptions
	}{
		{"greedy", TranslateOptions{Beam: 1}},
		{"beam3", TranslateOptions{Beam: 3, NBest: 3}},
		{"beam2-ensemble", TranslateOptions{Beam: 2, Ensemble: []*Model{other}}},
		{"greedy-ensemble", TranslateOptions{Beam: 1, Ensemble: []*Model{other}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all, err := m.Translate(context.Background(), texts, tc.opt)
			require.NoError(t, err)
			two := tc.opt
			two.Batch = 2 * max(1, tc.opt.Beam)
			for i := range texts {
				j := (i + 1) % len(texts)
				pair, err := m.Translate(context.Background(), []string{texts[i], texts[j]}, two)
				require.NoError(t, err)
				require.Equal(t, pair[0], all[i], "%q", texts[i])
				require.Equal(t, math.Float64bits(pair[0].LogProb), math.Float64bits(all[i].LogProb), "%q", texts[i])
			}
		})
	}
}

// TestSplitSentences: with SplitSentences a text of several sentences is
// their translations joined (text, tokens, block-diagonal attention,
// summed log-probabilities, n-best by rank), single sentences are as
// without it, and input errors still name the text.
// assertSameTranslation checks that a and b are the same translation: the
// same text and tokens exactly, and the same floats within rounding.
func assertSameTranslation(t *testing.T, a, b Translation, msg string) {
	t.Helper()
	assert.Equal(t, a.Text, b.Text, msg)
	assert.Equal(t, a.Source, b.Source, msg)
	assert.Equal(t, a.Target, b.Target, msg)
	assert.InDelta(t, a.LogProb, b.LogProb, 1e-4, msg)
	if assert.Len(t, b.Attention, len(a.Attention), msg) {
		for r := range a.Attention {
			assert.InDeltaSlice(t, a.Attention[r], b.Attention[r], 1e-5, msg)
		}
	}
	if assert.Len(t, b.NBest, len(a.NBest), msg) {
		for k := range a.NBest {
			assert.Equal(t, a.NBest[k].Text, b.NBest[k].Text, msg)
			assert.InDelta(t, a.NBest[k].Score, b.NBest[k].Score, 1e-4, msg)
		}
	}
}

// innerLen is how many of e's target tokens a joined translation keeps:
// all but an ending </s>, for a sentence that is not the text's last.
func innerLen(e Translation, inner bool) int {
	n := len(e.Target)
	if inner && n > 0 && e.Target[n-1] == tokenize.Specials[tokenize.EOS] {
		n--
	}
	return n
}

func TestSplitSentences(t *testing.T) {
	pairs := synthetic(200, 1)
	m := tinyModel(t, pairs, Config{Cell: rnn.GRU, Embedding: 8, EncHidden: 8, DecHidden: 8, Attention: rnn.Additive})
	ctx := context.Background()
	for _, beam := range []int{1, 3} {
		opt := TranslateOptions{Beam: beam, NBest: beam}
		parts := []string{"ka lo mi.", "Nu pe ra!", "Si tu?"}
		each, err := m.Translate(ctx, parts, opt)
		require.NoError(t, err)
		split := opt
		split.SplitSentences = true
		got, err := m.Translate(ctx, []string{"ka lo mi. Nu pe ra! Si tu?", "ka lo mi.", ""}, split)
		require.NoError(t, err)
		whole, err := m.Translate(ctx, []string{"ka lo mi."}, opt)
		require.NoError(t, err)
		// Batches of other shapes round differently in the last bits, so
		// floats are compared within a tolerance and tokens exactly.
		assertSameTranslation(t, whole[0], got[1], "one sentence: as without splitting")
		assert.Empty(t, got[2].Text)

		j := got[0]
		assert.Equal(t, each[0].Text+" "+each[1].Text+" "+each[2].Text, j.Text)
		assert.InDelta(t, each[0].LogProb+each[1].LogProb+each[2].LogProb, j.LogProb, 1e-4)
		var src, tgt []string
		for k, e := range each {
			src = append(src, e.Source...)
			n := innerLen(e, k < 2)
			tgt = append(tgt, e.Target[:n]...)
		}
		assert.Equal(t, src, j.Source)
		assert.Equal(t, tgt, j.Target)
		require.Len(t, j.Attention, len(j.Target))
		row, col := 0, 0
		for k, e := range each {
			n := innerLen(e, k < 2)
			for r := 0; r < n; r++ {
				require.Len(t, j.Attention[row+r], len(j.Source))
				for c, v := range j.Attention[row+r] {
					if c >= col && c < col+len(e.Source) {
						assert.InDelta(t, e.Attention[r][c-col], v, 1e-5)
					} else {
						assert.Zero(t, v, "attention outside the sentence's own source")
					}
				}
			}
			row, col = row+n, col+len(e.Source)
		}
		if beam > 1 {
			require.Len(t, j.NBest, beam)
			assert.Equal(t, j.Text, j.NBest[0].Text)
			assert.Equal(t, each[0].NBest[1].Text+" "+each[1].NBest[1].Text+" "+each[2].NBest[1].Text, j.NBest[1].Text)
			assert.InDelta(t, each[0].NBest[1].Score+each[1].NBest[1].Score+each[2].NBest[1].Score, j.NBest[1].Score, 1e-4)
		}
	}

	split := TranslateOptions{SplitSentences: true}
	_, err := m.Translate(ctx, []string{"ka.", "Lo. \xff"}, split)
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, 1, ie.Index)
	assert.ErrorIs(t, err, ErrInvalidUTF8)
	long := strings.TrimSpace(strings.Repeat("Ka lo mi nu pe ra si tu. ", MaxSourceTokens/4))
	_, err = m.Translate(ctx, []string{"ka.", long}, TranslateOptions{})
	require.ErrorIs(t, err, ErrTooLong, "whole, the text is too long")
	trs, err := m.Translate(ctx, []string{"ka.", long}, split)
	require.NoError(t, err, "one sentence at a time, it is not")
	assert.Len(t, trs, 2)
	_, err = m.Translate(ctx, []string{"ka.", "Ka lo. " + strings.Repeat("ka ", MaxSourceTokens+1)}, split)
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, 1, ie.Index, "the error names the text, not the sentence")
	assert.ErrorIs(t, err, ErrTooLong)
}
