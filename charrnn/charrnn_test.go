package charrnn

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/kernel"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/require"
)

// synthetic returns a small, learnable text the test writes itself.
func synthetic(n int) string {
	words := []string{"the cat sat on the mat.\n", "a dog ran in the fog.\n", "¿dónde está el niño?\n"}
	var b strings.Builder
	rng := rand.New(rand.NewPCG(5, 5))
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.String()
}

func newTiny(t testing.TB, text string, cell rnn.Cell) *Model {
	t.Helper()
	tok, err := tokenize.TrainRune(strings.NewReader(text), tokenize.RuneOptions{})
	require.NoError(t, err)
	m, err := New(Config{Cell: cell, Embedding: 8, Hidden: 32, Layers: 2}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 1)))
	return m
}

func TestTrainLearnsSyntheticText(t *testing.T) {
	text := synthetic(6000)
	for _, cell := range []rnn.Cell{rnn.LSTM, rnn.GRU} {
		m := newTiny(t, text, cell)
		before, err := m.Evaluate(text[len(text)*9/10:])
		require.NoError(t, err)
		res, err := Train(context.Background(), m, text, trainOpts(func(o *TrainOptions) { o.SeqLen, o.Batch, o.Epochs, o.LR, o.Warmup = 16, 8, 12, 1e-2, 10 }), nil)
		require.NoError(t, err)
		after, err := m.Evaluate(text[len(text)*9/10:])
		require.NoError(t, err)
		t.Logf("%v: val loss %.3f -> %.3f nats/char (best %.3f at step %d)", cell, before.Loss, after.Loss, res.BestValLoss, res.BestStep)
		// Three interleaved sentences: after the first characters of a line, the
		// rest is determined, so a working model gets far below the 3.0 nats of
		// a uniform guess over ~25 characters.
		require.Less(t, after.Loss, 0.9)
		require.InDelta(t, res.BestValLoss, after.Loss, 0.05, "the model keeps the best weights")
	}
}

func TestSaveLoadGenerateDeterministic(t *testing.T) {
	text := synthetic(3000)
	m := newTiny(t, text, rnn.LSTM)
	_, err := Train(context.Background(), m, text, trainOpts(func(o *TrainOptions) { o.SeqLen, o.Batch, o.Epochs, o.LR = 16, 8, 2, 1e-2 }), nil)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, m.Save(path, rnn.F32))
	m2, err := Load(path)
	require.NoError(t, err)
	gen := func(m *Model) string {
		var b strings.Builder
		require.NoError(t, m.Generate(context.Background(), "the ", SampleOptions{N: 60, Seed: 42}, func(s string) error { b.WriteString(s); return nil }))
		return b.String()
	}
	a, b := gen(m), gen(m2)
	require.Equal(t, a, b, "a reloaded model samples the same text with the same seed")
	require.Equal(t, 60, len([]rune(a)))
}

func TestGenerateBadSeed(t *testing.T) {
	m := newTiny(t, synthetic(2000), rnn.GRU)
	err := m.Generate(context.Background(), "Ω", SampleOptions{N: 5}, func(string) error { return nil })
	require.True(t, errors.Is(err, ErrUnknownChar), "got %v", err)
	require.Contains(t, err.Error(), `"Ω"`)
	require.Error(t, m.Generate(context.Background(), "a\xffb", SampleOptions{N: 5}, func(string) error { return nil }))
	var out strings.Builder
	require.NoError(t, m.Generate(context.Background(), "Ωthe", SampleOptions{N: 5, SkipUnknown: true}, func(s string) error { out.WriteString(s); return nil }))
	require.Equal(t, 5, len([]rune(out.String())))
}

// TestResumeIsExact interrupts a run at a checkpoint, resumes it, and checks
// that the final weights equal those of an uninterrupted run bit for bit.
// The run uses weight drop, so its masks come from the RNG state that the
// checkpoint carries.
func TestResumeIsExact(t *testing.T) {
	text := synthetic(4000)
	dir := t.TempDir()
	opt := trainOpts(func(o *TrainOptions) { o.SeqLen, o.Batch, o.Epochs, o.LR, o.EvalEvery, o.Seed = 16, 4, 3, 5e-3, 10, 9 })
	m := newTiny(t, text, rnn.LSTM)
	m.Config.WeightDrop = 0.3
	full, err := Train(context.Background(), m, text, opt, nil)
	require.NoError(t, err)
	plain := newTiny(t, text, rnn.LSTM)
	_, err = Train(context.Background(), plain, text, opt, nil)
	require.NoError(t, err)
	require.NotEqual(t, plain.Params.Values, m.Params.Values, "weight drop changes the run")

	m2 := newTiny(t, text, rnn.LSTM)
	m2.Config.WeightDrop = 0.3
	ck := filepath.Join(dir, "ck.safetensors")
	opt2 := opt
	opt2.CheckpointPath = ck
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Train(ctx, m2, text, opt2, func(p Progress) {
		if p.Step == 25 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	_, statErr := os.Stat(ck)
	require.NoError(t, statErr)
	m3, res, err := Resume(context.Background(), ck, text, opt2, nil)
	require.NoError(t, err)
	require.Equal(t, full.Steps, res.Steps)
	require.Equal(t, full.BestValLoss, res.BestValLoss)
	require.Equal(t, m.Params.Values, m3.Params.Values, "resumed weights differ from the uninterrupted run")

	// The resumed run's history is the whole curve: the evaluations before
	// the interruption come from the checkpoint. Only the training loss of
	// the first point after the resume (at step 30) differs: it averages
	// the steps of the resumed process alone.
	require.Len(t, res.History, len(full.History))
	for i, p := range full.History {
		require.Equal(t, p.Step, res.History[i].Step)
		require.Equal(t, p.ValLoss, res.History[i].ValLoss, "point %d", i)
		if p.Step != 30 {
			require.Equal(t, p.Loss, res.History[i].Loss, "point %d", i)
		}
	}

	// The run ends with a checkpoint although its 159 steps are not a
	// multiple of the checkpoint interval (10).
	_, meta, err := rnn.ReadHeader(ck)
	require.NoError(t, err)
	require.Equal(t, 159, full.Steps)
	require.Equal(t, "159", meta["train.step"])
}

// TestConcurrentGenerateAndEvaluate shares one loaded Model between
// goroutines (run under -race in CI): inference never writes the model, so
// each goroutine gets the same text as a lone caller.
func TestConcurrentGenerateAndEvaluate(t *testing.T) {
	text := synthetic(1500)
	m := newTiny(t, text, rnn.LSTM)
	gen := func() string {
		var b strings.Builder
		if err := m.Generate(context.Background(), "the ", SampleOptions{N: 30, Seed: 7}, func(s string) error { b.WriteString(s); return nil }); err != nil {
			t.Error(err)
		}
		return b.String()
	}
	want := gen()
	wantEval, err := m.Evaluate(text[:500])
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := gen(); got != want {
				t.Errorf("concurrent Generate = %q, want %q", got, want)
			}
			if r, err := m.Evaluate(text[:500]); err != nil || r != wantEval {
				t.Errorf("concurrent Evaluate = %+v, %v; want %+v", r, err, wantEval)
			}
		}()
	}
	wg.Wait()
}

// TestTrainingIsDeterministic: the same seed and data give bit-identical
// weights, single-threaded and with the GEMM on both cores.
func TestTrainingIsDeterministic(t *testing.T) {
	text := synthetic(3000)
	opt := trainOpts(func(o *TrainOptions) { o.SeqLen, o.Batch, o.Epochs, o.LR, o.Seed = 16, 8, 1, 5e-3, 3 })
	run := func(threads int) []float32 {
		kernel.SetThreads(threads)
		defer kernel.SetThreads(0)
		m := newTiny(t, text, rnn.LSTM)
		m.Config.Dropout = 0.2
		_, err := Train(context.Background(), m, text, opt, nil)
		require.NoError(t, err)
		return m.Params.Values
	}
	a, b, c := run(1), run(1), run(2)
	require.Equal(t, a, b, "two single-threaded runs differ")
	require.Equal(t, a, c, "the thread count changed the result")
}

// trainOpts returns DefaultTrainOptions changed by set.
func trainOpts(set func(o *TrainOptions)) TrainOptions {
	o := DefaultTrainOptions()
	set(&o)
	return o
}
