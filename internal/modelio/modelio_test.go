package modelio

import (
	"encoding/json"
	"fmt"
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

// toyModel is a model of the kind toyKind: one weight matrix w (hidden, 3).
type toyModel struct {
	cfg    testConfig
	ps     *rnn.Params
	src    tokenize.Tokenizer
	tgt    tokenize.Tokenizer
	meta   map[string]string
	copied bool // its weights came through toyKind's SetWeights
}

func toyKind(setWeights bool) *Kind[testConfig, *toyModel] {
	k := &Kind[testConfig, *toyModel]{
		Name: "toy", Tokenizers: []string{"src", "tgt"},
		Check: func(name string, info rnn.ModelInfo, cfg *testConfig, keys Keys, toks []tokenize.Tokenizer, ts []rnn.Tensor) error {
			if !keys.Has("cell") {
				cfg.Cell = "gru" // the default of a file written before the key
			}
			s := NewShapes(name, ts)
			s.Dim("hidden", cfg.Hidden, "w", 0, cfg.Hidden)
			return s.Err()
		},
		New: func(cfg testConfig, toks []tokenize.Tokenizer) (*toyModel, error) {
			if cfg.Cell != "gru" {
				return nil, fmt.Errorf("toy: cell %q is not gru", cfg.Cell)
			}
			ps := rnn.NewParams()
			ps.Add("w", cfg.Hidden, 3)
			return &toyModel{cfg: cfg, ps: ps, src: toks[0], tgt: toks[1], meta: map[string]string{}}, nil
		},
		Parts: func(m *toyModel) (*rnn.Params, *map[string]string) { return m.ps, &m.meta },
	}
	if setWeights {
		k.SetWeights = func(m *toyModel, name string, ts []rnn.Tensor) error {
			m.copied = true
			return SetWeights(name, m.ps, ts)
		}
	}
	return k
}

// TestKind saves a model through Kind.Info and Save and loads it back
// through Kind, from a path and from memory, with the file's metadata, the
// defaults Check gives, and the errors of each step naming the file.
func TestKind(t *testing.T) {
	k := toyKind(false)
	src, tgt := tokenize.NewRune([]rune("abc")), tokenize.NewRune([]rune("xyzñ"))
	m := &toyModel{cfg: testConfig{Hidden: 2, Cell: "gru"}, ps: testParams(), src: src, tgt: tgt, meta: map[string]string{"licence": "CC0"}}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	info := func() (rnn.ModelInfo, error) { return k.Info(m.cfg, m.meta, m.src, m.tgt) }
	require.NoError(t, Save(path, info, m.ps, rnn.F32))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, d := range [][]byte{nil, data} {
		got, err := k.Load(path, d)
		require.NoError(t, err)
		require.Equal(t, m.cfg, got.cfg)
		require.Equal(t, m.ps.Values, got.ps.Values)
		require.Equal(t, "CC0", got.meta["licence"])
		require.Equal(t, tgt.Encode("zñ"), got.tgt.Encode("zñ"))
		require.False(t, got.copied)
	}
	got, err := toyKind(true).Load(path, data)
	require.NoError(t, err)
	require.True(t, got.copied, "a Kind's SetWeights replaces the package's")

	_, err = k.Load(path, []byte("not a model file"))
	require.ErrorContains(t, err, "m.safetensors")
	old, err := EditConfig(data, map[string]json.RawMessage{"cell": nil})
	require.NoError(t, err)
	got, err = k.Load("old.safetensors", old)
	require.NoError(t, err)
	require.Equal(t, "gru", got.cfg.Cell, "Check gives a missing key its default")
	for _, c := range []struct{ key, value, want string }{
		{"hidden", "5", `model file bad.safetensors: config "hidden" = 5 but tensor w has shape [2 3]`},
		{"cell", `"lstm"`, `model file bad.safetensors: toy: cell "lstm" is not gru`},
		{"size", "1", `model file bad.safetensors: toy config: unknown key "size"`},
	} {
		bad, err := EditConfig(data, map[string]json.RawMessage{c.key: json.RawMessage(c.value)})
		require.NoError(t, err)
		_, err = k.Load("bad.safetensors", bad)
		require.ErrorContains(t, err, c.want)
	}
	require.Panics(t, func() { _, _ = k.Info(m.cfg, nil, src) }, "a toy model has two tokenizers")
}
