package charrnn

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// tinyModel builds a small model of cell for text's characters,
// initialized from seed and, when epochs > 0, trained on text briefly.
func tinyModel(t testing.TB, text string, cell rnn.Cell, seed uint64, epochs float64) *Model {
	t.Helper()
	tok, err := tokenize.TrainRune(strings.NewReader(text), tokenize.RuneOptions{})
	require.NoError(t, err)
	m, err := New(Config{Cell: cell, Embedding: 8, Hidden: 24, Layers: 2}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(seed, 7)))
	if epochs > 0 {
		_, err = Train(context.Background(), m, text, trainOpts(func(o *TrainOptions) {
			o.SeqLen, o.Batch, o.Epochs, o.LR, o.Seed = 16, 8, epochs, 1e-2, seed
		}), nil)
		require.NoError(t, err)
	}
	return m
}

// sampleOptions are the sampling modes the ensemble tests compare.
var sampleOptions = []SampleOptions{
	{N: 120, Seed: 1},
	{N: 120, Seed: 2, Temperature: 1.3, TopK: 4},
	{N: 120, Seed: 3, Temperature: 0.7, TopP: 0.9},
	{N: 80, Seed: 4, Greedy: true},
	{N: 200, Seed: 5, Temperature: 1.5, Stop: []string{"\n"}, Prime: "a dog ran.\n"},
	{N: 60, Seed: 6, NoPrime: true},
}

// evalOptions are the evaluation modes they compare.
var evalOptions = []EvalOptions{{}, {Streams: 1}, {Streams: 3, Window: 50}, {Streams: 2, Window: 64, Stateless: true}}

func ensembleGenerate(t *testing.T, e *Ensemble, seed string, opt SampleOptions) (string, Generation) {
	t.Helper()
	var b strings.Builder
	res, err := e.GenerateScored(context.Background(), seed, opt, func(s string) error { b.WriteString(s); return nil })
	require.NoError(t, err)
	return b.String(), res
}

// TestEnsembleOfOneIsTheModel: an ensemble of one model is the model
// itself, bit for bit: its generations and evaluations are the model's.
func TestEnsembleOfOneIsTheModel(t *testing.T) {
	m := newTiny(t, synthetic(2000), rnn.LSTM)
	e, err := NewEnsemble(m)
	require.NoError(t, err)
	require.Equal(t, 1, e.Len())
	for _, opt := range sampleOptions {
		want, wantRes := generate(t, m, "the ", opt)
		got, res := ensembleGenerate(t, e, "the ", opt)
		require.Equal(t, want, got, "%+v", opt)
		require.Equal(t, wantRes, res, "%+v", opt)
	}
	text := synthetic(3000)
	for _, opt := range evalOptions {
		want, err := m.EvaluateWith(text, opt)
		require.NoError(t, err)
		got, err := e.EvaluateWith(text, opt)
		require.NoError(t, err)
		require.Equal(t, want, got, "%+v", opt)
	}
}

// TestEnsembleWithItself: the mixture of a model with itself is the model's
// distribution, so the ensemble scores the model's loss and, for a given
// rng seed, generates the model's text with its log-likelihood, in every
// mode; int8 models too.
func TestEnsembleWithItself(t *testing.T) {
	text := synthetic(3000)
	for _, quantized := range []bool{false, true} {
		m := tinyModel(t, text, rnn.LSTM, 1, 3)
		if quantized {
			m.Quantize()
		}
		e, err := NewEnsemble(m, m)
		require.NoError(t, err)
		for _, opt := range evalOptions {
			want, err := m.EvaluateWith(text, opt)
			require.NoError(t, err)
			got, err := e.EvaluateWith(text, opt)
			require.NoError(t, err)
			assert.InDelta(t, want.Loss, got.Loss, 1e-9, "int8 %v: %+v", quantized, opt)
			want.Loss, want.BitsPerChar, want.Perplexity = got.Loss, got.BitsPerChar, got.Perplexity
			assert.Equal(t, want, got, "int8 %v: %+v", quantized, opt)
		}
		for _, opt := range sampleOptions {
			want, wantRes := generate(t, m, "the ", opt)
			got, res := ensembleGenerate(t, e, "the ", opt)
			require.Equal(t, want, got, "int8 %v: %+v", quantized, opt)
			require.Equal(t, wantRes.Chars, res.Chars)
			require.Equal(t, wantRes.Stop, res.Stop)
			require.InDelta(t, wantRes.LogProb, res.LogProb, 1e-9)
		}
	}
}

// TestEnsembleIsTheMeanOfProbabilities: at every character the ensemble's
// probability is the arithmetic mean of its models' (not their geometric
// mean), so its log-loss is at most the mean of theirs character by
// character, and on the whole text in every evaluation mode.
func TestEnsembleIsTheMeanOfProbabilities(t *testing.T) {
	text := synthetic(3000)
	a := tinyModel(t, text, rnn.LSTM, 1, 6)
	b := tinyModel(t, text, rnn.GRU, 2, 3)
	c := tinyModel(t, text, rnn.LSTM, 3, 0) // untrained: nearly uniform
	c.Quantize()                            // and int8
	for _, models := range [][]*Model{{a, b}, {b, a}, {a, b, c}} {
		e, err := NewEnsemble(models...)
		require.NoError(t, err)

		// Character by character, through the generators.
		ids := a.Tok.Encode(text[:600])
		eg := e.NewGenerator()
		gens := make([]*Generator, len(models))
		for k, m := range models {
			gens[k] = m.NewGenerator()
		}
		for i := 0; i+1 < len(ids); i++ {
			eg.Feed(ids[i])
			var meanP, meanLP float64
			for _, g := range gens {
				g.Feed(ids[i])
				lp := g.LogProb(ids[i+1])
				meanP += math.Exp(lp) / float64(len(gens))
				meanLP += lp / float64(len(gens))
			}
			got := eg.LogProb(ids[i+1])
			require.InDelta(t, math.Log(meanP), got, 1e-5, "character %d", i+1)
			require.GreaterOrEqual(t, got, meanLP-1e-6, "character %d", i+1)
		}
		var sum float64
		for id := range eg.Logits() {
			sum += math.Exp(eg.LogProb(int32(id)))
		}
		require.InDelta(t, 1, sum, 1e-6)

		// On the whole text.
		for _, opt := range evalOptions {
			mix, err := e.EvaluateWith(text, opt)
			require.NoError(t, err)
			var mean float64
			for _, m := range models {
				r, err := m.EvaluateWith(text, opt)
				require.NoError(t, err)
				require.Equal(t, r.Chars, mix.Chars)
				mean += r.Loss / float64(len(models))
			}
			t.Logf("%d models, %+v: mixture %.4f, mean of the models %.4f nats/char", len(models), opt, mix.Loss, mean)
			require.LessOrEqual(t, mix.Loss, mean+1e-6, "%+v", opt)
		}
	}
}

// TestEnsembleGenerateScoredMatchesEvaluate: an ensemble's GenerateScored
// reports the log-likelihood its evaluation gives the text it generated.
func TestEnsembleGenerateScoredMatchesEvaluate(t *testing.T) {
	text := synthetic(3000)
	e, err := NewEnsemble(tinyModel(t, text, rnn.LSTM, 1, 1), tinyModel(t, text, rnn.GRU, 2, 0.5))
	require.NoError(t, err)
	total := func(s string) float64 {
		r, err := e.EvaluateWith(s, EvalOptions{Streams: 1})
		require.NoError(t, err)
		return r.Loss * float64(r.Chars)
	}
	for _, opt := range sampleOptions[:3] {
		got, res := ensembleGenerate(t, e, "the ", opt)
		prefix := DefaultPrime + "the "
		want := -(total(prefix+got) - total(prefix)) / float64(res.Chars)
		require.InDelta(t, want, res.MeanLogProb(), 1e-4, "%+v", opt)
	}
}

// TestEnsembleTokenizers: models whose vocabularies or ids differ are
// refused with an error that says how.
func TestEnsembleTokenizers(t *testing.T) {
	text := synthetic(2000)
	a := newTiny(t, text, rnn.LSTM)
	more := newTiny(t, text+"Z!", rnn.GRU) // "Z" and "!" more
	_, err := NewEnsemble(a, more)
	var te *TokenizerError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 1, te.Model)
	require.EqualError(t, err, `charrnn: ensemble model 2 has `+strconv.Itoa(more.Config.Vocab)+` tokens and model 1 `+strconv.Itoa(a.Config.Vocab)+
		`; "!", "Z" are only in ensemble model 2; an ensemble needs models with the same vocabulary and ids (train them on the same text)`)
	require.Equal(t, `b.safetensors has `+strconv.Itoa(more.Config.Vocab)+` tokens and a.safetensors `+strconv.Itoa(a.Config.Vocab)+
		`; "!", "Z" are only in b.safetensors; an ensemble needs models with the same vocabulary and ids (train them on the same text)`,
		te.Describe("b.safetensors", "a.safetensors"))

	// The same size, other characters; the same characters, other ids.
	other := newTiny(t, strings.ReplaceAll(text, "?", "!"), rnn.LSTM)
	_, err = NewEnsemble(a, a, other)
	require.ErrorAs(t, err, &te)
	require.Equal(t, 2, te.Model)
	require.ErrorContains(t, err, `"!" is only in ensemble model 3; "?" is only in model 1`)
	tj, err := a.Tok.MarshalJSON()
	require.NoError(t, err)
	var f map[string]any
	require.NoError(t, json.Unmarshal(tj, &f))
	vocab := f["model"].(map[string]any)["vocab"].(map[string]any)
	x, y := a.Tok.Token(5), a.Tok.Token(6)
	vocab[x], vocab[y] = vocab[y], vocab[x]
	tj, err = json.Marshal(f)
	require.NoError(t, err)
	swapped, err := tokenize.Load(tj)
	require.NoError(t, err)
	m, err := New(Config{Cell: rnn.GRU, Embedding: 4, Hidden: 8, Layers: 1}, swapped)
	require.NoError(t, err)
	_, err = NewEnsemble(a, m)
	require.ErrorAs(t, err, &te)
	require.ErrorContains(t, err, `ensemble model 2 and model 1 have the same `+strconv.Itoa(a.Config.Vocab)+
		` tokens with other ids: id 5 is `+strconv.Quote(y)+` in ensemble model 2 and `+strconv.Quote(x)+` in model 1`)

	_, err = NewEnsemble()
	require.ErrorContains(t, err, "at least one model")
	_, err = NewEnsemble(a, nil)
	require.ErrorContains(t, err, "ensemble model 2 is nil")
	require.False(t, errors.As(err, &te))
}

// TestEnsembleGeneratorAllocs: feeding and sampling allocate nothing per
// character, for one model as for an ensemble.
func TestEnsembleGeneratorAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	text := synthetic(2000)
	a, b := newTiny(t, text, rnn.LSTM), newTiny(t, text, rnn.GRU)
	two, err := NewEnsemble(a, b)
	require.NoError(t, err)
	for _, g := range []*Generator{a.NewGenerator(), two.NewGenerator()} {
		rng := rand.New(rand.NewPCG(1, 1))
		g.Feed(5)
		opt := SampleOptions{Temperature: 0.9, TopP: 0.95}
		allocs := testing.AllocsPerRun(50, func() {
			id := g.Sample(rng, opt)
			_ = g.LogProb(id)
			g.Feed(id)
		})
		require.Zero(t, allocs)
	}
}

// TestEnsembleConcurrent: goroutines sharing one ensemble, each with its
// own generator, get the text they get alone.
func TestEnsembleConcurrent(t *testing.T) {
	text := synthetic(2000)
	e, err := NewEnsemble(newTiny(t, text, rnn.LSTM), newTiny(t, text, rnn.GRU))
	require.NoError(t, err)
	want := make([]string, 4)
	for i := range want {
		want[i], _ = ensembleGenerate(t, e, "the ", SampleOptions{N: 100, Seed: uint64(i)})
	}
	got := make([]string, len(want))
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			var b strings.Builder
			_, err := e.GenerateScored(context.Background(), "the ", SampleOptions{N: 100, Seed: uint64(i)}, func(s string) error { b.WriteString(s); return nil })
			if err == nil {
				got[i] = b.String()
			}
		})
	}
	wg.Wait()
	require.Equal(t, want, got)
}
