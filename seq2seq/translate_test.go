package seq2seq

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
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
