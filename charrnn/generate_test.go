package charrnn

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/stretchr/testify/require"
)

// oldGenerate is Generate as it was before priming: the seed is fed to a
// zero state (an empty seed as a newline), then sample and feed.
func oldGenerate(t *testing.T, m *Model, seed string, opt SampleOptions) string {
	t.Helper()
	g := m.NewGenerator()
	if seed == "" {
		seed = "\n"
	}
	for _, id := range m.Tok.Encode(seed) {
		g.Feed(id)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x67656e))
	var b strings.Builder
	for i := 0; i < opt.N; i++ {
		id := g.Sample(rng, opt)
		b.WriteString(m.Tok.Token(id))
		g.Feed(id)
	}
	return b.String()
}

func generate(t *testing.T, m *Model, seed string, opt SampleOptions) (string, Generation) {
	t.Helper()
	var b strings.Builder
	res, err := m.GenerateScored(context.Background(), seed, opt, func(s string) error { b.WriteString(s); return nil })
	require.NoError(t, err)
	return b.String(), res
}

// TestPrimeWarmsTheState: the default prime is fed before the seed, so the
// state (and the next-character distribution) differs from the zero-state
// start, and equals feeding "\n\n" and then the seed by hand.
func TestPrimeWarmsTheState(t *testing.T) {
	m := newTiny(t, synthetic(2000), rnn.LSTM)
	byHand := func(text string) []float32 {
		g := m.NewGenerator()
		for _, id := range m.Tok.Encode(text) {
			g.Feed(id)
		}
		return g.Logits()
	}
	primed, err := m.Start("the ", SampleOptions{})
	require.NoError(t, err)
	cold, err := m.Start("the ", SampleOptions{NoPrime: true})
	require.NoError(t, err)
	custom, err := m.Start("the ", SampleOptions{Prime: "a dog.\n"})
	require.NoError(t, err)
	require.Equal(t, byHand("\n\nthe "), primed.Logits())
	require.Equal(t, byHand("the "), cold.Logits())
	require.Equal(t, byHand("a dog.\nthe "), custom.Logits())
	require.NotEqual(t, cold.Logits(), primed.Logits(), "priming must change the start state")

	// An empty seed starts right after the prime.
	empty, err := m.Start("", SampleOptions{})
	require.NoError(t, err)
	require.Equal(t, byHand("\n\n"), empty.Logits())
}

// TestNoPrimeIsTheOldBehaviour: NoPrime gives exactly the text Generate gave
// before priming, for a seed and for an empty seed, and the default prime
// starts elsewhere.
func TestNoPrimeIsTheOldBehaviour(t *testing.T) {
	m := newTiny(t, synthetic(2000), rnn.GRU)
	for _, seed := range []string{"the ", ""} {
		opt := SampleOptions{N: 80, Seed: 11, Temperature: 1.2}
		want := oldGenerate(t, m, seed, opt)
		opt.NoPrime = true
		got, res := generate(t, m, seed, opt)
		require.Equal(t, want, got, "seed %q", seed)
		require.Equal(t, 80, res.Chars)
		opt.NoPrime = false
		_, primed := generate(t, m, seed, opt)
		require.NotEqual(t, res.LogProb, primed.LogProb, "seed %q: the prime should change the state the sample starts from", seed)
	}
}

func TestPrimeErrors(t *testing.T) {
	noNewline := "the cat sat on the mat. a dog ran in the fog. "
	m := newTiny(t, strings.Repeat(noNewline, 20), rnn.GRU)
	// The default prime is skipped silently when "\n" is unknown.
	opt := SampleOptions{N: 30, Seed: 2}
	got, _ := generate(t, m, "the ", opt)
	opt.NoPrime = true
	cold, _ := generate(t, m, "the ", opt)
	require.Equal(t, cold, got)
	// A prime given explicitly must be known, unless SkipUnknown.
	err := m.Generate(context.Background(), "the ", SampleOptions{N: 5, Prime: "\n\nthe"}, func(string) error { return nil })
	require.ErrorIs(t, err, ErrUnknownChar)
	require.Contains(t, err.Error(), "prime character")
	_, err = m.Start("the ", SampleOptions{Prime: "\n\nthe", SkipUnknown: true})
	require.NoError(t, err)
	_, err = m.Start("the ", SampleOptions{Prime: "a", NoPrime: true})
	require.Error(t, err)
	_, err = m.Start("", SampleOptions{NoPrime: true})
	require.ErrorContains(t, err, "empty seed")
	_, err = m.Start("the", SampleOptions{Prime: "\xff"})
	require.ErrorContains(t, err, "UTF-8")
}

// TestLogProbIsALogSoftmax: the probabilities of all tokens sum to one and
// follow the logits' order.
func TestLogProbIsALogSoftmax(t *testing.T) {
	m := newTiny(t, synthetic(2000), rnn.LSTM)
	g, err := m.Start("the ", SampleOptions{})
	require.NoError(t, err)
	var sum float64
	for id := range g.Logits() {
		sum += math.Exp(g.LogProb(int32(id)))
	}
	require.InDelta(t, 1, sum, 1e-6)
	l := g.Logits()
	for a := range l {
		for b := range l {
			if l[a] > l[b] {
				require.Greater(t, g.LogProb(int32(a)), g.LogProb(int32(b)))
			}
		}
	}
}

// TestGenerateScoredMatchesEvaluate: the log-likelihood GenerateScored
// reports for its text is what Evaluate gives that text after the prime and
// seed, whatever the sampling temperature and truncation.
func TestGenerateScoredMatchesEvaluate(t *testing.T) {
	text := synthetic(3000)
	m := newTiny(t, text, rnn.LSTM)
	_, err := Train(context.Background(), m, text, trainOpts(func(o *TrainOptions) { o.SeqLen, o.Batch, o.Epochs, o.LR = 16, 8, 1, 1e-2 }), nil)
	require.NoError(t, err)
	total := func(s string) float64 { // summed NLL of every character after the first
		r, err := m.EvaluateWith(s, EvalOptions{Streams: 1})
		require.NoError(t, err)
		require.Equal(t, utf8.RuneCountInString(s)-1, r.Chars)
		return r.Loss * float64(r.Chars)
	}
	for _, opt := range []SampleOptions{
		{N: 120, Seed: 1},
		{N: 120, Seed: 2, Temperature: 0.3, TopK: 3},
		{N: 120, Seed: 3, Greedy: true},
		{N: 120, Seed: 4, Temperature: 1.5, Prime: "a dog ran.\n"},
	} {
		prefix := opt.Prime
		if prefix == "" {
			prefix = DefaultPrime
		}
		prefix += "the "
		got, res := generate(t, m, "the ", opt)
		require.Equal(t, utf8.RuneCountInString(got), res.Chars)
		want := -(total(prefix+got) - total(prefix)) / float64(res.Chars)
		require.InDelta(t, want, res.MeanLogProb(), 1e-4, "%+v", opt)
		require.Less(t, res.MeanLogProb(), 0.0)
	}
	require.True(t, math.IsNaN(Generation{}.MeanLogProb()))
}

// TestStopSequences: generation ends right after a stop sequence appears in
// the generated text; the sequence is not emitted, nor counted or scored,
// and a seed ending never counts towards it.
func TestStopSequences(t *testing.T) {
	m := newTiny(t, synthetic(2000), rnn.GRU)
	base := SampleOptions{N: 300, Seed: 5, Temperature: 1.5}
	full, fullRes := generate(t, m, "the ", base)
	require.Equal(t, "", fullRes.Stop)
	// prefixRes scores the first k generated characters.
	prefixRes := func(k int) Generation {
		opt := base
		opt.N = k
		_, r := generate(t, m, "the ", opt)
		return r
	}
	firstNL := strings.Index(full, "\n")
	require.Greater(t, firstNL, 0, "the test needs a newline in %q", full)
	two := string([]rune(full[firstNL+1:])[:2]) // the two characters after the first newline
	first := string([]rune(full)[:1])           // " "+first spans the seed's end and the text's start
	// expect is what a stop at the earliest completed sequence leaves.
	expect := func(stops ...string) (text, stop string) {
		end := len(full) + 1
		text = full
		for _, st := range stops {
			if i := strings.Index(full, st); i >= 0 && i+len(st) < end {
				end, text, stop = i+len(st), full[:i], st
			}
		}
		return text, stop
	}
	cases := []struct {
		name       string
		stops      []string
		want, stop string // the text emitted and the stop sequence reported
	}{
		{name: "newline", stops: []string{"\n"}},
		{name: "two chars", stops: []string{two}},
		{name: "the earliest of two", stops: []string{two, "\n"}},
		{name: "never generated", stops: []string{"Ω", "zzzz"}},
		{name: "not in the seed", stops: []string{" " + first}},
	}
	for i := range cases {
		cases[i].want, cases[i].stop = expect(cases[i].stops...)
	}
	require.Equal(t, full[:firstNL], cases[0].want)
	require.NotEqual(t, "", cases[1].stop)
	require.Equal(t, "", cases[3].stop)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := base
			opt.Stop = tc.stops
			got, res := generate(t, m, "the ", opt)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.stop, res.Stop)
			n := utf8.RuneCountInString(got)
			require.Equal(t, n, res.Chars)
			if n > 0 {
				require.InDelta(t, prefixRes(n).LogProb, res.LogProb, 1e-9)
			}
		})
	}
	require.Error(t, m.Generate(context.Background(), "the ", SampleOptions{Stop: []string{""}}, func(string) error { return nil }))
}

// TestStopperHoldsBackPrefixes: text that may begin a stop sequence is held
// back, then released in one piece when it turns out not to.
func TestStopperHoldsBackPrefixes(t *testing.T) {
	var calls []string
	o := stopper{stops: []string{"\n\n", "END"}, emit: func(s string) error { calls = append(calls, s); return nil }}
	var stopped bool
	for _, c := range []string{"a", "\n", "b", "E", "N", "d", "\n", "\n", "x"} {
		var err error
		stopped, err = o.add(c, -1)
		require.NoError(t, err)
		if stopped {
			break
		}
	}
	require.True(t, stopped)
	require.Equal(t, []string{"a", "\nb", "ENd"}, calls)
	require.Equal(t, Generation{Chars: 6, LogProb: -6, Stop: "\n\n"}, o.res)

	calls = nil
	o = stopper{stops: []string{"END"}, emit: func(s string) error { calls = append(calls, s); return nil }}
	for _, c := range []string{"x", "E", "N"} {
		_, err := o.add(c, -1)
		require.NoError(t, err)
	}
	require.NoError(t, o.flush())
	require.Equal(t, []string{"x", "EN"}, calls, "held text is flushed at the end")
	require.Equal(t, 3, o.res.Chars)
}

// TestGenerateCancelledEmitsWhatItHas: a cancelled context returns
// ctx.Err() after emitting (and counting) all the text sampled so far,
// including any held back for a stop sequence.
func TestGenerateCancelledEmitsWhatItHas(t *testing.T) {
	m := newTiny(t, synthetic(2000), rnn.GRU)
	for _, stop := range [][]string{nil, {"t\n\n\n\n"}, {"e"}} {
		ctx, cancel := context.WithCancel(context.Background())
		var b strings.Builder
		calls := 0
		res, err := m.GenerateScored(ctx, "the ", SampleOptions{N: 1000, Seed: 1, Temperature: 2, Stop: stop}, func(s string) error {
			b.WriteString(s)
			if calls++; calls == 10 {
				cancel()
			}
			return nil
		})
		cancel()
		require.Equal(t, utf8.RuneCountInString(b.String()), res.Chars, "stop %q", stop)
		if res.Stop == "" {
			require.True(t, errors.Is(err, context.Canceled), "stop %q: got %v", stop, err)
			require.GreaterOrEqual(t, res.Chars, 10)
		}
	}
}

// TestEvaluateModes checks each EvalOptions mode against a reference
// computed another way.
func TestEvaluateModes(t *testing.T) {
	text := synthetic(3000)
	m := newTiny(t, text, rnn.LSTM)
	ids := m.Tok.Encode(text)
	n := len(ids)

	// The default is what training's validation pass computes.
	def, err := m.Evaluate(text)
	require.NoError(t, err)
	loss, count := m.evaluate(ids, 16, 256)
	require.Equal(t, loss, def.Loss)
	require.Equal(t, count, def.Chars)
	B := min(16, (n-1)/256)
	require.Equal(t, EvalResult{Loss: def.Loss, BitsPerChar: def.Loss / math.Ln2, Perplexity: math.Exp(def.Loss),
		Chars: B * ((n - 1) / B), Streams: B, Window: 256}, def)
	again, err := m.EvaluateWith(text, EvalOptions{Streams: 16, Window: 256})
	require.NoError(t, err)
	require.Equal(t, def, again)

	// One stream: every character after the first, scored by a generator
	// carrying its state through the whole text.
	one, err := m.EvaluateWith(text, EvalOptions{Streams: 1})
	require.NoError(t, err)
	require.Equal(t, n-1, one.Chars)
	require.Equal(t, 1, one.Streams)
	g := m.NewGenerator()
	var nll float64
	for i := 0; i+1 < n; i++ {
		g.Feed(ids[i])
		nll -= g.LogProb(ids[i+1])
	}
	require.InDelta(t, nll/float64(n-1), one.Loss, 1e-4)
	longWindow, err := m.EvaluateWith(text, EvalOptions{Streams: 1, Window: n})
	require.NoError(t, err)
	require.InDelta(t, one.Loss, longWindow.Loss, 1e-5, "with the state carried, the window does not matter")

	// Stateless: each window of T is an independent text of T+1 characters.
	const T = 100
	st, err := m.EvaluateWith(text, EvalOptions{Streams: 1, Window: T, Stateless: true})
	require.NoError(t, err)
	require.True(t, st.Stateless)
	require.Equal(t, n-1, st.Chars)
	runes := []rune(text)
	var sum float64
	for w := 0; w < n-1; w += T {
		chunk := string(runes[w:min(w+T+1, n)])
		r, err := m.EvaluateWith(chunk, EvalOptions{Streams: 1, Window: T + 1})
		require.NoError(t, err)
		sum += r.Loss * float64(r.Chars)
	}
	require.InDelta(t, sum/float64(n-1), st.Loss, 1e-5)
	require.Greater(t, math.Abs(st.Loss-one.Loss), 1e-6, "resetting the state must change the result")

	_, err = m.EvaluateWith(text, EvalOptions{Streams: -1})
	require.Error(t, err)
}

// TestGreedySkipsSpecials: greedy decoding, like sampling, never emits
// <pad>, <unk>, <s> or </s>, even when the model rates one highest.
func TestGreedySkipsSpecials(t *testing.T) {
	g := &Generator{logits: []float32{9, 8, 7, 6, 1, 2, 3}}
	require.Equal(t, int32(6), g.Sample(nil, SampleOptions{Greedy: true}))
	g.logits = []float32{9, 8, 7, 6, 5}
	require.Equal(t, int32(4), g.Sample(nil, SampleOptions{Greedy: true}))
}
