package sentiment

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	noise = strings.Fields("the a film movie plot actor scene story it was and of to is in that this with for as but one")
	posW  = strings.Fields("good great wonderful superb")
	negW  = strings.Fields("bad awful terrible boring")
)

// synth writes n reviews of noise words with one or two sentiment words
// among them, of lengths 3..maxLen; label 1 for positive words.
func synth(n, maxLen int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]Example, n)
	for i := range out {
		label := rng.IntN(2)
		words := make([]string, 3+rng.IntN(maxLen-2))
		for j := range words {
			words[j] = noise[rng.IntN(len(noise))]
		}
		src := negW
		if label == 1 {
			src = posW
		}
		for k := 0; k < 1+rng.IntN(2); k++ {
			words[rng.IntN(len(words))] = src[rng.IntN(len(src))]
		}
		text := strings.Join(words, " ")
		if rng.IntN(4) == 0 {
			text = strings.Replace(text, " ", " <br /><br />", 1)
		}
		out[i] = Example{Text: text, Label: label}
	}
	return out
}

func synthTok(t testing.TB, ex []Example) tokenize.Tokenizer {
	var sb strings.Builder
	for _, e := range ex {
		sb.WriteString(Clean(e.Text))
		sb.WriteByte('\n')
	}
	tok, err := tokenize.TrainWord(strings.NewReader(sb.String()), tokenize.WordOptions{Lowercase: true, SplitPunct: true})
	require.NoError(t, err)
	return tok
}

func tinyModel(t testing.TB, tok tokenize.Tokenizer, cell rnn.Cell, pooling string) *Model {
	m, err := New(Config{Cell: cell, Embedding: 16, Hidden: 16, Layers: 1, Bidirectional: true, Pooling: pooling,
		Labels: []string{"negative", "positive"}, MaxLen: 40}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	return m
}

func TestLearnsSyntheticTask(t *testing.T) {
	all := synth(1200, 30, 1)
	tok := synthTok(t, all)
	for _, tc := range []struct {
		cell    rnn.Cell
		pooling string
	}{{rnn.LSTM, "max+mean"}, {rnn.GRU, "attention"}, {rnn.LSTM, "last"}} {
		t.Run(tc.cell.String()+"/"+tc.pooling, func(t *testing.T) {
			m := tinyModel(t, tok, tc.cell, tc.pooling)
			tr, val := SplitExamples(all, 0.2, 3)
			res, err := Train(context.Background(), m, Data{Train: tr, Val: val},
				trainOpts(func(o *TrainOptions) { o.Batch, o.Epochs, o.LR, o.Warmup = 16, 4, 1e-2, 10 }), nil)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, res.BestValAcc, 0.95, "history %+v", res.History)
			rep, err := m.Evaluate(val)
			require.NoError(t, err)
			assert.InDelta(t, res.BestValAcc, rep.Accuracy, 1e-9)
			assert.Equal(t, "positive", m.Predict("the movie was great and the plot wonderful").Label)
			assert.Equal(t, "negative", m.Predict("the film was boring , awful").Label)
		})
	}
}

// A review classified alone and inside a ragged batch gets the same answer.
func TestRaggedBatchMatchesUnbatched(t *testing.T) {
	ex := synth(40, 60, 5)
	tok := synthTok(t, ex)
	for _, pool := range []string{"max+mean+last+attention"} {
		for _, cell := range []rnn.Cell{rnn.LSTM, rnn.GRU} {
			m := tinyModel(t, tok, cell, pool)
			m.Config.MaxLen = 1000
			texts := make([]string, len(ex))
			for i, e := range ex {
				texts[i] = e.Text
			}
			batch := m.PredictBatch(texts)
			for i, txt := range texts {
				one := m.Predict(txt)
				for c := range one.Probs {
					assert.InDelta(t, one.Probs[c], batch[i].Probs[c], 1e-5, "review %d", i)
				}
			}
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ex := synth(50, 20, 9)
	tok := synthTok(t, ex)
	m := tinyModel(t, tok, rnn.GRU, "max+attention")
	m.Meta["trained_on"] = "synthetic"
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, m.Save(path, rnn.F32))
	m2, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, m.Config, m2.Config)
	assert.Equal(t, "synthetic", m2.Meta["trained_on"])
	for _, e := range ex[:10] {
		assert.Equal(t, m.Predict(e.Text).Probs, m2.Predict(e.Text).Probs)
	}
	// A charrnn-kind file is refused with a clear error.
	_, _, err = rnn.LoadModel(path, "charrnn")
	require.Error(t, err)
	// F16 halves the file and keeps predictions close.
	p16 := filepath.Join(t.TempDir(), "m16.safetensors")
	require.NoError(t, m.Save(p16, rnn.F16))
	m3, err := Load(p16)
	require.NoError(t, err)
	for _, e := range ex[:10] {
		assert.InDelta(t, m.Predict(e.Text).Probs[1], m3.Predict(e.Text).Probs[1], 2e-3)
	}
}

func TestTruncate(t *testing.T) {
	ids := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	assert.Equal(t, []int32{1, 2, 3, 4}, Truncate(ids, 4, TruncHead))
	assert.Equal(t, []int32{7, 8, 9, 10}, Truncate(ids, 4, TruncTail))
	assert.Equal(t, []int32{1, 6, 7, 8, 9, 10}, Truncate(ids, 6, TruncHeadTail))
	assert.Equal(t, ids, Truncate(ids, 10, TruncHeadTail))
	assert.Equal(t, "a b", Clean("a<br />b"))
}

func TestClassNames(t *testing.T) {
	assert.Equal(t, []string{"negative", "positive"}, ClassNames([]string{"1", "0", "1"}))
	assert.Equal(t, []string{"negative", "positive"}, ClassNames([]string{"pos", "neg"}))
	assert.Equal(t, []string{"1", "2", "10"}, ClassNames([]string{"10", "2", "1"}))
	assert.Equal(t, []string{"bad", "good", "meh"}, ClassNames([]string{"meh", "good", "bad"}))
	i, err := LabelIndex([]string{"negative", "positive"}, "pos")
	require.NoError(t, err)
	assert.Equal(t, 1, i)
	_, err = LabelIndex([]string{"negative", "positive"}, "maybe")
	assert.ErrorContains(t, err, "not one of the model's classes")
}

func TestMetrics(t *testing.T) {
	// 6 examples, true [0 0 0 1 1 1]; predicted class = argmax.
	probs := []float32{
		0.9, 0.1, // 0 -> 0
		0.6, 0.4, // 0 -> 0
		0.3, 0.7, // 0 -> 1
		0.2, 0.8, // 1 -> 1
		0.55, 0.45, // 1 -> 0
		0.1, 0.9, // 1 -> 1
	}
	r := Score([]string{"neg", "pos"}, []int{0, 0, 0, 1, 1, 1}, probs)
	assert.Equal(t, [][]int{{2, 1}, {1, 2}}, r.Confusion)
	assert.InDelta(t, 4.0/6, r.Accuracy, 1e-12)
	assert.InDelta(t, 2.0/3, r.Classes[0].Precision, 1e-12)
	assert.InDelta(t, 2.0/3, r.Classes[1].Recall, 1e-12)
	assert.InDelta(t, 2.0/3, r.Classes[1].F1, 1e-12)
	// AUC by hand: positives score .8 .45 .9, negatives .1 .4 .7:
	// pairs won: .8>{.1,.4,.7}=3, .45>{.1,.4}=2, .9>all=3 → 8/9.
	assert.InDelta(t, 8.0/9, r.AUC, 1e-12)
	// Ties count one half.
	assert.InDelta(t, 0.5, ROCAUC([]float64{1, 1}, []bool{true, false}), 1e-12)
	assert.True(t, math.IsNaN(ROCAUC([]float64{1, 2}, []bool{true, true})))
	// Loss: mean of -log p(true).
	want := -(math.Log(0.9) + math.Log(0.6) + math.Log(0.3) + math.Log(0.8) + math.Log(0.45) + math.Log(0.9)) / 6
	assert.InDelta(t, want, r.Loss, 1e-6)
}

// Interrupting a run (ctx cancelled) and resuming from its checkpoint gives
// the same weights as an uninterrupted run.
func TestResumeBitExact(t *testing.T) {
	all := synth(300, 20, 11)
	tok := synthTok(t, all)
	tr, val := SplitExamples(all, 0.2, 1)
	data := Data{Train: tr, Val: val}
	dir := t.TempDir()
	opt := trainOpts(func(o *TrainOptions) { o.Batch, o.Epochs, o.LR, o.Warmup, o.EvalEvery = 16, 2, 5e-3, 5, 5 })

	full := tinyModel(t, tok, rnn.LSTM, "max+mean")
	full.Config.Dropout, full.Config.EmbDropout = 0.2, 0.1 // exercise the dropout RNG
	full2 := tinyModel(t, tok, rnn.LSTM, "max+mean")
	full2.Config = full.Config
	_, err := Train(context.Background(), full, data, opt, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	o := opt
	o.CheckpointPath = filepath.Join(dir, "ck")
	res, err := Train(ctx, full2, data, o, func(p Progress) {
		if p.Step == 12 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "interrupted", res.Stopped)
	m, res, err := Resume(context.Background(), o.CheckpointPath, data, o, nil)
	require.NoError(t, err)
	assert.Equal(t, "done", res.Stopped)
	assert.Equal(t, full.Params.Values, m.Params.Values)
}

// A loaded model serves several goroutines at once (run with -race).
func TestConcurrentPredict(t *testing.T) {
	ex := synth(64, 30, 21)
	tok := synthTok(t, ex)
	m := tinyModel(t, tok, rnn.GRU, "max+attention")
	texts := make([]string, len(ex))
	for i, e := range ex {
		texts[i] = e.Text
	}
	want := m.PredictBatch(texts)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(texts); i += 4 {
				assert.InDelta(t, want[i].Probs[1], m.Predict(texts[i]).Probs[1], 1e-5)
			}
			got := m.PredictBatch(texts[g*8 : g*8+8])
			for i := range got {
				assert.InDelta(t, want[g*8+i].Probs[1], got[i].Probs[1], 1e-5)
			}
		}()
	}
	wg.Wait()
}

func TestReadExamplesBadRecords(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.tsv")
	long := strings.Repeat("good ", (MaxReviewBytes/5)+10)
	data := "a fine film\t1\n" + long + "\t1\nno label column\n" + "caf\xe9\t0\n" + "dull\t0\n"
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	ex, warnings, err := ReadExamples(p, ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, []RawExample{{"a fine film", "1"}, {"dull", "0"}}, ex)
	require.Len(t, warnings, 3)
	assert.Contains(t, warnings[0].Error(), "d.tsv:2: line too long")
	_, _, err = ReadExamples(p, ReadOptions{MaxBad: -1})
	assert.ErrorContains(t, err, "line too long")
	_, _, err = ReadExamples(filepath.Join(dir, "missing.tsv"), ReadOptions{})
	assert.ErrorContains(t, err, "no such file")
}

// trainOpts returns DefaultTrainOptions changed by set.
func trainOpts(set func(o *TrainOptions)) TrainOptions {
	o := DefaultTrainOptions()
	set(&o)
	return o
}

// EvaluateWith's workers classify parts of the examples at once; the
// report is Evaluate's.
func TestEvaluateWithWorkers(t *testing.T) {
	ex := synth(150, 50, 9)
	m := tinyModel(t, synthTok(t, ex), rnn.GRU, "max+mean")
	want, err := m.Evaluate(ex)
	require.NoError(t, err)
	for _, w := range []int{2, 3} {
		got, err := m.EvaluateWith(ex, EvalOptions{Workers: w})
		require.NoError(t, err)
		assert.Equal(t, want.Confusion, got.Confusion, "workers %d", w)
		assert.InDelta(t, want.Loss, got.Loss, 1e-6, "workers %d", w)
		assert.InDelta(t, want.AUC, got.AUC, 1e-9, "workers %d", w)
	}
	_, err = m.EvaluateWith([]Example{{Text: "good", Label: 2}}, EvalOptions{Workers: 2})
	assert.ErrorContains(t, err, "has label 2")
}
