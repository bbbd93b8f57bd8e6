package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// charModelFile writes an untrained LSTM character model of text's
// characters, initialized from seed, to dir/name.
func charModelFile(t *testing.T, dir, name, text string, seed uint64) string {
	t.Helper()
	tok, err := tokenize.TrainRune(strings.NewReader(text), tokenize.RuneOptions{})
	require.NoError(t, err)
	m, err := charrnn.New(charrnn.Config{Cell: rnn.LSTM, Embedding: 8, Hidden: 16, Layers: 2}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(seed, 3)))
	path := filepath.Join(dir, name)
	require.NoError(t, m.Save(path, rnn.F32))
	return path
}

// generateJSONOf runs generate --json and decodes its one sample.
func generateJSONOf(t *testing.T, args ...string) generateJSON {
	t.Helper()
	out, _, err := runCLI(t, append([]string{"generate", "--json"}, args...)...)
	require.NoError(t, err)
	var r generateJSON
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	return r
}

// TestGenerateEnsemble: generate --ensemble samples from several models'
// mean (a model with itself: its own text), says which in --json, and
// refuses a missing file or another vocabulary with exit status 1.
func TestGenerateEnsemble(t *testing.T) {
	dir := t.TempDir()
	a := tinyCharModel(t, dir)
	b := charModelFile(t, dir, "b.safetensors", tinyText(), 2)
	other := charModelFile(t, dir, "other.safetensors", tinyText()+"Ω", 3)
	args := []string{"--seed", "KING:", "-n", "60", "--rng-seed", "3", "--temperature", "1.2"}

	alone, _, err := runCLI(t, append([]string{"generate", "--model", a}, args...)...)
	require.NoError(t, err)
	self, stderr, err := runCLI(t, append([]string{"generate", "--model", a, "--ensemble", a}, args...)...)
	require.NoError(t, err)
	require.Equal(t, alone, self, "a model with itself generates as the model")
	assert.Contains(t, stderr, "generating with 2 models: "+a+", "+a)

	one := generateJSONOf(t, append([]string{"--model", a}, args...)...)
	assert.Nil(t, one.Models, "one model: no models field")
	two := generateJSONOf(t, append([]string{"--model", a, "--ensemble", b}, args...)...)
	assert.Equal(t, []string{a, b}, two.Models)
	assert.Equal(t, 60, two.Chars)
	three := generateJSONOf(t, append([]string{"--model", a, "--ensemble", b, "--ensemble", a, "--quantize", "int8", "--top-k", "3"}, args...)...)
	assert.Equal(t, []string{a, b, a}, three.Models)
	_, _, err = runCLI(t, "generate", "--model", a, "--ensemble", b, "--seed", "KING:", "-n", "0")
	require.NoError(t, err)

	missing := filepath.Join(dir, "missing.safetensors")
	_, _, err = runCLI(t, "generate", "--model", a, "--ensemble", missing)
	require.ErrorContains(t, err, "--ensemble "+missing+": ")
	require.Equal(t, 1, run([]string{"generate", "--model", a, "--ensemble", missing}))
	_, _, err = runCLI(t, "generate", "--model", a, "--ensemble", other)
	require.ErrorContains(t, err, "--ensemble: "+other+" has ")
	require.ErrorContains(t, err, `"Ω" is only in `+other)
	require.ErrorContains(t, err, " and "+a+" ")
	require.Equal(t, 1, run([]string{"generate", "--model", a, "--ensemble", other, "-n", "5"}))
	_, _, err = runCLI(t, "generate", "--ensemble", a, "-n", "5")
	require.ErrorContains(t, err, "--ensemble: "+a+" has ")
	require.ErrorContains(t, err, "embedded:models/charrnn.safetensors")
}

// TestEvalCharRNNEnsemble: eval charrnn --ensemble scores the models' mean:
// a model with itself scores as the model, two models at most the mean of
// their losses, and --json lists the models.
func TestEvalCharRNNEnsemble(t *testing.T) {
	dir := t.TempDir()
	a := tinyCharModel(t, dir)
	b := charModelFile(t, dir, "b.safetensors", tinyText(), 2)
	data := writeFile(t, dir, "text.txt", []byte(tinyText()))
	eval := func(args ...string) map[string]any {
		out, _, err := runCLI(t, append([]string{"eval", "charrnn", "--data", data, "--json", "--streams", "2", "--window", "100"}, args...)...)
		require.NoError(t, err)
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		return r
	}
	ra, rb := eval("--model", a), eval("--model", b)
	assert.NotContains(t, ra, "models")
	self := eval("--model", a, "--ensemble", a)
	assert.InDelta(t, ra["loss"].(float64), self["loss"].(float64), 1e-9)
	assert.Equal(t, []any{a, a}, self["models"])
	mix := eval("--model", a, "--ensemble", b)
	assert.LessOrEqual(t, mix["loss"].(float64), (ra["loss"].(float64)+rb["loss"].(float64))/2)
	assert.Equal(t, ra["chars"], mix["chars"])

	out, _, err := runCLI(t, "eval", "charrnn", "--data", data, "--model", a, "--ensemble", b)
	require.NoError(t, err)
	assert.Contains(t, out, "the mean of 2 models' probabilities: "+a+", "+b+"\n")

	missing := filepath.Join(dir, "nope.safetensors")
	_, _, err = runCLI(t, "eval", "charrnn", "--data", data, "--model", a, "--ensemble", missing)
	require.ErrorContains(t, err, "--ensemble "+missing+": ")
	require.Equal(t, 1, run([]string{"eval", "charrnn", "--data", data, "--model", a, "--ensemble", missing}))
}

// TestDefaultCharRNNEnsemble: a default charrnn of several embedded files
// (here the default with itself) is what generate, eval, serve, models and
// models export all take as the default, from the one list models.CharRNN.
func TestDefaultCharRNNEnsemble(t *testing.T) {
	args := []string{"--seed", "ROMEO:", "-n", "30", "--rng-seed", "1"}
	saved := models.CharRNN
	t.Cleanup(func() { models.CharRNN = saved })
	models.CharRNN = []string{"charrnn"}
	single, _, err := runCLI(t, append([]string{"generate"}, args...)...)
	require.NoError(t, err)

	models.CharRNN = []string{"charrnn", "charrnn"}

	both, _, err := runCLI(t, append([]string{"generate"}, args...)...)
	require.NoError(t, err)
	require.Equal(t, single, both, "the default with itself generates as the default")
	r := generateJSONOf(t, args...)
	const embedded = "embedded:models/charrnn.safetensors"
	require.Equal(t, []string{embedded, embedded}, r.Models)

	// serve serves the ensemble.
	ms, err := loadServeModels(&serveOptions{classifyModel: "none", translateModels: []string{"none"}})
	require.NoError(t, err)
	require.NotNil(t, ms.Generator)
	require.Len(t, ms.Generator.Ensemble, 1)
	require.Equal(t, "generate ("+embedded+" + "+embedded+")", describeModels(ms))

	// rnnkit models names the ensemble on each of its files.
	out, _, err := runCLI(t, "models", "--json")
	require.NoError(t, err)
	var listed bool
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l modelListing
		require.NoError(t, json.Unmarshal([]byte(line), &l))
		if l.Name == "charrnn" {
			listed = true
			require.Equal(t, []string{"charrnn", "charrnn"}, l.Ensemble)
		} else if l.Kind == "charrnn" {
			require.Nil(t, l.Ensemble, l.Name)
		}
	}
	require.True(t, listed)
	out, _, err = runCLI(t, "models")
	require.NoError(t, err)
	assert.Contains(t, out, "    ensemble: charrnn + charrnn (the default charrnn model, their next-character probabilities averaged)\n")

	// models export charrnn writes each file, and how to use them together.
	dir := t.TempDir()
	path := filepath.Join(dir, "s.safetensors")
	out, _, err = runCLI(t, "models", "export", "charrnn", path)
	require.NoError(t, err)
	second := filepath.Join(dir, "s-2.safetensors")
	assert.Contains(t, out, "the default charrnn model is their ensemble: rnnkit generate --model "+path+" --ensemble "+second+"\n")
	want, err := models.FS.ReadFile("charrnn.safetensors")
	require.NoError(t, err)
	for _, p := range []string{path, second} {
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, want, got, p)
	}
	exported, _, err := runCLI(t, append([]string{"generate", "--model", path, "--ensemble", second}, args...)...)
	require.NoError(t, err)
	require.Equal(t, both, exported)

	// A file of the list that this build lacks is an error naming it.
	models.CharRNN = []string{"charrnn", "charrnn-missing"}
	_, _, err = runCLI(t, append([]string{"generate"}, args...)...)
	require.ErrorContains(t, err, "charrnn-missing.safetensors, a file of the default charrnn model, is missing")
	ms, err = loadServeModels(&serveOptions{classifyModel: "none"})
	require.NoError(t, err, "the translators are still served")
	require.Nil(t, ms.Generator)
	require.Equal(t, "generate", ms.Unavailable[0].Task)
}
