package seq2seq

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

// tinyConfig is the architecture of tinyFile: source vocabulary 11, target
// 10, embedding 4, BiGRU 2x3 encoder, GRU 2x5 decoder with input feeding,
// additive attention of width 6, untied output layer.
var tinyConfig = Config{Cell: rnn.GRU, Embedding: 4, EncHidden: 3, EncLayers: 2, DecHidden: 5, DecLayers: 2,
	Attention: rnn.Additive, AttnHidden: 6, InputFeeding: true}

// tinyFile returns a small valid seq2seq model file of the given config.
func tinyFile(t testing.TB, cfg Config) []byte {
	t.Helper()
	m, err := New(cfg, tokenize.NewRune([]rune("abcdefg")), tokenize.NewRune([]rune("hijklm")))
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	return modeliotest.File(t, m.Save)
}

// TestLoadConfigMismatch: a config that contradicts the tensors of its file
// is an error naming the field and the tensor, found before anything is
// allocated. Before, sizes of 1e9 ran out of memory, 2^62 gave "slice
// bounds out of range", layers = 1e9 grew memory without end, and
// attn_hidden = 0 or layers = -1 were silently replaced by defaults.
func TestLoadConfigMismatch(t *testing.T) {
	data := tinyFile(t, tinyConfig)
	m := modeliotest.Load(t, LoadBytes, data)
	require.Equal(t, 11, m.Config.SrcVocab)

	const fix = modeliotest.Fix
	modeliotest.ConfigMismatch(t, LoadBytes, data, []modeliotest.ConfigCase{
		{"enc_hidden", "1000000000", `config "enc_hidden" = 1000000000 but tensor encoder.rnn.weight_hh_l0 has shape [9 3] (the config needs 1000000000 in dimension 1)` + fix},
		{"enc_hidden", "4611686018427387904", `config "enc_hidden" = 4611686018427387904 but tensor encoder.rnn.weight_hh_l0 has shape [9 3]`},
		{"dec_hidden", "1000000000", `config "dec_hidden" = 1000000000 but tensor decoder.rnn.weight_hh_l0 has shape [15 5]`},
		{"embedding", "1000000000", `config "embedding" = 1000000000 but tensor encoder.embedding.weight has shape [11 4]`},
		{"attn_hidden", "1000000000", `config "attn_hidden" = 1000000000 but tensor attn.query.weight has shape [6 5] (the config needs 1000000000 in dimension 0)`},
		{"attn_hidden", "4611686018427387904", `config "attn_hidden" = 4611686018427387904 but tensor attn.query.weight has shape [6 5]`},
		{"attn_hidden", "0", `config "attn_hidden" = 0: the additive attention's width must be positive (without the key it is dec_hidden)` + fix},
		{"attn_hidden", "5", `config "attn_hidden" = 5 but tensor attn.query.weight has shape [6 5] (the config needs 5 in dimension 0)`},
		{"enc_layers", "1000000000", `config "enc_layers" = 1000000000 but the file has tensors for 2 layers (encoder.rnn.weight_ih_l0 to encoder.rnn.weight_ih_l1)` + fix},
		{"dec_layers", "-1", `config "dec_layers" = -1 but the file has tensors for 2 layers (decoder.rnn.weight_ih_l0 to decoder.rnn.weight_ih_l1)`},
		{"dec_layers", "0", `config "dec_layers" = 0 but the file has tensors for 2 layers`},
		{"src_vocab", "0", `config "src_vocab" = 0 but the src tokenizer (metadata "tokenizer.src") has 11 tokens` + fix},
		{"tgt_vocab", "1000000000", `config "tgt_vocab" = 1000000000 but the tgt tokenizer (metadata "tokenizer.tgt") has 10 tokens`},
		{"input_feeding", "false", `config "input_feeding" = false but tensor decoder.rnn.weight_ih_l0 has shape [15 10] (the config needs 4 in dimension 1)`},
		{"tie_embeddings", "true", `config "tie_embeddings" = true but the file has no tensor pre_out.weight`},
		{"attention", `"general"`, `config "attention" = "general" but the file has tensor attn.query.weight [6 5], which that config does not have`},
		{"attention", `"dot"`, `seq2seq: dot attention needs decoder hidden = 2 x encoder hidden (6), got 5`},
		{"attention", `"sideways"`, `seq2seq config: "attention" = "sideways": unknown attention "sideways"`},
		{"cell", `"lstm"`, `config "cell" = "lstm" but tensor encoder.rnn.weight_hh_l0 has shape [9 3] (the config needs 12 in dimension 0)`},
		{"dropout", "-1", `seq2seq: dropout -1 must be in [0, 1)`},
		{"attn_size", "6", `seq2seq config: unknown key "attn_size"; seq2seq configs have the keys cell, src_vocab, tgt_vocab, embedding, enc_hidden, enc_layers, dec_hidden, dec_layers, attention, attn_hidden, input_feeding, tie_embeddings, dropout: correct or remove it`},
	})
}

// TestLoadTiedGeneral checks the tied output layer and general attention.
func TestLoadTiedGeneral(t *testing.T) {
	cfg := tinyConfig
	cfg.TieEmbeddings, cfg.Attention, cfg.InputFeeding, cfg.AttnHidden = true, rnn.General, false, 0
	data := tinyFile(t, cfg)
	m, err := LoadBytes(tinyName, data)
	require.NoError(t, err)
	assert.Equal(t, 5, m.Config.AttnHidden, "saved as filled in by New")
	for _, c := range []struct{ key, value, want string }{
		{"tie_embeddings", "false", `config "tie_embeddings" = false but the file has tensor pre_out.weight [4 15], which that config does not have`},
		{"attention", `"additive"`, `config "attention" = "additive" but the file has no tensor attn.query.weight`},
		{"attention", `"dot"`, `seq2seq: dot attention needs decoder hidden = 2 x encoder hidden (6), got 5`},
		{"attn_hidden", "0", `config "attn_hidden" = 0: the additive attention's width must be positive`},
	} {
		bad, err := modelio.EditConfig(data, map[string]json.RawMessage{c.key: json.RawMessage(c.value)})
		require.NoError(t, err)
		_, err = LoadBytes(tinyName, bad)
		assert.ErrorContains(t, err, c.want, c.key)
	}
}

// TestLoadOlderConfig: a config without the keys that have a default loads
// with those defaults, so files written before a key existed keep loading.
func TestLoadOlderConfig(t *testing.T) {
	cfg := tinyConfig
	cfg.EncLayers, cfg.DecLayers, cfg.AttnHidden = 1, 1, 5
	old, err := modelio.EditConfig(tinyFile(t, cfg), map[string]json.RawMessage{"src_vocab": nil, "tgt_vocab": nil,
		"enc_layers": nil, "dec_layers": nil, "attn_hidden": nil, "dropout": nil, "tie_embeddings": nil})
	require.NoError(t, err)
	m, err := LoadBytes(tinyName, old)
	require.NoError(t, err)
	assert.Equal(t, cfg.EncLayers, m.Config.EncLayers)
	assert.Equal(t, 5, m.Config.AttnHidden)
	assert.Equal(t, 10, m.Config.TgtVocab)
}

// TestLoadTokenizerIDs: a tokenizer whose ids do not fit the embedding is
// refused at load. Before, these files loaded, and translation panicked
// with "embed: token id 1000000 ... out of range".
func TestLoadTokenizerIDs(t *testing.T) {
	translate := func(m *Model) {
		_, _ = m.Translate(context.Background(), []string{"abcdefg xyz"}, TranslateOptions{Beam: 1})
	}
	modeliotest.TokenizerIDs(t, LoadBytes, tinyFile(t, tinyConfig), translate, []modeliotest.TokenizerCase{
		{"tokenizer.src", `"g":10`, `"g":1000000`, `the src tokenizer (metadata "tokenizer.src"): model.vocab gives the token "g" the id 1000000, outside the 11 tokens of config "src_vocab"`},
		{"tokenizer.src", `"<unk>":1`, `"<unk>":-1`, `the src tokenizer (metadata "tokenizer.src"): model.vocab gives the token "<unk>" the id -1`},
		{"tokenizer.tgt", `"m":9`, `"m":1000000`, `the tgt tokenizer (metadata "tokenizer.tgt"): model.vocab gives the token "m" the id 1000000, outside the 10 tokens of config "tgt_vocab"`},
	})
}

// TestLoadDefaultModel: the embedded default still loads with the stricter
// checks, and translates as before.
func TestLoadDefaultModel(t *testing.T) {
	data, err := os.ReadFile("../cmd/rnnkit/models/seq2seq.safetensors")
	if os.IsNotExist(err) {
		t.Skip("no embedded default model in this tree")
	}
	require.NoError(t, err)
	m, err := LoadBytes("seq2seq.safetensors", data)
	require.NoError(t, err)
	assert.Equal(t, 512, m.Config.AttnHidden)
	trs, err := m.Translate(context.Background(), []string{"I have two brothers."}, TranslateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Tengo dos hermanos.", trs[0].Text)
}

// FuzzLoadMeta mutates the config and both tokenizers' JSON of a small
// valid model file (and sets one config key to an arbitrary integer), then
// loads it: the load must return a model or an error naming the file,
// never panic, and never allocate more than a bound; a model that loads
// must translate.
func FuzzLoadMeta(f *testing.F) {
	z := modeliotest.NewFuzzer(f, LoadBytes, tinyFile(f, tinyConfig), fuzzKeys)
	config, src, tgt := z.Meta[rnn.MetaConfig], z.Meta["tokenizer.src"], z.Meta["tokenizer.tgt"]
	f.Add(config, src, tgt, uint8(255), int64(0))
	for i := range fuzzKeys {
		for _, v := range modeliotest.SeedInts {
			f.Add(config, src, tgt, uint8(i), v)
		}
	}
	for _, c := range []string{`{}`, `null`, `[]`, strings.Replace(config, `"additive"`, `"general"`, 1),
		strings.Replace(config, `"input_feeding":true`, `"input_feeding":false`, 1), strings.Replace(config, `"gru"`, `"lstm"`, 1)} {
		f.Add(c, src, tgt, uint8(255), int64(0))
	}
	for _, r := range [][2]string{{`"g":10`, `"g":1000000`}, {`"<unk>":1`, `"<unk>":-1`}, {`"padding":null`, `"padding":{"strategy":"BatchLongest"}`},
		{`"type":"BPE"`, `"type":"WordLevel"`}} {
		f.Add(config, strings.Replace(src, r[0], r[1], 1), tgt, uint8(255), int64(0))
		f.Add(config, src, strings.Replace(tgt, r[0], r[1], 1), uint8(255), int64(0))
	}
	f.Fuzz(func(t *testing.T, config, src, tgt string, key uint8, v int64) {
		m, ok := z.Load(t, config, key, v, map[string]string{"tokenizer.src": src, "tokenizer.tgt": tgt})
		if !ok {
			return
		}
		modeliotest.CheckIDs(t, m.Src, m.Config.SrcVocab, " zebra \xff")
		modeliotest.CheckIDs(t, m.Tgt, m.Config.TgtVocab, " zebra \xff")
		trs, err := m.Translate(context.Background(), []string{"abc defg", "xyz"}, TranslateOptions{Beam: 2, MaxLenRatio: 1})
		if err != nil || len(trs) != 2 {
			t.Fatalf("a loaded model does not translate: %v", err)
		}
	})
}

var fuzzKeys = []string{"src_vocab", "tgt_vocab", "embedding", "enc_hidden", "enc_layers", "dec_hidden", "dec_layers", "attn_hidden"}
