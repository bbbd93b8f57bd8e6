package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
)

// rnnkit models says where each embedded model comes from, reading either
// spelling of the licence and command keys (the sentiment model carries
// "licence" and "training_command").
func TestModelsShowSource(t *testing.T) {
	out, _, err := runCLI(t, "models", "--json")
	require.NoError(t, err)
	byName := map[string]modelListing{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l modelListing
		require.NoError(t, json.Unmarshal([]byte(line), &l))
		byName[l.Name] = l
	}
	for _, name := range []string{"charrnn", "sentiment", "seq2seq"} {
		assert.NotEmpty(t, byName[name].Trained, name)
		assert.NotEmpty(t, byName[name].License, name)
	}
	assert.Contains(t, byName["sentiment"].License, "IMDB")
	assert.Contains(t, byName["sentiment"].TrainCommand, "train sentiment")
	assert.Contains(t, byName["charrnn"].TrainCommand, "rnnkit train charrnn")
	out, _, err = runCLI(t, "models")
	require.NoError(t, err)
	assert.Contains(t, out, "    licence: Shakespeare text: public domain\n")
}

// rnnkit models export writes an embedded model byte for byte; an unknown
// name is a usage error naming the models there are.
func TestModelsExport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "c.safetensors")
	_, _, err := runCLI(t, "models", "export", "charrnn", out)
	require.NoError(t, err)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	want, err := models.FS.ReadFile("charrnn.safetensors")
	require.NoError(t, err)
	require.Equal(t, want, got)
	// The default is an ensemble: export wrote its second member next to it.
	second := filepath.Join(dir, "c-2.safetensors")
	want2, err := models.FS.ReadFile("charrnn-2.safetensors")
	require.NoError(t, err)
	got2, err := os.ReadFile(second)
	require.NoError(t, err)
	require.Equal(t, want2, got2)
	gen, _, err := runCLI(t, "generate", "--model", out, "--ensemble", second, "--seed", "A", "-n", "40", "--rng-seed", "1")
	require.NoError(t, err)
	def, _, err := runCLI(t, "generate", "--seed", "A", "-n", "40", "--rng-seed", "1")
	require.NoError(t, err)
	require.Equal(t, def, gen)

	_, _, err = runCLI(t, "models", "export", "nope", out)
	require.ErrorContains(t, err, "the embedded models are charrnn, ")
	require.Equal(t, 2, run([]string{"models", "export", "nope", out}))
	require.Equal(t, 1, run([]string{"models", "export", "charrnn", filepath.Join(dir, "missing", "x.safetensors")}))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary file left")
}

// rnnkit inspect describes a model file, an embedded model or a checkpoint
// (TestCharRNNResumeChecks) without loading it.
func TestInspect(t *testing.T) {
	dir := t.TempDir()
	model := tinyCharModel(t, dir)
	out, _, err := runCLI(t, "inspect", model)
	require.NoError(t, err)
	assert.Contains(t, out, "kind:       charrnn (format version 1)\n")
	assert.Contains(t, out, `config:     {"cell":"gru",`)
	assert.Contains(t, out, "tokenizer:  rune, ")
	assert.Regexp(t, `rnn\.weight_hh_l0\s+F32\s+\[48, 16\]`, out)

	out, _, err = runCLI(t, "inspect", "--json", "seq2seq")
	require.NoError(t, err)
	var r inspectReport
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, "seq2seq", r.Kind)
	assert.Equal(t, "bpe", r.Tokenizers["src"].Type)
	assert.Greater(t, r.Tokenizers["tgt"].Vocab, 1000)
	assert.Nil(t, r.Checkpoint)
	assert.Contains(t, r.Metadata, "license")
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(r.Config, &cfg))
	assert.Equal(t, "gru", cfg["cell"])

	notModel := writeFile(t, dir, "x.txt", []byte("hello, world"))
	_, _, err = runCLI(t, "inspect", notModel)
	require.ErrorContains(t, err, "not a safetensors file")
	_, _, err = runCLI(t, "inspect", filepath.Join(dir, "nope"))
	require.ErrorContains(t, err, "the embedded models are")
}
