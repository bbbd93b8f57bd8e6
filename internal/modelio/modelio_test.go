package modelio

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

type testConfig struct {
	Hidden int    `json:"hidden"`
	Cell   string `json:"cell"`
}

func testParams() *rnn.Params {
	ps := rnn.NewParams()
	w := ps.Add("w", 2, 3)
	for i := range w.W {
		w.W[i] = float32(i) / 4
	}
	return ps
}

// TestRoundTrip writes a model with two named tokenizers through Info and
// rnn.SaveModel and reads it back, from a path and from memory.
func TestRoundTrip(t *testing.T) {
	src, tgt := tokenize.NewRune([]rune("abc")), tokenize.NewRune([]rune("xyzñ"))
	cfg := testConfig{Hidden: 7, Cell: "gru"}
	info, err := Info("toy", cfg, []Tokenizer{{"src", src}, {"tgt", tgt}}, map[string]string{"licence": "CC0"})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, rnn.SaveModel(path, info, testParams(), rnn.F32))
	data, err := os.ReadFile(path)
	require.NoError(t, err)

	for _, d := range [][]byte{nil, data} {
		info, ts, err := Read(path, d, "toy")
		require.NoError(t, err)
		var got testConfig
		toks, keys, err := Decode(path, info, &got, "src", "tgt")
		require.NoError(t, err)
		require.Equal(t, cfg, got)
		require.Equal(t, Keys{"hidden": true, "cell": true}, keys)
		require.Equal(t, src.VocabSize(), toks[0].VocabSize())
		require.Equal(t, tgt.Encode("zñ"), toks[1].Encode("zñ"))
		require.Equal(t, "CC0", info.Meta["licence"])
		ps := rnn.NewParams()
		ps.Add("w", 2, 3)
		require.NoError(t, SetWeights(path, ps, ts))
		require.Equal(t, testParams().Values, ps.Values)
	}

	_, _, err = Read(path, nil, "other")
	require.ErrorContains(t, err, "other")
}

func TestDecodeErrors(t *testing.T) {
	tok := tokenize.NewRune([]rune("ab"))
	info, err := Info("toy", testConfig{}, []Tokenizer{{"", tok}}, nil)
	require.NoError(t, err)
	var cfg testConfig
	_, _, err = Decode("f.safetensors", info, &cfg, "src")
	require.EqualError(t, err, "model file f.safetensors: no src tokenizer in the metadata")
	_, _, err = Decode("f.safetensors", info, &cfg, "", "tgt")
	require.ErrorContains(t, err, "no tgt tokenizer")

	bad := info
	bad.Config = []byte(`{"hidden": "seven"}`)
	_, _, err = Decode("f.safetensors", bad, &cfg, "")
	require.ErrorContains(t, err, `model file f.safetensors: toy config: "hidden" = "seven": a JSON string, but the field has Go type int`)

	bad = info
	bad.Tokenizers = map[string]string{"": "{not json"}
	_, _, err = Decode("f.safetensors", bad, &cfg, "")
	require.ErrorContains(t, err, "model file f.safetensors: tokenizer:")
}

// TestSetWeightsRejectsNonFinite: a file whose weights hold NaN or Inf is
// damaged, and every application refuses it.
func TestSetWeightsRejectsNonFinite(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		src := testParams()
		src.Values[4] = v
		ps := rnn.NewParams()
		ps.Add("w", 2, 3)
		err := SetWeights("f.safetensors", ps, src.Tensors())
		require.EqualError(t, err, "model file f.safetensors: the weights hold NaN or Inf values; the file is damaged")
	}
	ps := rnn.NewParams()
	ps.Add("v", 6)
	require.ErrorContains(t, SetWeights("f.safetensors", ps, testParams().Tensors()), "model file f.safetensors:")
}
