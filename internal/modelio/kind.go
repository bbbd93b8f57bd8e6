package modelio

import (
	"fmt"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Kind is the one load and save path of a kind of model file, with config
// type C and model type M (a pointer). The steps, their order and their
// messages are the same for every application; only what Kind's functions
// supply differs: how the config is checked against the tensors, how the
// model is built, and where its weights and metadata go.
type Kind[C, M any] struct {
	// Name is the kind recorded in the file (rnn.ModelInfo.Kind).
	Name string
	// Tokenizers are the names of the model's tokenizers in the file, in
	// the order Check, New and Info take them ("" for the one tokenizer
	// of an application with one).
	Tokenizers []string
	// Check checks cfg, decoded from the file name, against the file's
	// tokenizers and tensors before anything is allocated (CheckTokenizer,
	// Shapes, Invalid); it gives the fields the file lacks (not in keys)
	// their defaults. A file that passes must build.
	Check func(name string, info rnn.ModelInfo, cfg *C, keys Keys, toks []tokenize.Tokenizer, ts []rnn.Tensor) error
	// New builds a model with zero weights: the application's constructor.
	New func(cfg C, toks []tokenize.Tokenizer) (M, error)
	// Parts returns the model's parameters, into which SetWeights copies
	// the tensors, and its metadata field, which takes the file's metadata.
	Parts func(m M) (ps *rnn.Params, meta *map[string]string)
	// SetWeights, when not nil, copies the file's (checked) tensors into m
	// in place of the package's SetWeights on its parameters: for a model
	// whose file holds the weights in another layout than its parameters.
	SetWeights func(m M, name string, ts []rnn.Tensor) error
	// Quantize, when not nil, switches a model to int8 inference (the
	// application's Quantize), for LoadQuantized.
	Quantize func(m M)
}

// Load reads a model file of this kind: the file at path, or, when data is
// not nil, the file held in data (an embedded model; path is then only its
// name in messages). Unless the kind has its own SetWeights, the weights
// are decoded straight into the model's parameters, with no float32 copy
// of the file in between.
func (k *Kind[C, M]) Load(path string, data []byte) (M, error) {
	var zero M
	mf, err := Open(path, data, k.Name)
	if err != nil {
		return zero, err
	}
	defer mf.Close()
	if k.SetWeights != nil {
		ts, err := mf.Tensors()
		if err != nil {
			return zero, err
		}
		return k.FromFile(path, mf.Info, ts)
	}
	return k.build(path, mf.Info, mf.Shapes(), func(_ M, ps *rnn.Params) error { return mf.ReadParams(ps) })
}

// LoadQuantized is Load followed by k.Quantize, in which the int8
// matrices of an int8 file are taken as stored (rnn.ModelFile.
// ReadParamsInt8), not quantized again from their float32 copies: the
// same model, loaded in a fraction of the time. Without k.Quantize it is
// Load.
func (k *Kind[C, M]) LoadQuantized(path string, data []byte) (M, error) {
	if k.Quantize == nil || k.SetWeights != nil {
		m, err := k.Load(path, data)
		if err == nil && k.Quantize != nil {
			k.Quantize(m)
		}
		return m, err
	}
	var zero M
	mf, err := Open(path, data, k.Name)
	if err != nil {
		return zero, err
	}
	defer mf.Close()
	var ps *rnn.Params
	m, err := k.build(path, mf.Info, mf.Shapes(), func(_ M, p *rnn.Params) error {
		ps = p
		return mf.ReadParamsInt8(p)
	})
	if ps != nil {
		defer ps.DropInt8()
	}
	if err != nil {
		return zero, err
	}
	k.Quantize(m)
	return m, nil
}

// FromFile builds the model held in the metadata and tensors of a model
// file (read by Read, or by fit.Load from a checkpoint): it decodes the
// config and tokenizers, checks them against the tensors, builds the
// model and sets its weights and metadata. name is the file's name in
// messages.
func (k *Kind[C, M]) FromFile(name string, info rnn.ModelInfo, ts []rnn.Tensor) (M, error) {
	return k.build(name, info, ts, func(m M, ps *rnn.Params) error {
		if k.SetWeights != nil {
			return k.SetWeights(m, name, ts)
		}
		return SetWeights(name, ps, ts)
	})
}

// build is FromFile with the weights set by setWeights; ts need only
// have their names and shapes.
func (k *Kind[C, M]) build(name string, info rnn.ModelInfo, ts []rnn.Tensor, setWeights func(m M, ps *rnn.Params) error) (M, error) {
	var zero M
	var cfg C
	toks, keys, err := Decode(name, info, &cfg, k.Tokenizers...)
	if err != nil {
		return zero, err
	}
	if err := k.Check(name, info, &cfg, keys, toks, ts); err != nil {
		return zero, err
	}
	m, err := k.New(cfg, toks)
	if err != nil {
		return zero, fmt.Errorf("model file %s: %v", name, err)
	}
	ps, meta := k.Parts(m)
	if err := setWeights(m, ps); err != nil {
		return zero, err
	}
	if info.Meta != nil {
		*meta = info.Meta
	}
	return m, nil
}

// Info builds the metadata of a model of this kind (see the package's
// Info): cfg, meta and the tokenizers toks, one for each of k.Tokenizers,
// in that order.
func (k *Kind[C, M]) Info(cfg C, meta map[string]string, toks ...tokenize.Tokenizer) (rnn.ModelInfo, error) {
	if len(toks) != len(k.Tokenizers) {
		panic(fmt.Sprintf("modelio: a %s model has %d tokenizers, got %d", k.Name, len(k.Tokenizers), len(toks)))
	}
	named := make([]Tokenizer, len(toks))
	for i, t := range toks {
		named[i] = Tokenizer{Name: k.Tokenizers[i], Tok: t}
	}
	return Info(k.Name, cfg, named, meta)
}

// Save writes ps with the metadata that info returns to path, atomically,
// in the given storage dtype (rnn.SaveModel). info is a model's method, as
// for fit.SaveRun.
func Save(path string, info func() (rnn.ModelInfo, error), ps *rnn.Params, dtype rnn.DType) error {
	mi, err := info()
	if err != nil {
		return err
	}
	return rnn.SaveModel(path, mi, ps, dtype)
}
