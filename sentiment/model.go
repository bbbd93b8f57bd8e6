package sentiment

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/rnnkit/rnnkit/embed"
	"github.com/rnnkit/rnnkit/internal/modelio"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Kind is the model kind recorded in sentiment model files.
const Kind = "sentiment"

// Truncation policies for Config.Truncate.
const (
	TruncHead     = "head"      // keep the first MaxLen tokens
	TruncTail     = "tail"      // keep the last MaxLen tokens
	TruncHeadTail = "head+tail" // keep the first MaxLen/4 and the last MaxLen-MaxLen/4
)

// Pooling names for Config.Pooling.
const (
	PoolMax       = "max"
	PoolMean      = "mean"
	PoolLast      = "last"
	PoolAttention = "attention"
)

// Config is the architecture of a classifier and how it prepares text.
type Config struct {
	Cell          rnn.Cell `json:"cell"`          // rnn.LSTM or rnn.GRU (simple RNNs work too)
	Vocab         int      `json:"vocab"`         // tokenizer vocabulary, specials included
	Embedding     int      `json:"embedding"`     // embedding width
	Hidden        int      `json:"hidden"`        // hidden units per layer and direction
	Layers        int      `json:"layers"`        // stacked recurrent layers
	Bidirectional bool     `json:"bidirectional"` // a reverse direction per layer
	Pooling       string   `json:"pooling"`       // "+"-joined poolings, e.g. "max+mean" (see the package doc)
	Dropout       float32  `json:"dropout"`       // between recurrent layers and on the pooled features, in training
	EmbDropout    float32  `json:"emb_dropout"`   // on the embedding output, in training
	Labels        []string `json:"labels"`        // class names, in class-index order
	MaxLen        int      `json:"max_len"`       // longest review in tokens after truncation; 0 means 400
	Truncate      string   `json:"truncate"`      // "head", "tail" or "head+tail"; "" means head+tail
	// NGram is the linear n-gram branch mixed into the predictions, or nil
	// for none (TrainNGram adds one).
	NGram *NGramConfig `json:"ngram,omitempty"`
}

// DefaultConfig is the configuration of the default IMDB model for a
// tokenizer of vocab tokens: embedding 128, BiGRU 128, max+mean pooling,
// reviews cut to 400 tokens (head+tail), labels negative/positive.
func DefaultConfig(vocab int) Config {
	return Config{Cell: rnn.GRU, Vocab: vocab, Embedding: 128, Hidden: 128, Layers: 1, Bidirectional: true,
		Pooling: "max+mean", Dropout: 0.3, EmbDropout: 0.1, Labels: []string{"negative", "positive"},
		MaxLen: 400, Truncate: TruncHeadTail}
}

func (c *Config) fill() {
	if c.Layers <= 0 {
		c.Layers = 1
	}
	if c.Pooling == "" {
		c.Pooling = PoolMax
	}
	if c.MaxLen <= 0 {
		c.MaxLen = 400
	}
	if c.Truncate == "" {
		c.Truncate = TruncHeadTail
	}
}

func (c Config) pools() ([]string, error) {
	var ps []string
	for _, p := range strings.Split(c.Pooling, "+") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch p {
		case PoolMax, PoolMean, PoolLast, PoolAttention:
		default:
			return nil, fmt.Errorf("sentiment: unknown pooling %q (want max, mean, last or attention, joined with +)", p)
		}
		if slices.Contains(ps, p) {
			return nil, fmt.Errorf("sentiment: pooling %q given twice", p)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func (c Config) validate() error {
	switch {
	case c.Vocab < 5:
		return fmt.Errorf("sentiment: vocabulary of %d tokens is too small", c.Vocab)
	case c.Embedding <= 0 || c.Hidden <= 0 || c.Layers <= 0:
		return fmt.Errorf("sentiment: embedding %d, hidden %d and layers %d must be positive", c.Embedding, c.Hidden, c.Layers)
	case c.Dropout < 0 || c.Dropout >= 1 || c.EmbDropout < 0 || c.EmbDropout >= 1:
		return fmt.Errorf("sentiment: dropout %v and emb_dropout %v must be in [0, 1)", c.Dropout, c.EmbDropout)
	case len(c.Labels) < 2:
		return fmt.Errorf("sentiment: %d class labels; a classifier needs at least 2", len(c.Labels))
	case c.Truncate != TruncHead && c.Truncate != TruncTail && c.Truncate != TruncHeadTail:
		return fmt.Errorf("sentiment: unknown truncation %q (want head, tail or head+tail)", c.Truncate)
	}
	seen := map[string]bool{}
	for _, l := range c.Labels {
		if l == "" || seen[l] {
			return fmt.Errorf("sentiment: class labels must be distinct and non-empty: %q", c.Labels)
		}
		seen[l] = true
	}
	if c.NGram != nil {
		if err := c.NGram.validate(); err != nil {
			return err
		}
	}
	_, err := c.pools()
	return err
}

// Model is a review classifier with its tokenizer.
type Model struct {
	Config Config
	Params *rnn.Params
	Tok    tokenize.Tokenizer
	Meta   map[string]string // free-form metadata kept in the model file

	emb  *embed.Table
	rnn  *rnn.Layer
	attn *rnn.Linear // nil without attention pooling
	fc   *rnn.Linear
	// ngram and ngramB are the n-gram branch's weights (R, Buckets) and
	// bias (R); nil without one.
	ngram, ngramB *rnn.Param
	pools         []string
	works         chan *work // idle inference workspaces (a free list that, unlike sync.Pool, survives GC)
}

// New builds a model with zero weights for tok; call Init (and optionally
// LoadVectors) before training. cfg.Vocab 0 means the tokenizer's size.
func New(cfg Config, tok tokenize.Tokenizer) (*Model, error) {
	if tok == nil {
		return nil, errors.New("sentiment: nil tokenizer")
	}
	if cfg.Vocab == 0 {
		cfg.Vocab = tok.VocabSize()
	}
	if cfg.Vocab != tok.VocabSize() {
		return nil, fmt.Errorf("sentiment: config vocab %d does not match the tokenizer's %d", cfg.Vocab, tok.VocabSize())
	}
	cfg.fill()
	cfg.Labels = slices.Clone(cfg.Labels)
	if cfg.NGram != nil {
		ng := *cfg.NGram
		cfg.NGram = &ng
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return rnn.Build(func(ps *rnn.Params) *Model { return build(cfg, tok, ps) }), nil
}

// build registers the model's parameters in ps.
func build(cfg Config, tok tokenize.Tokenizer, ps *rnn.Params) *Model {
	pools, _ := cfg.pools()
	m := &Model{Config: cfg, Params: ps, Tok: tok, Meta: map[string]string{}, pools: pools,
		works: make(chan *work, 4)}
	m.emb = embed.NewTable(m.Params, "embedding.", cfg.Vocab, cfg.Embedding, int(tokenize.Pad))
	m.rnn = rnn.NewLayer(m.Params, "rnn.", rnn.Config{Cell: cfg.Cell, InputSize: cfg.Embedding, HiddenSize: cfg.Hidden,
		NumLayers: cfg.Layers, Bidirectional: cfg.Bidirectional, Dropout: cfg.Dropout})
	dh := m.rnn.OutputSize()
	if slices.Contains(pools, PoolAttention) {
		m.attn = rnn.NewLinear(m.Params, "attn.", dh, 1, true)
	}
	m.fc = rnn.NewLinear(m.Params, "fc.", len(pools)*dh, len(cfg.Labels), true)
	if ng := cfg.NGram; ng != nil {
		R := ngramRows(len(cfg.Labels))
		m.ngram = m.Params.Add(ngramWeight, R, ng.Buckets)
		m.ngramB = m.Params.Add(ngramBias, R)
	}
	return m
}

// Init randomizes the weights as PyTorch initializes the equivalent modules
// (the embedding from N(0, 1) with the padding row zero).
func (m *Model) Init(rng *rand.Rand) {
	m.emb.Init(rng, embed.InitNormal)
	m.rnn.Init(rng)
	if m.attn != nil {
		m.attn.Init(rng)
	}
	m.fc.Init(rng)
}

// Vocab returns the token of each id, in id order.
func (m *Model) Vocab() []string {
	v := make([]string, m.Config.Vocab)
	for i := range v {
		v[i] = m.Tok.Token(int32(i))
	}
	return v
}

// LoadVectors overwrites the embedding rows of the vocabulary words found in
// v (pretrained word vectors of the same dimension) and returns how many
// were found. The other rows keep their values.
func (m *Model) LoadVectors(v *embed.Vectors) (found int, err error) {
	found, _, err = m.emb.LoadVectors(v, m.Vocab(), true)
	return found, err
}

// Labels returns the class names.
func (m *Model) Labels() []string { return m.Config.Labels }

// modelFile is the sentiment kind of model file.
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

// Load reads a sentiment model file.
func Load(path string) (*Model, error) { return modelFile.Load(path, nil) }

// LoadBytes reads a sentiment model from memory (for example an embedded
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
// allocation or a panic. Keys the file lacks take New's defaults (vocab the
// tokenizer's); keys it has must hold valid values, zero included.
func checkFile(name string, info rnn.ModelInfo, cfg *Config, keys modelio.Keys, toks []tokenize.Tokenizer, ts []rnn.Tensor) error {
	tok := toks[0]
	if !keys.Has("vocab") {
		cfg.Vocab = tok.VocabSize()
	}
	def := *cfg
	def.fill()
	if !keys.Has("layers") {
		cfg.Layers = def.Layers
	}
	if !keys.Has("pooling") {
		cfg.Pooling = def.Pooling
	}
	if !keys.Has("max_len") {
		cfg.MaxLen = def.MaxLen
	}
	if !keys.Has("truncate") {
		cfg.Truncate = def.Truncate
	}
	if cfg.MaxLen <= 0 {
		return modelio.Invalid(name, "max_len", cfg.MaxLen, "the longest review in tokens must be positive")
	}
	if err := modelio.CheckTokenizer(name, info, "", tok, "vocab", cfg.Vocab); err != nil {
		return err
	}
	V, E, H := cfg.Vocab, cfg.Embedding, cfg.Hidden
	dirs := 1
	if cfg.Bidirectional {
		dirs = 2
	}
	s := modelio.NewShapes(name, ts)
	s.Dim("vocab", V, "embedding.weight", 0, V)
	s.Dim("embedding", E, "embedding.weight", 1, E)
	s.Layers("layers", cfg.Layers, "rnn.")
	s.Dim("hidden", H, "rnn.weight_hh_l0", 1, H)
	s.Dim("cell", cfg.Cell, "rnn.weight_hh_l0", 0, cfg.Cell.Gates()*H)
	s.Has("bidirectional", cfg.Bidirectional, "rnn.weight_hh_l0_reverse", cfg.Bidirectional)
	s.Dim("embedding", E, "rnn.weight_ih_l0", 1, E)
	s.Dim("labels", cfg.Labels, "fc.weight", 0, len(cfg.Labels))
	if err := s.Err(); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("model file %s: %v", name, err)
	}
	pools, _ := cfg.pools()
	s.Dim("pooling", cfg.Pooling, "fc.weight", 1, len(pools)*dirs*H)
	s.Has("pooling", cfg.Pooling, "attn.weight", slices.Contains(pools, PoolAttention))
	s.Has("ngram", cfg.NGram != nil, ngramWeight, cfg.NGram != nil)
	if cfg.NGram != nil {
		s.Dim("ngram.buckets", cfg.NGram.Buckets, ngramWeight, 1, cfg.NGram.Buckets)
		s.Dim("labels", cfg.Labels, ngramWeight, 0, ngramRows(len(cfg.Labels)))
	}
	ps := rnn.NewParamCounter()
	build(*cfg, tok, ps)
	s.Params(ps)
	return s.Err()
}

// brReplacer turns HTML line breaks into spaces.
var brReplacer = strings.NewReplacer("<br />", " ", "<br/>", " ", "<br>", " ", "<BR />", " ", "<BR>", " ")

// Clean prepares raw review text for the tokenizer: HTML line breaks
// ("<br />" and its variants, as in the IMDB reviews) become spaces.
func Clean(text string) string {
	if !strings.Contains(text, "<") {
		return text
	}
	return brReplacer.Replace(text)
}

// Encode turns a review into the token ids the model sees: Clean, the
// tokenizer, and the truncation policy. An empty result is [<unk>]. A
// model with an n-gram branch sees the whole review: Encode leaves it
// uncut, and the recurrent part reads it cut by the policy.
func (m *Model) Encode(text string) []int32 {
	ids := m.encodeAll(text)
	if m.Config.NGram != nil {
		return ids
	}
	return Truncate(ids, m.Config.MaxLen, m.Config.Truncate)
}

// encodeAll is Encode without the truncation.
func (m *Model) encodeAll(text string) []int32 {
	ids := m.Tok.Encode(Clean(text))
	if len(ids) == 0 {
		return []int32{tokenize.Unk}
	}
	return ids
}

// Truncate cuts ids to at most maxLen tokens by policy ("head", "tail" or
// "head+tail"; see the package doc). It returns ids itself when short
// enough, else a new slice (head+tail) or a subslice.
func Truncate(ids []int32, maxLen int, policy string) []int32 {
	if maxLen <= 0 || len(ids) <= maxLen {
		return ids
	}
	switch policy {
	case TruncHead:
		return ids[:maxLen]
	case TruncTail:
		return ids[len(ids)-maxLen:]
	}
	h := maxLen / 4
	out := make([]int32, 0, maxLen)
	out = append(out, ids[:h]...)
	return append(out, ids[len(ids)-(maxLen-h):]...)
}
