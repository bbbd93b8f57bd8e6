package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultTranslatorEnsemble: a default translator of several embedded
// files (here the en->es default with itself, which decodes exactly as
// the default alone: the average of two equal log-probabilities is the
// same number) is what translate, eval seq2seq, serve, models and models
// export all take as the default, from the one list models.EnEs.
func TestDefaultTranslatorEnsemble(t *testing.T) {
	saved, savedEs := models.EnEs, models.EsEn
	t.Cleanup(func() { models.EnEs, models.EsEn = saved, savedEs })
	models.EnEs, models.EsEn = []string{"seq2seq"}, []string{"seq2seq-es-en"}
	dir := t.TempDir()
	data := filepath.Join(dir, "val.tsv")
	require.NoError(t, os.WriteFile(data, []byte("I live in Madrid.\tVivo en Madrid.\nThank you.\tGracias.\n"), 0o644))
	inputs := []string{"translate", "--beam", "2", "I live in Madrid.", "Thank you very much."}
	single, _, err := runCLI(t, inputs...)
	require.NoError(t, err)
	singleEval, _, err := runCLI(t, "eval", "seq2seq", "--beam", "2", "--data", data)
	require.NoError(t, err)

	models.EnEs = []string{"seq2seq", "seq2seq"}

	both, _, err := runCLI(t, inputs...)
	require.NoError(t, err)
	require.Equal(t, single, both, "the default with itself translates as the default")
	bothEval, _, err := runCLI(t, "eval", "seq2seq", "--beam", "2", "--data", data)
	require.NoError(t, err)
	require.Equal(t, singleEval, bothEval)
	// es->en is still one model, and --from auto routes to both.
	_, _, err = runCLI(t, "translate", "--from", "auto", "--beam", "2", "Thank you.", "Muchas gracias.")
	require.NoError(t, err)

	// serve serves the ensemble.
	ms, err := loadServeModels(&serveOptions{classifyModel: "none", generateModel: "none"})
	require.NoError(t, err)
	require.Len(t, ms.Translators, 2)
	require.Len(t, ms.Translators[0].Ensemble, 1)
	require.Empty(t, ms.Translators[1].Ensemble)
	const embedded = "embedded:models/seq2seq.safetensors"
	assert.Contains(t, describeModels(ms), "translate en->es ("+embedded+" + "+embedded+")")

	// rnnkit models names the ensemble on its file.
	out, _, err := runCLI(t, "models", "--json")
	require.NoError(t, err)
	var listed bool
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l modelListing
		require.NoError(t, json.Unmarshal([]byte(line), &l))
		if l.Name == "seq2seq" {
			listed = true
			require.Equal(t, []string{"seq2seq", "seq2seq"}, l.Ensemble)
		} else if l.Kind == "seq2seq" {
			require.Nil(t, l.Ensemble, l.Name)
		}
	}
	require.True(t, listed)
	out, _, err = runCLI(t, "models")
	require.NoError(t, err)
	assert.Contains(t, out, "    ensemble: seq2seq + seq2seq (one default translator, their next-token log-probabilities averaged)\n")

	// models export seq2seq writes each file and how to use them together.
	path := filepath.Join(dir, "t.safetensors")
	out, _, err = runCLI(t, "models", "export", "seq2seq", path)
	require.NoError(t, err)
	second := filepath.Join(dir, "t-2.safetensors")
	assert.Contains(t, out, "the default translator seq2seq is their ensemble: rnnkit translate --model "+path+" --ensemble "+second+"\n")
	want, err := models.FS.ReadFile("seq2seq.safetensors")
	require.NoError(t, err)
	for _, p := range []string{path, second} {
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, want, got, p)
	}

	// A file of the list that this build lacks is an error naming it, and
	// serve still serves the other direction.
	models.EnEs = []string{"seq2seq", "seq2seq-missing"}
	_, _, err = runCLI(t, inputs...)
	require.ErrorContains(t, err, "seq2seq-missing.safetensors, a file of the default en->es translator, is missing")
	ms, err = loadServeModels(&serveOptions{classifyModel: "none", generateModel: "none"})
	require.NoError(t, err)
	require.Len(t, ms.Translators, 1)
	require.Equal(t, "es", ms.Translators[0].From)
	require.Contains(t, ms.Unavailable[0].Reason, "seq2seq-missing.safetensors")
}

// TestTrainSplitSeed: models trained with one --split-seed and different
// --seed values hold out the same pairs and learn the same tokenizers, so
// they decode together with --ensemble; --seed alone moves the split.
func TestTrainSplitSeed(t *testing.T) {
	dir := t.TempDir()
	data := writeToyPairs(t, dir, 600, 1)
	train := func(name string, extra ...string) (model, val string) {
		model, val = filepath.Join(dir, name+".safetensors"), filepath.Join(dir, name+".tsv")
		args := append([]string{"train", "seq2seq", "--data", data, "--out", model, "--embedding", "8", "--enc-hidden", "8",
			"--dec-hidden", "8", "--joint-vocab", "40", "--epochs", "0.2", "--batch", "32", "--val-frac", "0.1", "--val-out", val, "-q"}, extra...)
		_, _, err := runCLI(t, args...)
		require.NoError(t, err)
		return model, val
	}
	a, va := train("a", "--seed", "1")
	b, vb := train("b", "--seed", "2", "--split-seed", "1")
	_, vc := train("c", "--seed", "2")
	read := func(p string) string {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return string(b)
	}
	require.Equal(t, read(va), read(vb), "one --split-seed, one validation split")
	require.NotEqual(t, read(va), read(vc), "--seed alone chooses the split")
	_, _, err := runCLI(t, "translate", "--model", a, "--ensemble", b, "ka lo mi")
	require.NoError(t, err, "the same tokenizers")
	_, _, err = runCLI(t, "train", "seq2seq", "--data", data, "--out", filepath.Join(dir, "d.safetensors"), "--split-seed", "-1", "-q")
	require.ErrorContains(t, err, "--split-seed must be a non-negative integer")
	_, _, err = runCLI(t, "train", "seq2seq", "--data", data, "--out", filepath.Join(dir, "d.safetensors"), "--split-punct=false", "--open-marks", "-q")
	require.ErrorContains(t, err, "--open-marks needs --tokenizer bpe with --split-punct")
	// resuming with another --split-seed is refused
	_, _, err = runCLI(t, "train", "seq2seq", "--data", data, "--out", b, "--resume", b+".ckpt", "--seed", "2", "--split-seed", "3",
		"--val-frac", "0.1", "--epochs", "0.2", "--batch", "32", "-q")
	require.ErrorContains(t, err, "the checkpoint's run had --split-seed 1 (now 3)")
}

// TestShippedTranslators: every file of the shipped default translators
// loads, and the members of each direction share their tokenizers.
func TestShippedTranslators(t *testing.T) {
	for _, d := range [][2]string{{"en", "es"}, {"es", "en"}} {
		ms, names, err := defaultTranslator(d[0], d[1], "auto")
		require.NoError(t, err, "%s->%s", d[0], d[1])
		files, _ := translatorFiles(d[0], d[1])
		require.Len(t, ms, len(files))
		require.Len(t, names, len(ms))
	}
}
