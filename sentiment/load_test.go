package sentiment

import (
	"encoding/json"
	"math"
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

// tinyTok is the tokenizer of the tiny files: 10 tokens.
func tinyTok(t testing.TB) tokenize.Tokenizer {
	t.Helper()
	tok, err := tokenize.TrainWord(strings.NewReader("good bad film plot great awful\n"), tokenize.WordOptions{Lowercase: true, SplitPunct: true})
	require.NoError(t, err)
	return tok
}

// tinyFile returns a small valid sentiment model file: 10 tokens,
// embedding 4, BiGRU 2x3, max+mean+attention pooling, 3 labels.
func tinyFile(t testing.TB) []byte {
	t.Helper()
	tok := tinyTok(t)
	m, err := New(Config{Cell: rnn.GRU, Embedding: 4, Hidden: 3, Layers: 2, Bidirectional: true, Pooling: "max+mean+attention",
		Labels: []string{"negative", "positive", "neutral"}, MaxLen: 20}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	return modeliotest.File(t, m.Save)
}

// TestLoadConfigMismatch: a config that contradicts the tensors of its file
// is an error naming the field and the tensor, found before anything is
// allocated. Before, hidden or embedding = 1e9 ran out of memory, layers =
// 1e9 grew memory without end, and layers = -1, vocab = 0 or max_len = 0
// were silently replaced by defaults.
func TestLoadConfigMismatch(t *testing.T) {
	data := tinyFile(t)
	m := modeliotest.Load(t, LoadBytes, data)
	require.Equal(t, 10, m.Config.Vocab)

	const fix = modeliotest.Fix
	modeliotest.ConfigMismatch(t, LoadBytes, data, []modeliotest.ConfigCase{
		{"hidden", "1000000000", `config "hidden" = 1000000000 but tensor rnn.weight_hh_l0 has shape [9 3] (the config needs 1000000000 in dimension 1)` + fix},
		{"hidden", "4611686018427387904", `config "hidden" = 4611686018427387904 but tensor rnn.weight_hh_l0 has shape [9 3]`},
		{"embedding", "1000000000", `config "embedding" = 1000000000 but tensor embedding.weight has shape [10 4]`},
		{"embedding", "4611686018427387904", `config "embedding" = 4611686018427387904 but tensor embedding.weight has shape [10 4]`},
		{"layers", "1000000000", `config "layers" = 1000000000 but the file has tensors for 2 layers (rnn.weight_ih_l0 to rnn.weight_ih_l1)` + fix},
		{"layers", "-1", `config "layers" = -1 but the file has tensors for 2 layers`},
		{"layers", "0", `config "layers" = 0 but the file has tensors for 2 layers`},
		{"vocab", "0", `config "vocab" = 0 but the tokenizer (metadata "tokenizer") has 10 tokens` + fix},
		{"vocab", "1000000000", `config "vocab" = 1000000000 but the tokenizer (metadata "tokenizer") has 10 tokens`},
		{"cell", `"lstm"`, `config "cell" = "lstm" but tensor rnn.weight_hh_l0 has shape [9 3] (the config needs 12 in dimension 0)`},
		{"bidirectional", "false", `config "bidirectional" = false but the file has tensor rnn.weight_hh_l0_reverse [9 3], which that config does not have`},
		{"labels", `["a","b"]`, `config "labels" = ["a","b"] but tensor fc.weight has shape [3 18] (the config needs 2 in dimension 0)`},
		{"labels", `["a","b","a"]`, `sentiment: class labels must be distinct and non-empty`},
		{"pooling", `"max"`, `config "pooling" = "max" but tensor fc.weight has shape [3 18] (the config needs 6 in dimension 1)`},
		{"pooling", `"max+mean+last"`, `config "pooling" = "max+mean+last" but the file has tensor attn.weight [1 6], which that config does not have`},
		{"pooling", `""`, `sentiment: unknown pooling ""`},
		{"max_len", "0", `config "max_len" = 0: the longest review in tokens must be positive` + fix},
		{"max_len", "-5", `config "max_len" = -5`},
		{"truncate", `""`, `sentiment: unknown truncation ""`},
		{"dropout", "1", `sentiment: dropout 1 and emb_dropout 0 must be in [0, 1)`},
		{"max_length", "20", `sentiment config: unknown key "max_length"; sentiment configs have the keys cell, vocab, embedding, hidden, layers, bidirectional, pooling, dropout, emb_dropout, labels, max_len, truncate, ngram: correct or remove it`},
		{"hidden", "", `config "hidden" = 0 but tensor rnn.weight_hh_l0 has shape [9 3]`},
	})
}

// TestLoadOlderConfig: a config without the keys that have a default loads
// with those defaults, so files written before a key existed keep loading.
func TestLoadOlderConfig(t *testing.T) {
	old, err := modelio.EditConfig(tinyFile(t), map[string]json.RawMessage{"vocab": nil, "max_len": nil, "truncate": nil, "dropout": nil, "emb_dropout": nil})
	require.NoError(t, err)
	m, err := LoadBytes(tinyName, old)
	require.NoError(t, err)
	assert.Equal(t, 10, m.Config.Vocab)
	assert.Equal(t, 400, m.Config.MaxLen)
	assert.Equal(t, TruncHeadTail, m.Config.Truncate)
}

// TestLoadTokenizerIDs: a tokenizer whose ids do not fit the embedding is
// refused at load. Before, these files loaded, and classification panicked
// with "embed: token id 1000000 ... out of range".
func TestLoadTokenizerIDs(t *testing.T) {
	classify := func(m *Model) { m.Predict("good film, awful plot; zebra") }
	const tok, what = rnn.MetaTokenizer, `the tokenizer (metadata "tokenizer"): `
	modeliotest.TokenizerIDs(t, LoadBytes, tinyFile(t), classify, []modeliotest.TokenizerCase{
		{tok, `"good":7`, `"good":1000000`, what + `model.vocab gives the token "good" the id 1000000, outside the 10 tokens of config "vocab"`},
		{tok, `"<unk>":1`, `"<unk>":1000000`, what + `model.vocab gives the token "<unk>" the id 1000000`},
		{tok, `"film":6`, `"film":-1`, what + `model.vocab gives the token "film" the id -1`},
	})
}

// tinyLMFile returns a small valid language-model file: 10 tokens,
// embedding 4, a forward and a backward GRU 2x3, untied.
func tinyLMFile(t testing.TB) []byte {
	t.Helper()
	m, err := NewLM(LMConfig{Cell: rnn.GRU, Embedding: 4, Hidden: 3, Layers: 2, Bidirectional: true}, tinyTok(t))
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	return modeliotest.File(t, m.Save)
}

// TestLoadLMDamaged: a language-model file goes through the checks of
// the other kinds (a config that contradicts its tensors or tokenizer, a
// tokenizer whose ids do not fit the embedding) and through its own (an
// encoder whose directions mix, and NaN weights, which setFromFile checks
// in place of modelio.SetWeights).
func TestLoadLMDamaged(t *testing.T) {
	data := tinyLMFile(t)
	m := modeliotest.Load(t, lmFile.Load, data)
	require.Equal(t, 10, m.Config.Vocab)

	const fix = modeliotest.Fix
	modeliotest.ConfigMismatch(t, lmFile.Load, data, []modeliotest.ConfigCase{
		{"hidden", "1000000000", `config "hidden" = 1000000000 but tensor rnn.weight_hh_l0 has shape [9 3] (the config needs 1000000000 in dimension 1)` + fix},
		{"hidden", "", `config "hidden" = 0 but tensor rnn.weight_hh_l0 has shape [9 3]`},
		{"embedding", "4611686018427387904", `config "embedding" = 4611686018427387904 but tensor embedding.weight has shape [10 4]`},
		{"layers", "1000000000", `config "layers" = 1000000000 but the file has tensors for 2 layers (rnn.weight_ih_l0 to rnn.weight_ih_l1)` + fix},
		{"layers", "-1", `config "layers" = -1 but the file has tensors for 2 layers`},
		{"vocab", "0", `config "vocab" = 0 but the tokenizer (metadata "tokenizer") has 10 tokens` + fix},
		{"cell", `"lstm"`, `config "cell" = "lstm" but tensor rnn.weight_hh_l0 has shape [9 3] (the config needs 12 in dimension 0)`},
		{"bidirectional", "false", `config "bidirectional" = false but the file has tensor rnn.weight_hh_l0_reverse [9 3], which that config does not have`},
		{"tied", "true", `config "tied" = true but the file has tensor decoder.weight [10 3], which that config does not have`},
		{"dropout", "1", `sentiment: LM dropout 1 and emb_dropout 0 must be in [0, 1)`},
		{"pooling", `"max"`, `lm config: unknown key "pooling"; lm configs have the keys cell, vocab, embedding, hidden, layers, bidirectional, tied, dropout, emb_dropout: correct or remove it`},
	})
	next := func(m *LM) { m.PredictNext(m.Tok.Encode("good film, awful plot; zebra")) }
	modeliotest.TokenizerIDs(t, lmFile.Load, data, next, []modeliotest.TokenizerCase{
		{rnn.MetaTokenizer, `"good":7`, `"good":1000000`, `the tokenizer (metadata "tokenizer"): model.vocab gives the token "good" the id 1000000, outside the 10 tokens of config "vocab"`},
	})

	for _, c := range []struct {
		name string
		set  float32
		want string
	}{
		{"rnn.weight_ih_l1", 0.5, `rnn.weight_ih_l1 mixes the two directions (its backward half is not zero), so it is not a language model's encoder; pass an LM written by rnnkit train lm`},
		{"rnn.weight_ih_l1_reverse", 0.5, `rnn.weight_ih_l1_reverse mixes the two directions (its forward half is not zero)`},
		{"decoder.bias", float32(math.NaN()), `the weights hold NaN or Inf values; the file is damaged`},
	} {
		ts, meta, err := rnn.ReadSafetensors(strings.NewReader(string(data)), int64(len(data)))
		require.NoError(t, err)
		for i := range ts {
			if ts[i].Name != c.name {
				continue
			}
			// The first row's backward half (the forward layer's input
			// from the backward layer below), or the forward half of the
			// reverse layer's; any value for the bias.
			k := 3
			if strings.HasSuffix(c.name, "_reverse") || c.name == "decoder.bias" {
				k = 0
			}
			require.Zero(t, ts[i].Data[k], c.name)
			ts[i].Data[k] = c.set
		}
		var b strings.Builder
		require.NoError(t, rnn.WriteSafetensors(&b, ts, meta, rnn.F32))
		_, err = lmFile.Load(tinyName, []byte(b.String()))
		assert.ErrorContains(t, err, modeliotest.Prefix+c.want, c.name)
	}
}

// TestLoadDefaultModel: the embedded default still loads with the stricter
// checks, and classifies as before.
func TestLoadDefaultModel(t *testing.T) {
	data, err := os.ReadFile("../cmd/rnnkit/models/sentiment.safetensors")
	if os.IsNotExist(err) {
		t.Skip("no embedded default model in this tree")
	}
	require.NoError(t, err)
	m, err := LoadBytes("sentiment.safetensors", data)
	require.NoError(t, err)
	assert.Equal(t, 25000, m.Config.Vocab)
	assert.Equal(t, "positive", m.Predict("a truly wonderful film, I loved it").Label)
	assert.Equal(t, "negative", m.Predict("a boring, awful film; a waste of time").Label)
}

// FuzzLoadMeta mutates the config and tokenizer JSON of a small valid model
// file (and sets one config key to an arbitrary integer), then loads it:
// the load must return a model or an error naming the file, never panic,
// and never allocate more than a bound; a model that loads must classify.
func FuzzLoadMeta(f *testing.F) {
	z := modeliotest.NewFuzzer(f, LoadBytes, tinyFile(f), fuzzKeys)
	config, tok := z.Meta[rnn.MetaConfig], z.Meta[rnn.MetaTokenizer]
	f.Add(config, tok, uint8(255), int64(0))
	for i := range fuzzKeys {
		for _, v := range modeliotest.SeedInts {
			f.Add(config, tok, uint8(i), v)
		}
	}
	for _, c := range []string{`{}`, `null`, `[]`, `{"hidden":3}`, strings.Replace(config, `"max+mean+attention"`, `"attention+mean+max"`, 1),
		strings.Replace(config, `"bidirectional":true`, `"bidirectional":false`, 1), strings.Replace(config, `"gru"`, `"rnn_tanh"`, 1)} {
		f.Add(c, tok, uint8(255), int64(0))
	}
	for _, r := range [][2]string{{`"good":`, `"good":1000000,"x":`}, {`"<unk>":1`, `"<unk>":-1`}, {`"padding":null`, `"padding":{"strategy":"BatchLongest"}`},
		{`"type":"WordLevel"`, `"type":"BPE"`}, {`"Lowercase"`, `"NFKC"`}} {
		f.Add(config, strings.Replace(tok, r[0], r[1], 1), uint8(255), int64(0))
	}
	f.Fuzz(func(t *testing.T, config, tok string, key uint8, v int64) {
		m, ok := z.Load(t, config, key, v, map[string]string{rnn.MetaTokenizer: tok})
		if !ok {
			return
		}
		modeliotest.CheckIDs(t, m.Tok, m.Config.Vocab, " zebra \xff")
		p := m.Predict("good film, awful plot; zebra")
		if len(p.Probs) != len(m.Config.Labels) {
			t.Fatalf("%d probabilities for %d labels", len(p.Probs), len(m.Config.Labels))
		}
	})
}

var fuzzKeys = []string{"vocab", "embedding", "hidden", "layers", "max_len"}
