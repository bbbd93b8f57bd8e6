package seq2seq

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/rnnkit/rnnkit/embed"
	"github.com/rnnkit/rnnkit/internal/modelio"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Kind is the model kind recorded in seq2seq model files.
const Kind = "seq2seq"

// Config is the architecture of a translation model.
type Config struct {
	Cell          rnn.Cell          `json:"cell"` // GRU or LSTM, encoder and decoder
	SrcVocab      int               `json:"src_vocab"`
	TgtVocab      int               `json:"tgt_vocab"`
	Embedding     int               `json:"embedding"`      // both sides
	EncHidden     int               `json:"enc_hidden"`     // per direction
	EncLayers     int               `json:"enc_layers"`     // stacked bidirectional layers
	DecHidden     int               `json:"dec_hidden"`     // decoder state
	DecLayers     int               `json:"dec_layers"`     // stacked decoder layers
	Attention     rnn.AttentionKind `json:"attention"`      // additive (default), dot or general
	AttnHidden    int               `json:"attn_hidden"`    // additive attention width; 0 means DecHidden
	InputFeeding  bool              `json:"input_feeding"`  // feed the previous context into the decoder's input
	TieEmbeddings bool              `json:"tie_embeddings"` // output layer = pre_out projection · decoder embeddingᵀ
	Dropout       float32           `json:"dropout"`        // on embeddings, between layers and before the output layer
}

// DefaultConfig is the architecture of workload W4 in docs/DESIGN.md: embedding
// 128, bidirectional GRU 256 encoder, GRU 256 decoder with additive
// attention, output layer over [h; context; embedding].
func DefaultConfig(srcVocab, tgtVocab int) Config {
	return Config{Cell: rnn.GRU, SrcVocab: srcVocab, TgtVocab: tgtVocab, Embedding: 128,
		EncHidden: 256, EncLayers: 1, DecHidden: 256, DecLayers: 1, Attention: rnn.Additive}
}

func (c *Config) fill() {
	c.EncLayers = max(c.EncLayers, 1)
	c.DecLayers = max(c.DecLayers, 1)
	if c.AttnHidden <= 0 {
		c.AttnHidden = c.DecHidden
	}
}

func (c Config) validate() error {
	switch {
	case c.Cell != rnn.GRU && c.Cell != rnn.LSTM:
		return fmt.Errorf("seq2seq: cell %s is not supported; use gru or lstm", c.Cell)
	case c.SrcVocab < 5 || c.TgtVocab < 5:
		return fmt.Errorf("seq2seq: vocabularies of %d and %d tokens are too small", c.SrcVocab, c.TgtVocab)
	case c.Embedding <= 0 || c.EncHidden <= 0 || c.DecHidden <= 0:
		return fmt.Errorf("seq2seq: embedding %d, encoder hidden %d and decoder hidden %d must be positive", c.Embedding, c.EncHidden, c.DecHidden)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("seq2seq: dropout %v must be in [0, 1)", c.Dropout)
	case c.Attention == rnn.Dot && c.DecHidden != 2*c.EncHidden:
		return fmt.Errorf("seq2seq: dot attention needs decoder hidden = 2 x encoder hidden (%d), got %d; use additive or general", 2*c.EncHidden, c.DecHidden)
	case c.Attention < rnn.Additive || c.Attention > rnn.General:
		return fmt.Errorf("seq2seq: unknown attention %d", int(c.Attention))
	}
	return nil
}

// Model is an encoder-decoder translator with attention and its two
// tokenizers. The module is, in PyTorch terms:
//
//	encoder.embedding = nn.Embedding(src_vocab, E, padding_idx=0)
//	encoder.rnn       = nn.GRU(E, He, enc_layers, bidirectional=True)          # or LSTM
//	bridge            = nn.Linear(2*He, Hd)        # s0 = tanh(bridge([h_fwd; h_bwd])) for every decoder layer
//	decoder.embedding = nn.Embedding(tgt_vocab, E, padding_idx=0)
//	decoder.rnn       = nn.GRU(E [+ 2*He with input feeding], Hd, dec_layers)
//	attn              = Bahdanau (attn.query, attn.key, attn.v) or Luong general (attn.key)
//	out               = nn.Linear(Hd + 2*He + E, tgt_vocab)
//	  or, tied:  pre_out = nn.Linear(Hd + 2*He + E, E, bias=False); logits = pre_out(f)·decoder.embedding.weightᵀ + out.bias
//
// Decoder step t: e = emb(y[t-1]); h = rnn([e; ctx[t-1]] or e, s); ctx =
// attention(h, encoder outputs); logits = out([h; ctx; e]).
//
// A Model is read-only during translation, so one Model may serve several
// goroutines at once; training mutates it.
type Model struct {
	Config Config
	Params *rnn.Params
	Src    tokenize.Tokenizer
	Tgt    tokenize.Tokenizer
	Meta   map[string]string

	srcEmb, tgtEmb *embed.Table
	enc, dec       *rnn.Layer
	bridge         *rnn.Linear
	attn           *rnn.Attention
	preOut         *rnn.Linear // tied only
	out            *rnn.Linear // weight aliases tgtEmb's when tied

	tokSums atomic.Pointer[tokenizerSums] // SameTokenizers' fingerprints, for the Src and Tgt they were taken of
}

// New builds a model with zero weights for the two tokenizers; call Init.
// Zero vocabulary sizes in cfg are taken from the tokenizers.
func New(cfg Config, src, tgt tokenize.Tokenizer) (*Model, error) {
	if src == nil || tgt == nil {
		return nil, errors.New("seq2seq: nil tokenizer")
	}
	if cfg.SrcVocab == 0 {
		cfg.SrcVocab = src.VocabSize()
	}
	if cfg.TgtVocab == 0 {
		cfg.TgtVocab = tgt.VocabSize()
	}
	if cfg.SrcVocab != src.VocabSize() || cfg.TgtVocab != tgt.VocabSize() {
		return nil, fmt.Errorf("seq2seq: config vocabularies %d/%d do not match the tokenizers' %d/%d", cfg.SrcVocab, cfg.TgtVocab, src.VocabSize(), tgt.VocabSize())
	}
	cfg.fill()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return rnn.Build(func(ps *rnn.Params) *Model { return build(cfg, src, tgt, ps) }), nil
}

// build registers the model's parameters in ps.
func build(cfg Config, src, tgt tokenize.Tokenizer, ps *rnn.Params) *Model {
	m := &Model{Config: cfg, Params: ps, Src: src, Tgt: tgt, Meta: map[string]string{}}
	E, He, Hd := cfg.Embedding, cfg.EncHidden, cfg.DecHidden
	m.srcEmb = embed.NewTable(ps, "encoder.embedding.", cfg.SrcVocab, E, int(tokenize.Pad))
	m.enc = rnn.NewLayer(ps, "encoder.rnn.", rnn.Config{Cell: cfg.Cell, InputSize: E, HiddenSize: He,
		NumLayers: cfg.EncLayers, Bidirectional: true, Dropout: cfg.Dropout})
	m.bridge = rnn.NewLinear(ps, "bridge.", 2*He, Hd, true)
	m.tgtEmb = embed.NewTable(ps, "decoder.embedding.", cfg.TgtVocab, E, int(tokenize.Pad))
	m.dec = rnn.NewLayer(ps, "decoder.rnn.", rnn.Config{Cell: cfg.Cell, InputSize: m.decIn(), HiddenSize: Hd,
		NumLayers: cfg.DecLayers, Dropout: cfg.Dropout})
	m.attn = rnn.NewAttention(ps, "attn.", rnn.AttentionConfig{Kind: cfg.Attention, Query: Hd, Key: 2 * He, Hidden: cfg.AttnHidden})
	if cfg.TieEmbeddings {
		m.preOut = rnn.NewLinear(ps, "pre_out.", m.featWidth(), E, false)
		m.out = &rnn.Linear{In: E, Out: cfg.TgtVocab, Weight: m.tgtEmb.Weight, Bias: ps.Add("out.bias", cfg.TgtVocab)}
	} else {
		m.out = rnn.NewLinear(ps, "out.", m.featWidth(), cfg.TgtVocab, true)
	}
	return m
}

// decIn is the width of the decoder RNN's input.
func (m *Model) decIn() int {
	if m.Config.InputFeeding {
		return m.Config.Embedding + 2*m.Config.EncHidden
	}
	return m.Config.Embedding
}

// featWidth is the width of [h; ctx; e], the output layer's input.
func (m *Model) featWidth() int {
	return m.Config.DecHidden + 2*m.Config.EncHidden + m.Config.Embedding
}

// Init randomizes the weights as PyTorch initializes the equivalent modules.
func (m *Model) Init(rng *rand.Rand) {
	m.srcEmb.Init(rng, embed.InitNormal)
	m.tgtEmb.Init(rng, embed.InitNormal)
	m.enc.Init(rng)
	m.dec.Init(rng)
	m.bridge.Init(rng)
	m.attn.Init(rng)
	if m.preOut != nil {
		m.preOut.Init(rng)
		b := m.out.Bias.W
		for i := range b {
			b[i] = 0
		}
		// a unit-variance embedding makes large tied logits; scale it down
		w := m.tgtEmb.Weight.W
		for i := range w {
			w[i] *= 0.1
		}
	} else {
		m.out.Init(rng)
	}
}

// modelFile is the seq2seq kind of model file.
var modelFile = modelio.Kind[Config, *Model]{
	Name: Kind, Tokenizers: []string{"src", "tgt"}, Check: checkFile,
	New:      func(cfg Config, toks []tokenize.Tokenizer) (*Model, error) { return New(cfg, toks[0], toks[1]) },
	Parts:    func(m *Model) (*rnn.Params, *map[string]string) { return m.Params, &m.Meta },
	Quantize: (*Model).Quantize,
}

// Save writes the model to path (atomically) as rnn.F32 or rnn.F16.
func (m *Model) Save(path string, dtype rnn.DType) error {
	return modelio.Save(path, m.info, m.Params, dtype)
}

func (m *Model) info() (rnn.ModelInfo, error) { return modelFile.Info(m.Config, m.Meta, m.Src, m.Tgt) }

// Load reads a seq2seq model file.
func Load(path string) (*Model, error) { return modelFile.Load(path, nil) }

// LoadBytes reads a seq2seq model from memory (for example an embedded
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

// checkFile checks the config of a model file against its tokenizers and
// the shapes of its tensors before anything is allocated, so that a config
// that does not match them is an error naming the field, never an enormous
// allocation or a panic. Keys the file lacks take New's defaults (the
// vocabularies the tokenizers'); keys it has must hold valid values, zero
// included.
func checkFile(name string, info rnn.ModelInfo, cfg *Config, keys modelio.Keys, toks []tokenize.Tokenizer, ts []rnn.Tensor) error {
	src, tgt := toks[0], toks[1]
	if !keys.Has("src_vocab") {
		cfg.SrcVocab = src.VocabSize()
	}
	if !keys.Has("tgt_vocab") {
		cfg.TgtVocab = tgt.VocabSize()
	}
	def := *cfg
	def.fill()
	if !keys.Has("enc_layers") {
		cfg.EncLayers = def.EncLayers
	}
	if !keys.Has("dec_layers") {
		cfg.DecLayers = def.DecLayers
	}
	if !keys.Has("attn_hidden") {
		cfg.AttnHidden = def.AttnHidden
	}
	if err := modelio.CheckTokenizer(name, info, "src", src, "src_vocab", cfg.SrcVocab); err != nil {
		return err
	}
	if err := modelio.CheckTokenizer(name, info, "tgt", tgt, "tgt_vocab", cfg.TgtVocab); err != nil {
		return err
	}
	Vs, Vt, E, He, Hd, G := cfg.SrcVocab, cfg.TgtVocab, cfg.Embedding, cfg.EncHidden, cfg.DecHidden, cfg.Cell.Gates()
	s := modelio.NewShapes(name, ts)
	s.Dim("src_vocab", Vs, "encoder.embedding.weight", 0, Vs)
	s.Dim("embedding", E, "encoder.embedding.weight", 1, E)
	s.Dim("tgt_vocab", Vt, "decoder.embedding.weight", 0, Vt)
	s.Dim("embedding", E, "decoder.embedding.weight", 1, E)
	s.Dim("tgt_vocab", Vt, "out.bias", 0, Vt)
	s.Layers("enc_layers", cfg.EncLayers, "encoder.rnn.")
	s.Layers("dec_layers", cfg.DecLayers, "decoder.rnn.")
	s.Dim("enc_hidden", He, "encoder.rnn.weight_hh_l0", 1, He)
	s.Dim("cell", cfg.Cell, "encoder.rnn.weight_hh_l0", 0, G*He)
	s.Dim("dec_hidden", Hd, "decoder.rnn.weight_hh_l0", 1, Hd)
	s.Dim("cell", cfg.Cell, "decoder.rnn.weight_hh_l0", 0, G*Hd)
	decIn := E
	if cfg.InputFeeding {
		decIn += 2 * He
	}
	s.Dim("input_feeding", cfg.InputFeeding, "decoder.rnn.weight_ih_l0", 1, decIn)
	s.Has("tie_embeddings", cfg.TieEmbeddings, "pre_out.weight", cfg.TieEmbeddings)
	s.Has("tie_embeddings", cfg.TieEmbeddings, "out.weight", !cfg.TieEmbeddings)
	if err := s.Err(); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("model file %s: %v", name, err)
	}
	if cfg.AttnHidden <= 0 {
		return modelio.Invalid(name, "attn_hidden", cfg.AttnHidden, "the additive attention's width must be positive (without the key it is dec_hidden)")
	}
	s.Has("attention", cfg.Attention, "attn.query.weight", cfg.Attention == rnn.Additive)
	s.Has("attention", cfg.Attention, "attn.key.weight", cfg.Attention != rnn.Dot)
	if cfg.Attention == rnn.Additive {
		s.Dim("attn_hidden", cfg.AttnHidden, "attn.query.weight", 0, cfg.AttnHidden)
	}
	ps := rnn.NewParamCounter()
	build(*cfg, src, tgt, ps)
	s.Params(ps)
	return s.Err()
}
