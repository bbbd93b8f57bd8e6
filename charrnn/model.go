// Package charrnn is rnnkit's character-level generator (the one-to-many
// shape): a rune vocabulary feeds an embedding (or one-hot input), a stacked
// RNN, LSTM or GRU from package rnn, and a Linear layer with softmax over the
// next character.
//
// The module is, in PyTorch terms:
//
//	embedding = nn.Embedding(vocab, embedding)   # absent when Embedding == 0 (one-hot input)
//	rnn       = nn.LSTM(embedding, hidden, layers, dropout=dropout)   # or GRU / RNN
//	decoder   = nn.Linear(hidden, vocab)
//
// with those state_dict names in the model file. A loaded Model is read-only
// during generation and evaluation, so one Model may serve several goroutines
// at once; training mutates it.
package charrnn

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/rnnkit/rnnkit/embed"
	"github.com/rnnkit/rnnkit/internal/modelio"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Kind is the model kind recorded in charrnn model files.
const Kind = "charrnn"

// Config is the architecture of a character model.
type Config struct {
	Cell       rnn.Cell `json:"cell"`
	Vocab      int      `json:"vocab"`
	Embedding  int      `json:"embedding"`   // embedding width; 0 means one-hot input
	Hidden     int      `json:"hidden"`      // hidden units per layer
	Layers     int      `json:"layers"`      // stacked recurrent layers
	Dropout    float32  `json:"dropout"`     // between recurrent layers and before the decoder, in training
	EmbDropout float32  `json:"emb_dropout"` // on the embedding output, in training
	// WeightDrop is DropConnect on the hidden-to-hidden weights in training
	// (AWD-LSTM's weight drop; rnn.WeightDrop), one mask per step.
	WeightDrop float32 `json:"weight_drop,omitempty"`
}

// DefaultConfig is the configuration of the default Shakespeare model
// (workload W1 of docs/DESIGN.md): embedding 64, LSTM 2x256.
func DefaultConfig(vocab int) Config {
	return Config{Cell: rnn.LSTM, Vocab: vocab, Embedding: 64, Hidden: 256, Layers: 2, Dropout: 0.1}
}

func (c Config) validate() error {
	switch {
	case c.Vocab < 5:
		return fmt.Errorf("charrnn: vocabulary of %d tokens is too small", c.Vocab)
	case c.Hidden <= 0 || c.Layers <= 0 || c.Embedding < 0:
		return fmt.Errorf("charrnn: hidden %d, layers %d and embedding %d must be positive", c.Hidden, c.Layers, c.Embedding)
	}
	for _, p := range []struct {
		name string
		v    float32
	}{{"dropout", c.Dropout}, {"emb_dropout", c.EmbDropout}, {"weight_drop", c.WeightDrop}} {
		if !(p.v >= 0 && p.v < 1) {
			return fmt.Errorf("charrnn: %s %v must be in [0, 1)", p.name, p.v)
		}
	}
	return nil
}

// Model is a character-level language model with its tokenizer.
type Model struct {
	Config Config
	Params *rnn.Params
	Tok    tokenize.Tokenizer
	Meta   map[string]string // free-form metadata kept in the model file

	emb *embed.Table // nil for one-hot input
	rnn *rnn.Layer
	dec *rnn.Linear
}

// New builds a model with zero weights for tok; call Init before training.
func New(cfg Config, tok tokenize.Tokenizer) (*Model, error) {
	if tok == nil {
		return nil, errors.New("charrnn: nil tokenizer")
	}
	if cfg.Vocab == 0 {
		cfg.Vocab = tok.VocabSize()
	}
	if cfg.Vocab != tok.VocabSize() {
		return nil, fmt.Errorf("charrnn: config vocab %d does not match the tokenizer's %d", cfg.Vocab, tok.VocabSize())
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return rnn.Build(func(ps *rnn.Params) *Model { return build(cfg, tok, ps) }), nil
}

// build registers the model's parameters in ps.
func build(cfg Config, tok tokenize.Tokenizer, ps *rnn.Params) *Model {
	m := &Model{Config: cfg, Params: ps, Tok: tok, Meta: map[string]string{}}
	in := cfg.Vocab
	if cfg.Embedding > 0 {
		m.emb = embed.NewTable(m.Params, "embedding.", cfg.Vocab, cfg.Embedding, -1)
		in = cfg.Embedding
	}
	m.rnn = rnn.NewLayer(m.Params, "rnn.", rnn.Config{
		Cell: cfg.Cell, InputSize: in, HiddenSize: cfg.Hidden, NumLayers: cfg.Layers, Dropout: cfg.Dropout,
	})
	m.dec = rnn.NewLinear(m.Params, "decoder.", cfg.Hidden, cfg.Vocab, true)
	return m
}

// Init randomizes the weights as PyTorch initializes the equivalent modules.
func (m *Model) Init(rng *rand.Rand) {
	if m.emb != nil {
		m.emb.Init(rng, embed.InitNormal)
	}
	m.rnn.Init(rng)
	m.dec.Init(rng)
}

// inputSize is the width of the recurrent layer's input.
func (m *Model) inputSize() int {
	if m.emb != nil {
		return m.Config.Embedding
	}
	return m.Config.Vocab
}

// embedInto writes the input vectors of ids into x: (len(ids), inputSize).
func (m *Model) embedInto(x []float32, ids []int32) {
	if m.emb != nil {
		m.emb.Forward(x, ids)
		return
	}
	V := m.Config.Vocab
	clear(x[:len(ids)*V])
	for i, id := range ids {
		x[i*V+int(id)] = 1
	}
}

// modelFile is the charrnn kind of model file.
var modelFile = modelio.Kind[Config, *Model]{
	Name: Kind, Tokenizers: []string{""}, Check: checkFile,
	New:      func(cfg Config, toks []tokenize.Tokenizer) (*Model, error) { return New(cfg, toks[0]) },
	Parts:    func(m *Model) (*rnn.Params, *map[string]string) { return m.Params, &m.Meta },
	Quantize: (*Model).Quantize,
}

// Save writes the model to path (atomically) in the given storage dtype
// (rnn.F32 or rnn.F16).
func (m *Model) Save(path string, dtype rnn.DType) error {
	return modelio.Save(path, m.info, m.Params, dtype)
}

func (m *Model) info() (rnn.ModelInfo, error) { return modelFile.Info(m.Config, m.Meta, m.Tok) }

// Load reads a charrnn model file.
func Load(path string) (*Model, error) { return modelFile.Load(path, nil) }

// LoadBytes reads a charrnn model from memory (for example an embedded
// file); name is used in error messages.
func LoadBytes(name string, data []byte) (*Model, error) { return modelFile.Load(name, data) }

// LoadQuantized is Load followed by Quantize, faster for an int8 file
// (rnnkit convert --dtype int8): its int8 weights are taken as stored
// rather than dequantized and quantized again.
func LoadQuantized(path string) (*Model, error) { return modelFile.LoadQuantized(path, nil) }

// LoadBytesQuantized is LoadBytes followed by Quantize, as LoadQuantized.
func LoadBytesQuantized(name string, data []byte) (*Model, error) {
	return modelFile.LoadQuantized(name, data)
}

// fromFile builds the model of a file's metadata and tensors (Resume's
// loader).
func fromFile(name string, info rnn.ModelInfo, ts []rnn.Tensor) (*Model, error) {
	return modelFile.FromFile(name, info, ts)
}

// checkFile checks the config of a model file against its tokenizer and
// the shapes of its tensors before anything is allocated, so that a config
// that does not match them is an error naming the field, never an enormous
// allocation or a panic. A file without "vocab" takes the tokenizer's.
func checkFile(name string, info rnn.ModelInfo, cfg *Config, keys modelio.Keys, toks []tokenize.Tokenizer, ts []rnn.Tensor) error {
	tok := toks[0]
	if !keys.Has("vocab") {
		cfg.Vocab = tok.VocabSize()
	}
	if err := modelio.CheckTokenizer(name, info, "", tok, "vocab", cfg.Vocab); err != nil {
		return err
	}
	V, E, H := cfg.Vocab, cfg.Embedding, cfg.Hidden
	s := modelio.NewShapes(name, ts)
	s.Layers("layers", cfg.Layers, "rnn.")
	s.Dim("hidden", H, "rnn.weight_hh_l0", 1, H)
	s.Dim("cell", cfg.Cell, "rnn.weight_hh_l0", 0, cfg.Cell.Gates()*H)
	s.Dim("vocab", V, "decoder.weight", 0, V)
	if E != 0 {
		s.Dim("embedding", E, "embedding.weight", 1, E)
		s.Dim("vocab", V, "embedding.weight", 0, V)
		s.Dim("embedding", E, "rnn.weight_ih_l0", 1, E)
	} else {
		s.Has("embedding", E, "embedding.weight", false) // one-hot input
		s.Dim("vocab", V, "rnn.weight_ih_l0", 1, V)
	}
	if err := s.Err(); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("model file %s: %v", name, err)
	}
	ps := rnn.NewParamCounter()
	build(*cfg, tok, ps)
	s.Params(ps)
	return s.Err()
}
