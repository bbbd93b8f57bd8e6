// Package modelio is what the applications' model files have in common: the
// metadata that turns an rnn.Params into a model (the application's config
// as JSON and its tokenizers by name), reading it back, and setting the
// weights with the checks every application makes; Kind joins them into the
// one load and save path of every kind of model file, so that an
// application supplies only its config, its checks and its constructor.
// The file format itself is rnn's (rnn.SaveModel, rnn.LoadModel;
// docs/FORMAT.md).
package modelio

import (
	"encoding/json"
	"fmt"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Tokenizer names a tokenizer in a model file: "" for an application with
// one, "src" and "tgt" for a translator.
type Tokenizer struct {
	Name string
	Tok  tokenize.Tokenizer
}

// Info builds the metadata of a model of the given kind: cfg as JSON, the
// tokenizers in their tokenizer.json form, and meta.
func Info(kind string, cfg any, toks []Tokenizer, meta map[string]string) (rnn.ModelInfo, error) {
	cj, err := json.Marshal(cfg)
	if err != nil {
		return rnn.ModelInfo{}, fmt.Errorf("%s config: %v", kind, err)
	}
	tm := make(map[string]string, len(toks))
	for _, t := range toks {
		tj, err := t.Tok.MarshalJSON()
		if err != nil {
			return rnn.ModelInfo{}, fmt.Errorf("%s tokenizer %q: %v", kind, t.Name, err)
		}
		tm[t.Name] = string(tj)
	}
	return rnn.ModelInfo{Kind: kind, Config: cj, Tokenizers: tm, Meta: meta}, nil
}

// Read returns the metadata and tensors of a model file of the given kind:
// the file at path, or, when data is not nil, the file held in data (an
// embedded model; path is then only its name in messages).
func Read(path string, data []byte, kind string) (rnn.ModelInfo, []rnn.Tensor, error) {
	if data != nil {
		return rnn.LoadModelBytes(path, data, kind)
	}
	return rnn.LoadModel(path, kind)
}

// Open opens a model file of the given kind as Read reads it, leaving the
// weights to be read on demand (rnn.ModelFile). Close it when done.
func Open(path string, data []byte, kind string) (*rnn.ModelFile, error) {
	if data != nil {
		return rnn.OpenModelBytes(path, data, kind)
	}
	return rnn.OpenModel(path, kind)
}

// Decode unmarshals info's config into cfg (a pointer to a config struct)
// and loads the tokenizers with the given names, in that order. name is the
// file's name in messages. It returns the config keys the file holds, so
// that a field the file lacks (written before the field existed) can take
// its default while a field present with a bad value is an error.
//
// Decoding is strict: the config must be a JSON object whose keys are
// exactly the json names of cfg's fields (case-sensitive, each at most
// once, none null), and an error names the key.
func Decode(name string, info rnn.ModelInfo, cfg any, tokenizers ...string) ([]tokenize.Tokenizer, Keys, error) {
	keys, err := decodeConfig(name, info, cfg)
	if err != nil {
		return nil, nil, err
	}
	toks, err := loadTokenizers(name, info, tokenizers)
	if err != nil {
		return nil, nil, err
	}
	return toks, keys, nil
}

// loadTokenizers loads the named tokenizers of info.
func loadTokenizers(name string, info rnn.ModelInfo, tokenizers []string) ([]tokenize.Tokenizer, error) {
	toks := make([]tokenize.Tokenizer, len(tokenizers))
	for i, tn := range tokenizers {
		what := "tokenizer"
		if tn != "" {
			what = tn + " tokenizer"
		}
		tj, ok := info.Tokenizers[tn]
		if !ok {
			return nil, fmt.Errorf("model file %s: no %s in the metadata", name, what)
		}
		t, err := tokenize.Load([]byte(tj))
		if err != nil {
			return nil, fmt.Errorf("model file %s: %s: %v", name, what, err)
		}
		toks[i] = t
	}
	return toks, nil
}

// SetWeights copies the tensors of a model file into ps (names and shapes
// must match) and checks that every weight is finite: a file whose weights
// hold NaN or Inf is damaged, and would otherwise give garbage, not an error.
func SetWeights(name string, ps *rnn.Params, ts []rnn.Tensor) error {
	if err := ps.SetFromTensors(ts); err != nil {
		return fmt.Errorf("model file %s: %v", name, err)
	}
	if !ps.AllFinite() {
		return fmt.Errorf("model file %s: the weights hold NaN or Inf values; the file is damaged", name)
	}
	return nil
}
