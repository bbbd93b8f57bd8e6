package charrnn

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/internal/modelio"
	"github.com/rnnkit/rnnkit/internal/modelio/modeliotest"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

const tinyName = modeliotest.Name

// tinyFile returns a small valid charrnn model file: 11 tokens, embedding 4
// (0: one-hot input), LSTM 2x6.
func tinyFile(t testing.TB, embedding int) []byte {
	t.Helper()
	tok := tokenize.NewRune([]rune("abcdefg"))
	m, err := New(Config{Cell: rnn.LSTM, Embedding: embedding, Hidden: 6, Layers: 2}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	return modeliotest.File(t, m.Save)
}

// TestLoadConfigMismatch: a config that contradicts the tensors of its file
// is an error naming the field and the tensor, found before anything is
// allocated. Before, hidden or embedding = 1e9 ran out of memory, 2^62 gave
// "slice bounds out of range", layers = 1e9 grew memory without end, and
// layers = -1 or vocab = 0 were silently replaced.
func TestLoadConfigMismatch(t *testing.T) {
	data := tinyFile(t, 4)
	m := modeliotest.Load(t, LoadBytes, data)
	require.Equal(t, 11, m.Config.Vocab)

	const fix = modeliotest.Fix
	modeliotest.ConfigMismatch(t, LoadBytes, data, []modeliotest.ConfigCase{
		{"hidden", "1000000000", `config "hidden" = 1000000000 but tensor rnn.weight_hh_l0 has shape [24 6] (the config needs 1000000000 in dimension 1)` + fix},
		{"hidden", "4611686018427387904", `config "hidden" = 4611686018427387904 but tensor rnn.weight_hh_l0 has shape [24 6]`},
		{"hidden", "0", `config "hidden" = 0 but tensor rnn.weight_hh_l0 has shape [24 6]`},
		{"hidden", "", `config "hidden" = 0 but tensor rnn.weight_hh_l0 has shape [24 6]`},
		{"embedding", "1000000000", `config "embedding" = 1000000000 but tensor embedding.weight has shape [11 4] (the config needs 1000000000 in dimension 1)`},
		{"embedding", "-4", `config "embedding" = -4 but tensor embedding.weight has shape [11 4]`},
		{"embedding", "0", `config "embedding" = 0 but the file has tensor embedding.weight [11 4], which that config does not have`},
		{"layers", "1000000000", `config "layers" = 1000000000 but the file has tensors for 2 layers (rnn.weight_ih_l0 to rnn.weight_ih_l1)` + fix},
		{"layers", "-1", `config "layers" = -1 but the file has tensors for 2 layers`},
		{"layers", "1", `config "layers" = 1 but the file has tensors for 2 layers`},
		{"vocab", "0", `config "vocab" = 0 but the tokenizer (metadata "tokenizer") has 11 tokens` + fix},
		{"vocab", "1000000000", `config "vocab" = 1000000000 but the tokenizer (metadata "tokenizer") has 11 tokens`},
		{"cell", `"gru"`, `config "cell" = "gru" but tensor rnn.weight_hh_l0 has shape [24 6] (the config needs 18 in dimension 0)`},
		{"cell", `"lsmt"`, `charrnn config: "cell" = "lsmt": unknown cell "lsmt"`},
		{"dropout", "1.5", `charrnn: dropout 1.5 must be in [0, 1)`},
		{"emb_dropout", "-0.1", `charrnn: emb_dropout -0.1 must be in [0, 1)`},
		{"weight_drop", "1", `charrnn: weight_drop 1 must be in [0, 1)`},
		{"hiden", "6", `charrnn config: unknown key "hiden"; charrnn configs have the keys cell, vocab, embedding, hidden, layers, dropout, emb_dropout, weight_drop: correct or remove it`},
		{"Hidden", "6", `unknown key "Hidden"`},
		{"layers", "null", `"layers" is null`},
		{"hidden", `"6"`, `"hidden" = "6": a JSON string, but the field has Go type int`},
	})
}

// TestLoadOneHotMismatch: the one-hot model (embedding 0) is checked the
// same way.
func TestLoadOneHotMismatch(t *testing.T) {
	data := tinyFile(t, 0)
	_, err := LoadBytes(tinyName, data)
	require.NoError(t, err)
	bad, err := modelio.EditConfig(data, map[string]json.RawMessage{"embedding": json.RawMessage("4")})
	require.NoError(t, err)
	_, err = LoadBytes(tinyName, bad)
	assert.ErrorContains(t, err, `config "embedding" = 4 but the file has no tensor embedding.weight`)
}

// TestLoadOlderConfig: a config without the keys that have a default
// (vocab) loads, so files written before a key existed keep loading.
func TestLoadOlderConfig(t *testing.T) {
	data := tinyFile(t, 4)
	old, err := modelio.EditConfig(data, map[string]json.RawMessage{"vocab": nil, "emb_dropout": nil, "dropout": nil})
	require.NoError(t, err)
	m, err := LoadBytes(tinyName, old)
	require.NoError(t, err)
	assert.Equal(t, 11, m.Config.Vocab)
}

// TestLoadTokenizerIDs: a tokenizer whose ids do not fit the embedding is
// refused at load. Before, these files loaded, and generation panicked with
// "embed: token id 1000000 ... out of range".
func TestLoadTokenizerIDs(t *testing.T) {
	generate := func(m *Model) {
		_ = m.Generate(context.Background(), "abcdefg xyz", SampleOptions{N: 5, SkipUnknown: true}, func(string) error { return nil })
	}
	const tok, what = rnn.MetaTokenizer, `the tokenizer (metadata "tokenizer"): `
	modeliotest.TokenizerIDs(t, LoadBytes, tinyFile(t, 4), generate, []modeliotest.TokenizerCase{
		{tok, `"g":10`, `"g":1000000`, what + `model.vocab gives the token "g" the id 1000000, outside the 11 tokens of config "vocab"`},
		{tok, `"<unk>":1`, `"<unk>":1000000`, what + `model.vocab gives the token "<unk>" the id 1000000`},
		{tok, `"a":4`, `"a":-1`, what + `model.vocab gives the token "a" the id -1`},
		{tok, `{"id":3,"content":"</s>"`, `{"id":-1,"content":"</s>"`, what + `added token "</s>" has the id -1`},
	})
}

// TestLoadDefaultModel: the embedded default's two members still load with
// the stricter checks, form an ensemble and generate.
func TestLoadDefaultModel(t *testing.T) {
	var members []*Model
	for _, c := range []struct {
		file    string
		dropout float32
	}{{"charrnn", 0.25}, {"charrnn-2", 0.35}} {
		data, err := os.ReadFile("../cmd/rnnkit/models/" + c.file + ".safetensors")
		if os.IsNotExist(err) {
			t.Skip("no embedded default model in this tree")
		}
		require.NoError(t, err)
		m, err := LoadBytes(c.file+".safetensors", data)
		require.NoError(t, err)
		assert.Equal(t, Config{Cell: rnn.LSTM, Vocab: 69, Embedding: 64, Hidden: 512, Layers: 2, Dropout: c.dropout, EmbDropout: 0.05}, m.Config)
		members = append(members, m)
	}
	e, err := NewEnsemble(members...)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, e.Generate(context.Background(), "ROMEO:", SampleOptions{N: 40, Seed: 1}, func(s string) error { b.WriteString(s); return nil }))
	assert.Equal(t, 40, len([]rune(b.String())))
}

// FuzzLoadMeta mutates the config and tokenizer JSON of a small valid model
// file (and sets one config key to an arbitrary integer), then loads it:
// the load must return a model or an error naming the file, never panic,
// and never allocate more than a bound; a model that loads must generate.
func FuzzLoadMeta(f *testing.F) {
	z := modeliotest.NewFuzzer(f, LoadBytes, tinyFile(f, 4), fuzzKeys)
	config, tok := z.Meta[rnn.MetaConfig], z.Meta[rnn.MetaTokenizer]
	f.Add(config, tok, uint8(255), int64(0))
	for i := range fuzzKeys {
		for _, v := range modeliotest.SeedInts {
			f.Add(config, tok, uint8(i), v)
		}
	}
	for _, c := range []string{`{}`, `null`, `[]`, `{"hidden":6}`, strings.Replace(config, `"embedding":4`, `"embedding":0`, 1),
		strings.Replace(config, `"lstm"`, `"rnn_relu"`, 1), config + " "} {
		f.Add(c, tok, uint8(255), int64(0))
	}
	for _, r := range [][2]string{{`"g":10`, `"g":1000000`}, {`"<unk>":1`, `"<unk>":-1`}, {`"padding":null`, `"padding":{"strategy":"BatchLongest"}`},
		{`"type":"BPE"`, `"type":"WordLevel"`}, {`"decoder":{"type":"Fuse"}`, `"decoder":null`}} {
		f.Add(config, strings.Replace(tok, r[0], r[1], 1), uint8(255), int64(0))
	}
	f.Fuzz(func(t *testing.T, config, tok string, key uint8, v int64) {
		m, ok := z.Load(t, config, key, v, map[string]string{rnn.MetaTokenizer: tok})
		if !ok {
			return
		}
		modeliotest.CheckIDs(t, m.Tok, m.Config.Vocab, "z\xff")
		// It may refuse the seed (no known character, say); it must not panic.
		_ = m.Generate(context.Background(), "abc xyz", SampleOptions{N: 5, Seed: 1, SkipUnknown: true}, func(string) error { return nil })
	})
}

var fuzzKeys = []string{"vocab", "embedding", "hidden", "layers"}
