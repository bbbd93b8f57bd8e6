package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
)

// writeLMText writes n unlabelled synthetic reviews, one per line (with a
// blank line and an HTML break or two, as real files have).
func writeLMText(t *testing.T, dir string, n int) string {
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s<br /><br />and %s\n", synthReview(rng, i%2 == 0), synthReview(rng, i%3 == 0))
		if i == 7 {
			b.WriteString("\n")
		}
	}
	return writeFile(t, dir, "unsup.txt", []byte(b.String()))
}

func tinyLMArgs(out string, data ...string) []string {
	args := []string{"train", "lm", "--out", out, "-q", "--embedding", "16", "--hidden", "16", "--seq-len", "8", "--batch", "4",
		"--epochs", "2", "--sampled", "8", "--warmup", "5", "--val-frac", "0.1", "--min-freq", "1"}
	for _, d := range data {
		args = append(args, "--data", d)
	}
	return args
}

// TestTrainLMCLIAndInitLM pretrains an LM on a plain-text file and a TSV
// file of reviews, then fine-tunes a classifier from it with --init-lm.
func TestTrainLMCLIAndInitLM(t *testing.T) {
	dir := t.TempDir()
	unl := writeLMText(t, dir, 150)
	tsv := writeSentimentTSV(t, dir, 200, 5)
	lmPath := filepath.Join(dir, "lm.safetensors")
	_, _, err := runCLI(t, tinyLMArgs(lmPath, unl, tsv)...)
	require.NoError(t, err)
	lm, err := sentiment.LoadLM(lmPath)
	require.NoError(t, err)
	assert.Equal(t, sentiment.LMConfig{Cell: rnn.GRU, Vocab: lm.Config.Vocab, Embedding: 16, Hidden: 16, Layers: 1, Bidirectional: true, Dropout: 0.1}, lm.Config)
	assert.NotEmpty(t, lm.Meta["quality.val_perplexity_backward"])
	for _, w := range []string{"movie", "great", "awful"} {
		_, ok := lm.Tok.ID(w)
		assert.True(t, ok, "the LM's vocabulary has %q", w)
	}
	_, ok := lm.Tok.ID("1")
	assert.False(t, ok, "the TSV's label column is not text")

	clf := filepath.Join(dir, "clf.safetensors")
	_, stderr, err := runCLI(t, "train", "sentiment", "--data", tsv, "--out", clf, "--init-lm", lmPath, "--epochs", "2", "--batch", "16")
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "encoder from "+lmPath)
	assert.Contains(t, stderr, "vocabulary adapted to the training reviews")
	m, err := sentiment.Load(clf)
	require.NoError(t, err)
	assert.Equal(t, lmPath, m.Meta["init_lm"])
	assert.Equal(t, []any{rnn.GRU, 16, 16, 1, true}, []any{m.Config.Cell, m.Config.Embedding, m.Config.Hidden, m.Config.Layers, m.Config.Bidirectional})
	assert.Equal(t, lm.Vocab(), m.Vocab(), "the classifier uses the LM's vocabulary")
	out, _, err := runCLI(t, "classify", "--model", clf, writeFile(t, dir, "r.txt", []byte("a great and wonderful movie")))
	require.NoError(t, err)
	assert.Contains(t, out, "positive")

	// The encoder comes from the LM: flags that contradict it are usage errors.
	for _, extra := range [][]string{{"--cell", "lstm"}, {"--hidden", "32"}, {"--unidirectional"}, {"--vocab", "500"}, {"--vectors", unl}, {"--adapt-vocab=false", "--min-freq", "3"}} {
		_, _, err := runCLI(t, append([]string{"train", "sentiment", "--data", tsv, "--out", clf, "--init-lm", lmPath}, extra...)...)
		var ue usageError
		require.True(t, errors.As(err, &ue), "%v: %v", extra, err)
	}
	// Repeating the LM's own values is fine; a classifier is not an LM.
	_, _, err = runCLI(t, "train", "sentiment", "--data", tsv, "--out", filepath.Join(dir, "c2.safetensors"), "--init-lm", clf, "-q")
	require.ErrorContains(t, err, `"sentiment" model`)
}

// TestTrainLMResumeIsExactCLI: a run interrupted after its first
// checkpoint and resumed from the checkpoint it wrote on the way out ends
// with the same model, bit for bit, as a run that was never interrupted.
func TestTrainLMResumeIsExactCLI(t *testing.T) {
	dir := t.TempDir()
	unl := writeLMText(t, dir, 120)
	extra := []string{"--checkpoint-every", "7", "--eval-every", "10", "--dropout", "0.2"}
	a := filepath.Join(dir, "a.safetensors")
	_, _, err := runCLI(t, append(tinyLMArgs(a, unl), extra...)...)
	require.NoError(t, err)

	// Run b is cancelled (as by Ctrl-C) once its first checkpoint exists.
	b := filepath.Join(dir, "b.safetensors")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(b + ".ckpt"); err == nil {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	root := NewRootCmd()
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetArgs(append(tinyLMArgs(b, unl), extra...))
	if _, err = root.ExecuteContextC(ctx); err != nil { // nil once a model is written: run reports the signal
		require.ErrorIs(t, err, context.Canceled)
	}
	_, _, run, _, err := rnn.LoadRun(b+".ckpt", sentiment.LMKind)
	require.NoError(t, err)
	_, _, runA, _, err := rnn.LoadRun(a+".ckpt", sentiment.LMKind)
	require.NoError(t, err)
	require.Less(t, run.Step, runA.Step, "b stopped before the end")

	_, stderr, err := runCLI(t, append(append(tinyLMArgs(b, unl), extra...), "--resume", b+".ckpt")...)
	require.NoError(t, err, stderr)
	_, ta, err := rnn.LoadModel(a, sentiment.LMKind)
	require.NoError(t, err)
	_, tb, err := rnn.LoadModel(b, sentiment.LMKind)
	require.NoError(t, err)
	require.Equal(t, ta, tb)
}

func TestTrainLMUsageErrors(t *testing.T) {
	dir := t.TempDir()
	unl := writeLMText(t, dir, 20)
	out := filepath.Join(dir, "lm.safetensors")
	for _, args := range [][]string{
		{"train", "lm", "--out", out},
		{"train", "lm", "--data", unl},
		append(tinyLMArgs(out, unl), "--proposal", "zipf"),
		append(tinyLMArgs(out, unl), "--val-frac", "0"),
		append(tinyLMArgs(out, unl), "--tokenizer", "chars"),
		append(tinyLMArgs(out, unl), "--format", "xml"),
		append(tinyLMArgs(out, unl), "--hidden", "8", "--tie"), // tying needs hidden == embedding
	} {
		_, _, err := runCLI(t, args...)
		var ue usageError
		require.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
	_, _, err := runCLI(t, tinyLMArgs(out, filepath.Join(dir, "missing.txt"))...)
	require.Error(t, err)
	_, err = os.Stat(out)
	require.True(t, os.IsNotExist(err), "no model is written on a failed run")
}
