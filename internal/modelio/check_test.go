package modelio

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

type strictConfig struct {
	Cell   rnn.Cell `json:"cell"`
	Hidden int      `json:"hidden"`
	Labels []string `json:"labels"`
	Drop   float32  `json:"dropout"`
}

// TestDecodeStrict: a config key that is not a field (misspelt, another
// case, repeated) or a null value is an error naming the key, not silently
// dropped; the keys present are returned.
func TestDecodeStrict(t *testing.T) {
	tok := tokenize.NewRune([]rune("abcd"))
	decode := func(config string) (strictConfig, Keys, error) {
		info, err := Info("toy", strictConfig{}, []Tokenizer{{"", tok}}, nil)
		require.NoError(t, err)
		info.Config = []byte(config)
		var cfg strictConfig
		_, keys, err := Decode("f.safetensors", info, &cfg, "")
		return cfg, keys, err
	}
	cfg, keys, err := decode(`{"cell":"gru","hidden":8,"labels":["a","b"]}`)
	require.NoError(t, err)
	assert.Equal(t, strictConfig{Cell: rnn.GRU, Hidden: 8, Labels: []string{"a", "b"}}, cfg)
	assert.Equal(t, Keys{"cell": true, "hidden": true, "labels": true}, keys)
	assert.True(t, keys.Has("hidden"))
	assert.False(t, keys.Has("dropout"))

	for _, c := range []struct{ config, want string }{
		{`{"hiden":8}`, `model file f.safetensors: toy config: unknown key "hiden"; toy configs have the keys cell, hidden, labels, dropout: correct or remove it`},
		{`{"Hidden":8}`, `unknown key "Hidden"`},
		{`{"hidden":8,"hidden":9}`, `key "hidden" appears twice`},
		{`{"hidden":null}`, `"hidden" is null; give it a value or remove the key`},
		{`{"cell":"lsmt"}`, `"cell" = "lsmt": unknown cell "lsmt" (want lstm, gru, rnn_tanh or rnn_relu)`},
		{`{"cell":2}`, `"cell" = 2: a JSON number, but the field has Go type rnn.Cell`},
		{`{"hidden":1e9}`, `"hidden" = 1e9: a JSON number 1e9, but the field has Go type int`},
		{`{"hidden":99999999999999999999}`, `"hidden" = 99999999999999999999`},
		{`{"labels":"ab"}`, `"labels" = "ab": a JSON string, but the field has Go type []string`},
		{`[1]`, `toy config: not a JSON object: [1]`},
		{`"x"`, `not a JSON object`},
		{`{} {}`, `trailing data after the JSON object`},
		{``, `no "config" in the metadata`},
	} {
		_, _, err := decode(c.config)
		assert.ErrorContains(t, err, c.want, c.config)
	}
}

func tokJSON(t *testing.T, tok tokenize.Tokenizer) string {
	b, err := tok.MarshalJSON()
	require.NoError(t, err)
	return string(b)
}

// TestCheckTokenizer: a tokenizer whose ids do not fit the embedding the
// config sizes (a vocabulary of another size, ids >= V or < 0 in its
// vocabulary, added tokens or unk_id, padding) is refused at load, with an
// error naming the config field; before, such files loaded and panicked at
// inference ("embed: token id 1000000 ... out of range").
func TestCheckTokenizer(t *testing.T) {
	good := tokJSON(t, tokenize.NewRune([]rune("abc"))) // 7 tokens
	check := func(text, field string, vocab int) error {
		tok, err := tokenize.Load([]byte(text))
		require.NoError(t, err, text)
		info := rnn.ModelInfo{Kind: "toy", Tokenizers: map[string]string{"src": text}}
		return CheckTokenizer("f.safetensors", info, "src", tok, field, vocab)
	}
	require.NoError(t, check(good, "vocab", 7))
	assert.EqualError(t, check(good, "src_vocab", 8),
		`model file f.safetensors: config "src_vocab" = 8 but the src tokenizer (metadata "tokenizer.src") has 7 tokens; the file is damaged or was edited; export or download the model again`)

	for _, c := range []struct{ name, text, want string }{
		{"vocab id too large", strings.Replace(good, `"c":6`, `"c":1000000`, 1),
			`model file f.safetensors: the src tokenizer (metadata "tokenizer.src"): model.vocab gives the token "c" the id 1000000, outside the 7 tokens of config "vocab"; the file is damaged`},
		{"vocab id negative", strings.Replace(good, `"c":6`, `"c":-1`, 1), `model.vocab gives the token "c" the id -1, outside the 7 tokens of config "vocab"`},
		{"unk id", strings.Replace(good, `"<unk>":1`, `"<unk>":1000000`, 1), `model.vocab gives the token "<unk>" the id 1000000`},
		{"added token", strings.Replace(good, `{"id":3,"content":"</s>"`, `{"id":1000000,"content":"</s>"`, 1), `added token "</s>" has the id 1000000, outside the 7 tokens of config "vocab"`},
		{"padding", strings.Replace(good, `"padding":null`, `"padding":{"strategy":{"Fixed":1000000000000},"direction":"Right","pad_to_multiple_of":null,"pad_id":0,"pad_type_id":0,"pad_token":"<pad>"}`, 1),
			`"padding" is set, but rnnkit pads batches itself`},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.ErrorContains(t, check(c.text, "vocab", 7), c.want)
		})
	}
	require.NoError(t, check(tokJSON(t, tokenize.NewRune(nil)), "vocab", 4)) // only the specials

	// A foreign tokenizer too small for the fixed special ids.
	small := `{"model":{"type":"WordLevel","vocab":{"a":0,"b":1,"c":2},"unk_token":"a"},"pre_tokenizer":{"type":"WhitespaceSplit"}}`
	assert.ErrorContains(t, check(small, "vocab", 3), `config "vocab" = 3 is too small to hold the special token </s> (id 3)`)
}

// TestCheckTokenizerJSON covers the ids of post-processors and unk_id,
// which only foreign tokenizer files have.
func TestCheckTokenizerJSON(t *testing.T) {
	outside := func(id int64) bool { return id < 0 || id >= 10 }
	for _, c := range []struct{ text, want string }{
		{`{"model":{"unk_id":3}}`, ""},
		{`{"model":{"unk_id":10}}`, "model.unk_id is 10, outside V"},
		{`{"model":{"unk_id":"x"}}`, `model.unk_id is "x", outside V`},
		{`{"post_processor":{"type":"TemplateProcessing","special_tokens":{"[CLS]":{"id":"[CLS]","ids":[4],"tokens":["[CLS]"]}}}}`, ""},
		{`{"post_processor":{"type":"TemplateProcessing","special_tokens":{"[CLS]":{"id":"[CLS]","ids":[4, 101],"tokens":["[CLS]"]}}}}`, "post_processor gives a special token the id 101, outside V"},
		{`{"post_processor":{"type":"Sequence","processors":[{"type":"BertProcessing","sep":["[SEP]",5],"cls":["[CLS]",-1]}]}}`, "post_processor gives [CLS] the id -1, outside V"},
		{`{"model":{"vocab":{"a":0,"b":9}}}`, ""},
		{`{"model":{"vocab":{"a":0,"b":1.5}}}`, `model.vocab gives the token "b" the id 1.5, outside V`},
		{`{"model":{"vocab":{"a":0,"b":{}}}}`, `model.vocab gives the token "b" the id {, outside V`},
		{`{"model":{"vocab":[["a",0.5],["b",-1]]}}`, ""},
		{`{"added_tokens":[{"id":"x"}]}`, "malformed tokenizer.json"},
	} {
		err := checkTokenizerJSON(c.text, true, outside, "outside V")
		if c.want == "" {
			assert.NoError(t, err, c.text)
		} else {
			assert.ErrorContains(t, err, c.want, c.text)
		}
	}
}

// TestShapes: each check names the config field and the tensor it
// contradicts, and the first failure sticks.
func TestShapes(t *testing.T) {
	ts := []rnn.Tensor{
		{Name: "rnn.weight_ih_l0", Shape: []int{12, 2}, Data: make([]float32, 24)},
		{Name: "rnn.weight_hh_l0", Shape: []int{12, 3}, Data: make([]float32, 36)},
		{Name: "rnn.weight_ih_l1", Shape: []int{12, 3}, Data: make([]float32, 36)},
		{Name: "rnn.weight_hh_l1", Shape: []int{12, 3}, Data: make([]float32, 36)},
		{Name: "empty", Shape: []int{0, 1 << 40}},
	}
	ok := NewShapes("x.safetensors", ts)
	ok.Dim("hidden", 3, "rnn.weight_hh_l0", 1, 3)
	ok.Dim("cell", rnn.LSTM, "rnn.weight_hh_l0", 0, 12)
	ok.Layers("layers", 2, "rnn.")
	ok.Has("bidirectional", false, "rnn.weight_hh_l0_reverse", false)
	ok.Has("embedding", 2, "rnn.weight_ih_l0", true)
	require.NoError(t, ok.Err())

	for _, c := range []struct {
		name  string
		check func(s *Shapes)
		want  string
	}{
		{"dim", func(s *Shapes) { s.Dim("hidden", 1000000000, "rnn.weight_hh_l0", 1, 1000000000) },
			`model file x.safetensors: config "hidden" = 1000000000 but tensor rnn.weight_hh_l0 has shape [12 3] (the config needs 1000000000 in dimension 1); the file is damaged or was edited; export or download the model again`},
		{"dim zero", func(s *Shapes) { s.Dim("attn_hidden", 0, "rnn.weight_hh_l0", 0, 0) }, `config "attn_hidden" = 0 but tensor rnn.weight_hh_l0 has shape [12 3] (the config needs 0 in dimension 0)`},
		{"rank", func(s *Shapes) { s.Dim("hidden", 3, "rnn.weight_hh_l0", 2, 3) }, `has shape [12 3] (the config needs 3 in dimension 2)`},
		{"cell", func(s *Shapes) { s.Dim("cell", rnn.GRU, "rnn.weight_hh_l0", 0, 9) }, `config "cell" = "gru" but tensor rnn.weight_hh_l0 has shape [12 3] (the config needs 9 in dimension 0)`},
		{"missing", func(s *Shapes) { s.Dim("vocab", 5, "embedding.weight", 0, 5) }, `config "vocab" = 5 but the file has no tensor embedding.weight`},
		{"empty", func(s *Shapes) { s.Dim("hidden", 1<<40, "empty", 1, 1<<40) }, `tensor empty has shape [0 1099511627776], which holds no values`},
		{"layers", func(s *Shapes) { s.Layers("layers", 1000000000, "rnn.") }, `config "layers" = 1000000000 but the file has tensors for 2 layers (rnn.weight_ih_l0 to rnn.weight_ih_l1)`},
		{"layers negative", func(s *Shapes) { s.Layers("layers", -1, "rnn.") }, `config "layers" = -1 but the file has tensors for 2 layers`},
		{"layers none", func(s *Shapes) { s.Layers("enc_layers", 1, "encoder.rnn.") }, `config "enc_layers" = 1 but the file has no tensor encoder.rnn.weight_ih_l0`},
		{"has", func(s *Shapes) { s.Has("bidirectional", true, "rnn.weight_hh_l0_reverse", true) }, `config "bidirectional" = true but the file has no tensor rnn.weight_hh_l0_reverse`},
		{"has not", func(s *Shapes) { s.Has("embedding", 0, "rnn.weight_ih_l0", false) }, `config "embedding" = 0 but the file has tensor rnn.weight_ih_l0 [12 2], which that config does not have`},
		{"params", func(s *Shapes) {
			c := rnn.NewParamCounter()
			c.Add("rnn.weight_ih_l0", 12, 2)
			s.Params(c)
		}, `model file x.safetensors: the config does not match the tensors: tensor "rnn.weight_hh_l0" (shape [12 3]) is not a parameter of this model`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewShapes("x.safetensors", ts)
			c.check(s)
			require.Error(t, s.Err())
			assert.ErrorContains(t, s.Err(), c.want)
			first := s.Err()
			s.Dim("hidden", 1, "nothing", 0, 1)
			s.Fail(assert.AnError)
			assert.Equal(t, first, s.Err(), "the first failure sticks")
		})
	}
}
