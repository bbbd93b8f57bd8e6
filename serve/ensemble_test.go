package serve

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// TestGenerateEnsemble: a Generator with Ensemble models generates what the
// library's ensemble generates, /v1/models names the others, and models
// with another tokenizer are refused by New.
func TestGenerateEnsemble(t *testing.T) {
	ms := models(t)
	one := ms.Generator.Model
	other, err := charrnn.New(charrnn.Config{Cell: rnn.LSTM, Embedding: 8, Hidden: 16, Layers: 2}, one.Tok)
	require.NoError(t, err)
	other.Init(rand.New(rand.NewPCG(9, 9)))
	ms.Generator = &Generator{Model: one, Source: "tiny-charrnn", Ensemble: []*charrnn.Model{other}, EnsembleSources: []string{"tiny-other"}}
	_, ts := newTest(t, ms, nil)

	var got GenerateResponse
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 60, "rng_seed": 1}`, &got)
	e, err := charrnn.NewEnsemble(one, other)
	require.NoError(t, err)
	var want strings.Builder
	res, err := e.GenerateScored(context.Background(), "KING:", charrnn.SampleOptions{N: 60, Temperature: 0.8, Seed: 1}, func(s string) error { want.WriteString(s); return nil })
	require.NoError(t, err)
	require.Equal(t, want.String(), got.Text)
	require.InDelta(t, res.MeanLogProb(), *got.MeanLogProb, 1e-9)

	var info ModelsResponse
	code, _, body := get(t, ts, "/v1/models")
	require.Equal(t, 200, code)
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	require.Equal(t, "generate", info.Models[0].Task)
	require.Equal(t, []string{"tiny-other"}, info.Models[0].Ensemble)

	tok, err := tokenize.TrainRune(strings.NewReader(tinyText+"Ω"), tokenize.RuneOptions{})
	require.NoError(t, err)
	bad, err := charrnn.New(charrnn.Config{Cell: rnn.GRU, Embedding: 8, Hidden: 16, Layers: 1}, tok)
	require.NoError(t, err)
	ms.Generator = &Generator{Model: one, Source: "a", Ensemble: []*charrnn.Model{bad}, EnsembleSources: []string{"b"}}
	_, err = New(ms, DefaultOptions())
	require.ErrorContains(t, err, `"Ω" is only in ensemble model 2`)
	ms.Generator = &Generator{Model: one, Source: "a", Ensemble: []*charrnn.Model{other}}
	_, err = New(ms, DefaultOptions())
	require.ErrorContains(t, err, "EnsembleSources")
}
