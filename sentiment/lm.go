package sentiment

// Language-model pretraining of the classifier's encoder (ULMFiT, Howard &
// Ruder 2018; Dai & Le 2015): a word-level LM with exactly the encoder of a
// classifier (tokenizer, embedding, cell, hidden size, layers), trained on
// unlabelled in-domain text, whose weights then initialise a classifier
// (NewFromLM). A bidirectional encoder is pretrained as two LMs that share
// the embedding: its forward direction reads the text left to right and
// predicts the next token, its reverse direction reads it right to left and
// predicts the previous one.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rnnkit/rnnkit/embed"
	"github.com/rnnkit/rnnkit/fit"
	"github.com/rnnkit/rnnkit/internal/modelio"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/kernel"
	"github.com/rnnkit/rnnkit/rnn/optim"
	"github.com/rnnkit/rnnkit/tokenize"
)

// LMKind is the model kind recorded in language-model files.
const LMKind = "lm"

// Proposal distributions of the sampled softmax (LMTrainOptions.Proposal).
const (
	ProposalUnigram    = "unigram"     // count^0.75 over the training text (word2vec's noise)
	ProposalLogUniform = "log-uniform" // Zipfian over ids (sorted by frequency)
)

// LMConfig is the architecture of a language model. Cell, Vocab, Embedding,
// Hidden, Layers and Bidirectional are those of the classifier it
// initialises (Config's fields of the same names).
type LMConfig struct {
	Cell          rnn.Cell `json:"cell"`
	Vocab         int      `json:"vocab"`         // tokenizer vocabulary, specials included
	Embedding     int      `json:"embedding"`     // embedding width
	Hidden        int      `json:"hidden"`        // hidden units per layer and direction
	Layers        int      `json:"layers"`        // stacked recurrent layers
	Bidirectional bool     `json:"bidirectional"` // a backward LM beside the forward one
	Tied          bool     `json:"tied"`          // the output layer's weight is the embedding (needs Hidden == Embedding)
	Dropout       float32  `json:"dropout"`       // between recurrent layers and before the output layer, in training
	EmbDropout    float32  `json:"emb_dropout"`   // on the embedding output, in training
}

// DefaultLMConfig is the LM of the default IMDB classifier's encoder
// (DefaultConfig): embedding 128, BiGRU 128, one layer, with its own
// output layer (see LMConfigFor).
func DefaultLMConfig(vocab int) LMConfig {
	return LMConfigFor(DefaultConfig(vocab))
}

// LMConfigFor returns the LM whose encoder is the classifier cfg's, with
// dropout 0.1 before the output layer and that layer untied: on IMDB text
// (the default config, 20,000 reviews, the same 372 steps) the untied LM
// reached a validation perplexity of 556 against 764 tied. Tying remains
// an option (Tied) for longer runs, where it may regularise.
func LMConfigFor(cfg Config) LMConfig {
	return LMConfig{Cell: cfg.Cell, Vocab: cfg.Vocab, Embedding: cfg.Embedding, Hidden: cfg.Hidden,
		Layers: max(cfg.Layers, 1), Bidirectional: cfg.Bidirectional, Dropout: 0.1}
}

func (c LMConfig) validate() error {
	switch {
	case c.Vocab < 5:
		return fmt.Errorf("sentiment: LM vocabulary of %d tokens is too small", c.Vocab)
	case c.Embedding <= 0 || c.Hidden <= 0 || c.Layers <= 0:
		return fmt.Errorf("sentiment: LM embedding %d, hidden %d and layers %d must be positive", c.Embedding, c.Hidden, c.Layers)
	case c.Dropout < 0 || c.Dropout >= 1 || c.EmbDropout < 0 || c.EmbDropout >= 1:
		return fmt.Errorf("sentiment: LM dropout %v and emb_dropout %v must be in [0, 1)", c.Dropout, c.EmbDropout)
	case c.Tied && c.Hidden != c.Embedding:
		return fmt.Errorf("sentiment: a tied LM needs hidden (%d) equal to embedding (%d); untie it or change one", c.Hidden, c.Embedding)
	case c.Cell < rnn.Tanh || c.Cell > rnn.GRU:
		return fmt.Errorf("sentiment: unknown cell %v", c.Cell)
	}
	return nil
}

// LM is a word-level language model with the architecture of a
// classifier's encoder, and its tokenizer.
//
// In PyTorch terms (D = 2 when bidirectional):
//
//	embedding = nn.Embedding(vocab, embedding, padding_idx=0)
//	rnn       = nn.GRU(embedding, hidden, layers, bidirectional=...)   # or LSTM
//	decoder   = nn.Linear(hidden, vocab)       # weight = embedding.weight when tied
//
// where the forward direction of rnn is a left-to-right LM and the reverse
// direction a right-to-left one. The directions of a stacked layer k > 0
// each read only their own direction's layer below (a direction that saw
// the other's outputs would see the tokens it predicts), so the model file
// holds rnn.weight_ih_l{k} for k > 0 as the classifier's (G·H, 2H) matrix
// with the other direction's H columns zero. The file's tensors are
// therefore named and shaped exactly as the classifier's embedding.* and
// rnn.* (plus decoder.bias, and decoder.weight when untied), and the
// classifier's encoder started from them computes what the two LMs compute.
type LM struct {
	Config LMConfig
	Params *rnn.Params
	Tok    tokenize.Tokenizer
	Meta   map[string]string // free-form metadata kept in the model file

	emb        *embed.Table
	fwd, bwd   *rnn.Layer // bwd is nil unless Bidirectional
	decW, decB *rnn.Param // decW is the embedding's weight when tied
}

// NewLM builds a language model with zero weights for tok; call Init
// before training. cfg.Vocab 0 means the tokenizer's size.
func NewLM(cfg LMConfig, tok tokenize.Tokenizer) (*LM, error) {
	if tok == nil {
		return nil, errors.New("sentiment: nil tokenizer")
	}
	if cfg.Vocab == 0 {
		cfg.Vocab = tok.VocabSize()
	}
	if cfg.Vocab != tok.VocabSize() {
		return nil, fmt.Errorf("sentiment: LM config vocab %d does not match the tokenizer's %d", cfg.Vocab, tok.VocabSize())
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return rnn.Build(func(ps *rnn.Params) *LM { return buildLM(cfg, tok, ps) }), nil
}

// buildLM registers the model's parameters in ps. The backward LM's layer
// is registered under "rnn_reverse."; the model file renames it (fileParams).
func buildLM(cfg LMConfig, tok tokenize.Tokenizer, ps *rnn.Params) *LM {
	m := &LM{Config: cfg, Params: ps, Tok: tok, Meta: map[string]string{}}
	m.emb = embed.NewTable(ps, "embedding.", cfg.Vocab, cfg.Embedding, int(tokenize.Pad))
	rc := rnn.Config{Cell: cfg.Cell, InputSize: cfg.Embedding, HiddenSize: cfg.Hidden, NumLayers: cfg.Layers, Dropout: cfg.Dropout}
	m.fwd = rnn.NewLayer(ps, "rnn.", rc)
	if cfg.Bidirectional {
		m.bwd = rnn.NewLayer(ps, "rnn_reverse.", rc)
	}
	if cfg.Tied {
		m.decW = m.emb.Weight
	} else {
		m.decW = ps.Add("decoder.weight", cfg.Vocab, cfg.Hidden)
	}
	m.decB = ps.Add("decoder.bias", cfg.Vocab)
	return m
}

// Init randomizes the weights: the embedding from U(-0.1, 0.1) (AWD-LSTM's
// choice; N(0, 1) makes the logits of a tied output layer enormous), the
// recurrent layers and an untied decoder as PyTorch does, the decoder bias 0.
func (m *LM) Init(rng *rand.Rand) {
	for i := range m.emb.Weight.W {
		m.emb.Weight.W[i] = float32((2*rng.Float64() - 1) * 0.1)
	}
	clear(m.emb.Row(tokenize.Pad))
	m.fwd.Init(rng)
	if m.bwd != nil {
		m.bwd.Init(rng)
	}
	if !m.Config.Tied {
		a := 1 / math.Sqrt(float64(m.Config.Hidden))
		for i := range m.decW.W {
			m.decW.W[i] = float32((2*rng.Float64() - 1) * a)
		}
	}
	clear(m.decB.W)
}

// registerLMFile registers the model file's tensors (the classifier's
// names and shapes) in ps.
func registerLMFile(cfg LMConfig, ps *rnn.Params) {
	embed.NewTable(ps, "embedding.", cfg.Vocab, cfg.Embedding, int(tokenize.Pad))
	rnn.NewLayer(ps, "rnn.", rnn.Config{Cell: cfg.Cell, InputSize: cfg.Embedding, HiddenSize: cfg.Hidden,
		NumLayers: cfg.Layers, Bidirectional: cfg.Bidirectional})
	if !cfg.Tied {
		ps.Add("decoder.weight", cfg.Vocab, cfg.Hidden)
	}
	ps.Add("decoder.bias", cfg.Vocab)
}

// lmFileName maps an internal parameter name to its name in the file, and
// reports whether it belongs to the backward LM.
func lmFileName(name string) (string, bool) {
	const rev = "rnn_reverse."
	if len(name) > len(rev) && name[:len(rev)] == rev {
		return "rnn." + name[len(rev):] + "_reverse", true
	}
	return name, false
}

// fileParams returns a copy of the weights in the model file's layout.
func (m *LM) fileParams() *rnn.Params {
	fp := rnn.Build(func(ps *rnn.Params) *rnn.Params { registerLMFile(m.Config, ps); return ps })
	H := m.Config.Hidden
	for _, p := range m.Params.List() {
		name, backward := lmFileName(p.Name)
		q := fp.Get(name)
		if len(q.W) == len(p.W) {
			copy(q.W, p.W)
			continue
		}
		// weight_ih_l{k}, k > 0, bidirectional: (GH, H) into the direction's half of (GH, 2H).
		off := 0
		if backward {
			off = H
		}
		rows := p.Shape[0]
		for r := 0; r < rows; r++ {
			copy(q.W[r*2*H+off:r*2*H+off+H], p.W[r*H:(r+1)*H])
		}
	}
	return fp
}

// setFromFile copies the tensors of a model file (the classifier's layout,
// already checked against registerLMFile) into the weights; the other
// direction's half of a layer-k>0 input matrix must be zero.
func (m *LM) setFromFile(name string, ts []rnn.Tensor) error {
	byName := make(map[string][]float32, len(ts))
	for _, t := range ts {
		byName[t.Name] = t.Data
	}
	H := m.Config.Hidden
	for _, p := range m.Params.List() {
		fname, backward := lmFileName(p.Name)
		src := byName[fname]
		if len(src) == len(p.W) {
			copy(p.W, src)
			continue
		}
		off, other := 0, H
		if backward {
			off, other = H, 0
		}
		for r := 0; r < p.Shape[0]; r++ {
			row := src[r*2*H : (r+1)*2*H]
			for _, v := range row[other : other+H] {
				if v != 0 {
					return fmt.Errorf("model file %s: %s mixes the two directions (its %s half is not zero), so it is not a language model's encoder; pass an LM written by rnnkit train lm",
						name, fname, map[bool]string{true: "forward", false: "backward"}[backward])
				}
			}
			copy(p.W[r*H:(r+1)*H], row[off:off+H])
		}
	}
	if !m.Params.AllFinite() {
		return fmt.Errorf("model file %s: the weights hold NaN or Inf values; the file is damaged", name)
	}
	return nil
}

// lmFile is the language-model kind of model file. Its tensors are in the
// classifier's layout (registerLMFile), which setFromFile converts.
var lmFile = modelio.Kind[LMConfig, *LM]{
	Name: LMKind, Tokenizers: []string{""}, Check: checkLMFile,
	New:        func(cfg LMConfig, toks []tokenize.Tokenizer) (*LM, error) { return NewLM(cfg, toks[0]) },
	Parts:      func(m *LM) (*rnn.Params, *map[string]string) { return m.Params, &m.Meta },
	SetWeights: (*LM).setFromFile,
}

func (m *LM) info() (rnn.ModelInfo, error) { return lmFile.Info(m.Config, m.Meta, m.Tok) }

// Save writes the model to path (atomically) in the given storage dtype.
func (m *LM) Save(path string, dtype rnn.DType) error {
	return modelio.Save(path, m.info, m.fileParams(), dtype)
}

// Tensors returns the weights as the model file holds them: named and
// shaped as a classifier's embedding.* and rnn.* parameters (see LM), plus
// decoder.*. They are copies.
func (m *LM) Tensors() []rnn.Tensor { return m.fileParams().Tensors() }

// LoadLM reads a language-model file.
func LoadLM(path string) (*LM, error) { return lmFile.Load(path, nil) }

// lmFromFile builds the LM of a file's metadata and tensors (ResumeLM's
// loader).
func lmFromFile(name string, info rnn.ModelInfo, ts []rnn.Tensor) (*LM, error) {
	return lmFile.FromFile(name, info, ts)
}

// checkLMFile checks the config of a language-model file against its
// tokenizer and the shapes of its tensors (the classifier's layout) before
// anything is allocated. A file without "vocab" takes the tokenizer's.
func checkLMFile(name string, info rnn.ModelInfo, cfg *LMConfig, keys modelio.Keys, toks []tokenize.Tokenizer, ts []rnn.Tensor) error {
	tok := toks[0]
	if !keys.Has("vocab") {
		cfg.Vocab = tok.VocabSize()
	}
	if err := modelio.CheckTokenizer(name, info, "", tok, "vocab", cfg.Vocab); err != nil {
		return err
	}
	V, E, H := cfg.Vocab, cfg.Embedding, cfg.Hidden
	s := modelio.NewShapes(name, ts)
	s.Dim("vocab", V, "embedding.weight", 0, V)
	s.Dim("embedding", E, "embedding.weight", 1, E)
	s.Layers("layers", cfg.Layers, "rnn.")
	s.Dim("hidden", H, "rnn.weight_hh_l0", 1, H)
	s.Dim("cell", cfg.Cell, "rnn.weight_hh_l0", 0, cfg.Cell.Gates()*H)
	s.Has("bidirectional", cfg.Bidirectional, "rnn.weight_hh_l0_reverse", cfg.Bidirectional)
	s.Has("tied", cfg.Tied, "decoder.weight", !cfg.Tied)
	if err := s.Err(); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("model file %s: %v", name, err)
	}
	ps := rnn.NewParamCounter()
	registerLMFile(*cfg, ps)
	s.Params(ps)
	return s.Err()
}

// Vocab returns the token of each id, in id order.
func (m *LM) Vocab() []string {
	v := make([]string, m.Config.Vocab)
	for i := range v {
		v[i] = m.Tok.Token(int32(i))
	}
	return v
}

// EncodeDocs prepares documents for the LM on all cores: Clean and the
// tokenizer, whole (no truncation). Empty documents give empty slices.
func (m *LM) EncodeDocs(texts []string) [][]int32 {
	out := make([][]int32, len(texts))
	workers := min(runtime.GOMAXPROCS(0), max(len(texts)/64, 1))
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Go(func() {
			for i := k; i < len(texts); i += workers {
				out[i] = m.Tok.Encode(Clean(texts[i]))
			}
		})
	}
	wg.Wait()
	return out
}

// joinDocs concatenates the non-empty documents in the given order, each
// followed by the separator </s>.
func joinDocs(docs [][]int32, order []int) []int32 {
	n := 0
	for _, d := range docs {
		if len(d) > 0 {
			n += len(d) + 1
		}
	}
	out := make([]int32, 0, n)
	for _, i := range order {
		if d := docs[i]; len(d) > 0 {
			out = append(out, d...)
			out = append(out, tokenize.EOS)
		}
	}
	return out
}

// reversed returns a reversed copy of ids.
func reversed(ids []int32) []int32 {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

// ---- inference ----

// PredictNext returns the distribution (Vocab) of the token that follows
// ids, read left to right by the forward LM from the zero state.
func (m *LM) PredictNext(ids []int32) []float32 { return m.predict(m.fwd, ids) }

// PredictPrev returns the distribution (Vocab) of the token that precedes
// ids, read right to left by the backward LM from the zero state. It needs
// a bidirectional LM.
func (m *LM) PredictPrev(ids []int32) []float32 {
	if m.bwd == nil {
		panic("sentiment: PredictPrev needs a bidirectional LM")
	}
	return m.predict(m.bwd, reversed(ids))
}

func (m *LM) predict(l *rnn.Layer, ids []int32) []float32 {
	V, E, H := m.Config.Vocab, m.Config.Embedding, m.Config.Hidden
	if len(ids) == 0 {
		ids = []int32{tokenize.EOS}
	}
	x := make([]float32, len(ids)*E)
	m.emb.Forward(x, ids)
	h := l.NewSeq().Forward(x, len(ids), 1, nil, nil, false, nil)
	out := make([]float32, V)
	sm := rnn.NewSampledSoftmax(m.decW, m.decB, nil, 0)
	sm.Logits(out, h[(len(ids)-1)*H:], 1)
	rnn.Softmax(out, out, 1, V)
	return out
}

// LMEval is the quality of a language model on a text: the mean negative
// log-likelihood of each token under the full softmax, in nats.
type LMEval struct {
	Fwd, Bwd        float64 // forward and backward LM (Bwd is NaN for a forward-only LM)
	Loss            float64 // the mean of Fwd and Bwd (Fwd alone for a forward-only LM)
	Perplexity      float64 // exp(Loss)
	FwdPerplexity   float64
	BwdPerplexity   float64
	Tokens          int // tokens predicted per direction
	Streams, Window int // how the text was walked (see Evaluate)
}

// Evaluation walk of Evaluate and of the validation passes of TrainLM.
const (
	lmEvalStreams = 16
	lmEvalWindow  = 256
)

// Evaluate measures the model on documents joined as in training (each
// followed by </s>): the stream is cut into up to 16 contiguous streams run
// side by side in windows of 256 tokens with the state carried, and every
// token after each stream's first is predicted by the forward LM from the
// text before it, and by the backward LM from the text after it.
func (m *LM) Evaluate(texts []string) (LMEval, error) {
	docs := m.EncodeDocs(texts)
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	ids := joinDocs(docs, order)
	if len(ids) < 2 {
		return LMEval{}, errors.New("sentiment: need at least 2 tokens to evaluate a language model")
	}
	return m.evaluate(ids), nil
}

func (m *LM) evaluate(ids []int32) LMEval {
	r := LMEval{Bwd: math.NaN(), BwdPerplexity: math.NaN()}
	r.Fwd, r.Tokens, r.Streams = m.evalStream(m.fwd, ids, lmEvalStreams, lmEvalWindow)
	r.Loss = r.Fwd
	if m.bwd != nil {
		r.Bwd, _, _ = m.evalStream(m.bwd, reversed(ids), lmEvalStreams, lmEvalWindow)
		r.Loss = (r.Fwd + r.Bwd) / 2
		r.BwdPerplexity = math.Exp(r.Bwd)
	}
	r.Window = lmEvalWindow
	r.Perplexity, r.FwdPerplexity = math.Exp(r.Loss), math.Exp(r.Fwd)
	return r
}

// evalStream returns the mean full-softmax loss of the LM l over ids, cut
// into up to B contiguous streams walked in windows of T with the state
// carried (as charrnn's evaluation), the predictions and the streams used.
func (m *LM) evalStream(l *rnn.Layer, ids []int32, B, T int) (float64, int, int) {
	B = max(1, min(B, (len(ids)-1)/T))
	S := (len(ids) - 1) / B
	E, H := m.Config.Embedding, m.Config.Hidden
	seq := l.NewSeq()
	state := l.NewState(B)
	sm := rnn.NewSampledSoftmax(m.decW, m.decB, nil, 0)
	x := make([]float32, T*B*E)
	in := make([]int32, T*B)
	tgt := make([]int32, T*B)
	var total float64
	count := 0
	for w := 0; w < S; w += T {
		tw := min(T, S-w)
		fit.StreamWindow(in, tgt, ids, S, w, tw, B)
		n := tw * B
		m.emb.Forward(x[:n*E], in[:n])
		h := seq.Forward(x[:n*E], tw, B, nil, state, false, nil)
		state.CopyFrom(seq.Final())
		loss, c := sm.FullLoss(nil, h[:n*H], n, tgt[:n])
		total += loss * float64(c)
		count += c
	}
	return total / float64(max(count, 1)), count, B
}

// ---- training ----

// LMData is the text of a language-model run: documents (reviews), one
// string each. Val is the held-out text for validation and keep-best.
type LMData struct {
	Train, Val []string
}

// LMTrainOptions configure TrainLM. Start from DefaultLMTrainOptions: a
// zero Warmup, Clip, Samples, WeightDecay or Seed means exactly that (no
// warm-up, no clipping, the full softmax, ...). Zero SeqLen, Batch, Epochs,
// LR, MinLR and EvalEvery, which are never meaningful, take their defaults.
type LMTrainOptions struct {
	fit.Options
	SeqLen int // BPTT window; default 70
	Batch  int // parallel contiguous streams; default 64
	// Samples is the number of classes the sampled softmax draws per step
	// (shared by the batch's rows); 0 trains with the full softmax.
	// Validation always uses the full softmax.
	Samples  int
	Proposal string // ProposalUnigram ("" too) or ProposalLogUniform
}

// DefaultLMTrainOptions are the options of the IMDB pretraining: windows of
// 70 tokens, 64 streams, one epoch, Adam at 2e-3 with 200 warm-up steps and
// a cosine decay, clip 1, sampled softmax with 1024 unigram^0.75 draws,
// evaluated 4 times per epoch.
func DefaultLMTrainOptions() LMTrainOptions {
	o := LMTrainOptions{Options: fit.DefaultOptions(), SeqLen: 70, Batch: 64, Samples: 1024, Proposal: ProposalUnigram}
	o.Epochs, o.Warmup, o.Clip = 1, 200, 1
	return o
}

func (o *LMTrainOptions) defaults() {
	if o.SeqLen <= 0 {
		o.SeqLen = 70
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	o.Default(1, 2e-3)
	if o.Proposal == "" {
		o.Proposal = ProposalUnigram
	}
}

// LMProgress is reported to TrainLM's callback after every step.
type LMProgress struct {
	Step, Steps  int
	Epoch        float64
	Loss         float64 // this step's training loss (sampled softmax unless Samples is 0), nats
	Val          LMEval  // latest validation (NaN fields before the first)
	BestValLoss  float64
	LR           float64
	TokensPerSec float64 // stream positions per second of training (validation time excluded); each is trained in both directions
	Elapsed      time.Duration
	Evaluated    bool // this report follows a validation pass
}

// LMPoint is one entry of the training history.
type LMPoint struct {
	Step    int
	Loss    float64 // mean training loss since the previous point
	ValLoss float64
	ValFwd  float64
	ValBwd  float64
}

// LMResult summarizes a training run.
type LMResult struct {
	Steps       int
	BestVal     LMEval // the best validation (by Loss)
	BestStep    int
	History     []LMPoint
	Stopped     string // why training ended: "done", "early stopping", "interrupted"
	Skipped     int    // non-finite steps skipped
	TrainTokens int    // tokens per epoch, separators included
	ValTokens   int
}

// lmTrainer holds the buffers of one LM run; nothing is allocated per step.
type lmTrainer struct {
	m      *LM
	opt    LMTrainOptions
	T, B   int
	dirs   []*lmDir  // forward [, backward]
	y, dy  []float32 // (D·T·B, H): the directions' outputs after dropout, stacked
	tgt    []int32   // (D·T·B)
	loss   *rnn.SampledSoftmax
	draws  []int32 // tests: fixed draws instead of sampling
	pcg    *rand.PCG
	rng    *rand.Rand
	docs   [][]int32
	stream []int32 // the training stream of epoch `epoch`
	epoch  int
	val    []int32
	L      int // tokens per stream (stream b is stream[b*L:(b+1)*L])
	per    int // steps per epoch
	pass   lmPass
}

// lmDir is one direction's LM: its layer, workspace, carried state and buffers.
type lmDir struct {
	l            *rnn.Layer
	backward     bool
	seq          *rnn.Seq
	state        *rnn.State
	ids          []int32   // (T, B)
	x, dxe       []float32 // (T·B, E)
	h            []float32 // the layer's output, owned by seq
	dx           []float32
	embDrop, out rnn.Dropout
	pcg          *rand.PCG
	rng          *rand.Rand
}

// lmPass runs one phase of both directions, each on its own goroutine when
// a core is free: they share nothing but read-only weights.
type lmPass struct {
	tr       *lmTrainer
	backward bool
	train    bool
}

func (p *lmPass) Range(lo, hi int) {
	for d := lo; d < hi; d++ {
		if p.backward {
			p.tr.backwardDir(d)
		} else {
			p.tr.forwardDir(d, p.train)
		}
	}
}

func newLMTrainer(m *LM, opt LMTrainOptions) *lmTrainer {
	tr := &lmTrainer{m: m, opt: opt, T: opt.SeqLen, B: opt.Batch, epoch: -1}
	TB, E, H := tr.T*tr.B, m.Config.Embedding, m.Config.Hidden
	for _, l := range []*rnn.Layer{m.fwd, m.bwd} {
		if l == nil {
			continue
		}
		d := &lmDir{l: l, backward: l == m.bwd, seq: l.NewSeq(), state: l.NewState(tr.B),
			ids: make([]int32, TB), x: make([]float32, TB*E), dxe: make([]float32, TB*E), pcg: rand.NewPCG(0, 0)}
		d.rng = rand.New(d.pcg)
		tr.dirs = append(tr.dirs, d)
	}
	D := len(tr.dirs)
	tr.y = make([]float32, D*TB*H)
	tr.dy = make([]float32, D*TB*H)
	tr.tgt = make([]int32, D*TB)
	tr.pcg = rand.NewPCG(0, 0)
	tr.rng = rand.New(tr.pcg)
	tr.pass.tr = tr
	return tr
}

// TrainLM fits m to data.Train by stateful truncated BPTT: every epoch the
// documents are shuffled (a function of Seed and the epoch) and joined into
// one stream, each followed by </s>; the stream is cut into Batch contiguous
// streams, each step advances every stream by SeqLen tokens, and the
// recurrent state is carried from one window to the next (detached), reset
// at each epoch. The backward LM walks the reversed stream the same way.
// Both directions' losses (the sampled softmax over Samples draws, or the
// full softmax) are averaged and Adam with a cosine schedule updates the
// weights. The full-softmax loss on data.Val is measured every EvalEvery
// steps; at the end m holds the best weights seen. Cancelling ctx
// checkpoints (if CheckpointPath is set) and returns the result so far with
// Stopped "interrupted" and ctx.Err().
func TrainLM(ctx context.Context, m *LM, data LMData, opt LMTrainOptions, progress func(LMProgress)) (LMResult, error) {
	return m.trainFrom(ctx, nil, data, opt, progress)
}

// ResumeLM continues a run from a checkpoint written by TrainLM, to the
// same result as an uninterrupted run with the same data and options.
func ResumeLM(ctx context.Context, checkpoint string, data LMData, opt LMTrainOptions, progress func(LMProgress)) (*LM, LMResult, error) {
	return fit.Resume(checkpoint, LMKind, lmFromFile, func(m *LM, ck *fit.Checkpoint) (LMResult, error) {
		return m.trainFrom(ctx, ck, data, opt, progress)
	})
}

func (m *LM) trainFrom(ctx context.Context, ck *fit.Checkpoint, data LMData, opt LMTrainOptions, progress func(LMProgress)) (res LMResult, err error) {
	opt.defaults()
	if opt.Proposal != ProposalUnigram && opt.Proposal != ProposalLogUniform {
		return res, fmt.Errorf("sentiment: unknown proposal %q (want %s or %s)", opt.Proposal, ProposalUnigram, ProposalLogUniform)
	}
	if opt.Samples < 0 || opt.Clip < 0 || opt.Warmup < 0 {
		return res, fmt.Errorf("sentiment: samples %d, clip %v and warm-up %d must not be negative", opt.Samples, opt.Clip, opt.Warmup)
	}
	tr := newLMTrainer(m, opt)
	tr.docs = m.EncodeDocs(data.Train)
	tr.val = joinDocs(m.EncodeDocs(data.Val), identity(len(data.Val)))
	n := 0
	counts := make([]float64, m.Config.Vocab)
	for _, d := range tr.docs {
		if len(d) > 0 {
			n += len(d) + 1
			for _, id := range d {
				counts[id]++
			}
			counts[tokenize.EOS]++
		}
	}
	res.TrainTokens, res.ValTokens = n, len(tr.val)
	tr.L = n / tr.B
	tr.per = (tr.L - 1) / tr.T
	if tr.per < 1 {
		return res, fmt.Errorf("sentiment: %d training tokens are too few for %d streams of %d-token windows; use more text, a smaller batch or shorter windows", n, tr.B, tr.T)
	}
	if len(tr.val) < 2 {
		return res, errors.New("sentiment: the validation text has fewer than 2 tokens; hold out more documents")
	}
	var sampler *rnn.Sampler
	if opt.Samples > 0 {
		if opt.Proposal == ProposalLogUniform {
			sampler = rnn.NewLogUniformSampler(m.Config.Vocab)
		} else {
			for i, c := range counts {
				counts[i] = math.Pow(c, 0.75)
			}
			sampler = rnn.NewUnigramSampler(counts)
		}
	}
	tr.loss = rnn.NewSampledSoftmax(m.decW, m.decB, sampler, opt.Samples)
	nan := math.NaN()
	none := LMEval{Fwd: nan, Bwd: nan, Loss: nan, Perplexity: nan, FwdPerplexity: nan, BwdPerplexity: nan}
	res.BestVal = none
	var last LMEval // the latest evaluation in full
	run := &fit.Run{
		Name: "sentiment: LM", Params: m.Params,
		Steps: max(int(opt.Epochs*float64(tr.per)), 1), StepsPerEpoch: tr.per, EvalEvery: max(tr.per/4, 1),
		Metrics: fit.Metrics{"val_loss": math.Inf(1)},
		Better:  func(val, best fit.Metrics) bool { return val["val_loss"] < best["val_loss"] },
		Record:  []string{"val_loss", "val_fwd", "val_bwd"},
		Step: func(step int) (float64, int) {
			return tr.step(step), tr.T * tr.B
		},
		AfterUpdate: func(int) {
			clear(m.emb.Row(tokenize.Pad)) // padding_idx: the row stays zero
			for _, d := range tr.dirs {
				d.state.CopyFrom(d.seq.Final()) // carried, detached, into the next window
			}
		},
		Skipped: func(int) {
			for _, d := range tr.dirs {
				d.state.Zero()
			}
		},
		Evaluate: func(context.Context) (fit.Metrics, error) {
			v := m.evaluate(tr.val)
			last = v
			return fit.Metrics{"val_loss": v.Loss, "val_fwd": v.Fwd, "val_bwd": v.Bwd, "val_tokens": float64(v.Tokens)}, nil
		},
		Save: m.Save,
		Checkpoint: func(path string, optim optim.Optimizer, st *rnn.RunState) error {
			// fileParams is a copy in the model file's layout, made anew
			// for each checkpoint.
			return fit.SaveRun(m.info, m.fileParams())(path, optim, st)
		},
		SaveState: tr.saveState,
		Restore:   tr.restore,
	}
	val := none
	if ck != nil {
		if _, ok := ck.Run.Metrics["val_loss"]; !ok && ck.Run.Metrics != nil {
			ck.Run.Metrics["val_loss"] = math.Inf(1)
		}
		res.BestVal = evalFromMetrics(ck.Run.Metrics)
		val = res.BestVal
	}
	r, err := fit.Train(ctx, run, ck, opt.Options, func(p fit.Progress) {
		if p.Evaluated {
			val = last
			if p.BestStep == p.Step {
				res.BestVal = last
			}
		}
		if progress != nil {
			progress(LMProgress{Step: p.Step, Steps: p.Steps, Epoch: p.Epoch, Loss: p.Loss, Val: val, BestValLoss: p.Best["val_loss"], LR: p.LR,
				TokensPerSec: float64(p.Work) / (p.Elapsed - p.EvalTime).Seconds(), Elapsed: p.Elapsed, Evaluated: p.Evaluated})
		}
	})
	res.Steps, res.BestStep, res.Skipped, res.Stopped = r.Steps, r.BestStep, r.Skipped, r.Stopped
	for _, p := range r.History {
		res.History = append(res.History, LMPoint{Step: p.Step, Loss: p.Value("loss"), ValLoss: p.Value("val_loss"), ValFwd: p.Value("val_fwd"), ValBwd: p.Value("val_bwd")})
	}
	return res, err
}

func identity(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// evalFromMetrics rebuilds the best validation of a checkpoint.
func evalFromMetrics(mt map[string]float64) LMEval {
	e := LMEval{Loss: mt["val_loss"], Fwd: math.NaN(), Bwd: math.NaN(), Streams: lmEvalStreams, Window: lmEvalWindow}
	if v, ok := mt["val_fwd"]; ok {
		e.Fwd = v
	}
	if v, ok := mt["val_bwd"]; ok {
		e.Bwd = v
	}
	e.Tokens = int(mt["val_tokens"])
	e.Perplexity, e.FwdPerplexity, e.BwdPerplexity = math.Exp(e.Loss), math.Exp(e.Fwd), math.Exp(e.Bwd)
	return e
}

// Per-step random streams: each is a function of the seed and the step, so
// a resumed run draws exactly what the uninterrupted one drew.
const (
	lmSeedOrder   = 0x6c6d6f72
	lmSeedDropout = 0x6c6d6470
	lmSeedDraws   = 0x6c6d6472
)

// fill loads window w of the current epoch's stream into every direction's
// ids and the stacked targets.
func (tr *lmTrainer) fill(w int) {
	T, B, L := tr.T, tr.B, tr.L
	N := len(tr.stream)
	s := tr.stream
	for di, d := range tr.dirs {
		tgt := tr.tgt[di*T*B : (di+1)*T*B]
		for b := 0; b < B; b++ {
			base := b*L + w*T
			for t := 0; t < T; t++ {
				i := base + t
				if d.backward { // the reversed stream: r[i] = s[N-1-i]
					d.ids[t*B+b], tgt[t*B+b] = s[N-1-i], s[N-2-i]
				} else {
					d.ids[t*B+b], tgt[t*B+b] = s[i], s[i+1]
				}
			}
		}
	}
}

// step runs the step's window forward and backward and returns the loss;
// the gradient is left in m.Params for fit.Train to apply. With a
// non-finite loss it returns before the backward pass.
func (tr *lmTrainer) step(step int) (loss float64) {
	if e := step / tr.per; e != tr.epoch {
		rng := rand.New(rand.NewPCG(tr.opt.Seed^lmSeedOrder, uint64(e)))
		tr.epoch, tr.stream = e, joinDocs(tr.docs, rng.Perm(len(tr.docs)))
	}
	w := step % tr.per
	if w == 0 {
		for _, d := range tr.dirs {
			d.state.Zero()
		}
	}
	tr.fill(w)
	for k, d := range tr.dirs {
		d.pcg.Seed(tr.opt.Seed^lmSeedDropout+uint64(k), uint64(step))
	}
	tr.pcg.Seed(tr.opt.Seed^lmSeedDraws, uint64(step))
	return tr.lossGrad(true, true)
}

// lossGrad runs the loaded window through both directions and returns the
// mean loss; with grad it first zeroes and then accumulates every
// parameter's gradient. train enables dropout.
func (tr *lmTrainer) lossGrad(grad, train bool) float64 {
	m := tr.m
	n := len(tr.dirs) * tr.T * tr.B
	if grad {
		m.Params.ZeroGrad()
	}
	tr.pass.backward, tr.pass.train = false, train
	kernel.Parallel(len(tr.dirs), 1, &tr.pass)
	var dy []float32
	if grad {
		dy = tr.dy
	}
	var loss float64
	switch {
	case tr.opt.Samples == 0:
		loss, _ = tr.loss.FullLoss(dy, tr.y, n, tr.tgt)
	case tr.draws != nil:
		loss, _ = tr.loss.LossWith(dy, tr.y, n, tr.tgt, tr.draws)
	default:
		loss, _ = tr.loss.Loss(dy, tr.y, n, tr.tgt, tr.rng)
	}
	if !grad || math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss
	}
	tr.pass.backward = true
	kernel.Parallel(len(tr.dirs), 1, &tr.pass)
	for _, d := range tr.dirs { // both directions write the embedding's gradient: in order
		m.emb.Backward(d.dx, d.ids)
	}
	return loss
}

// forwardDir runs direction k over its window from its carried state.
func (tr *lmTrainer) forwardDir(k int, train bool) {
	m, d := tr.m, tr.dirs[k]
	TB, H := tr.T*tr.B, m.Config.Hidden
	m.emb.Forward(d.x, d.ids)
	d.embDrop.Forward(d.x, d.x, m.Config.EmbDropout, d.rng, train) // in place; the identity unless training
	d.h = d.seq.Forward(d.x, tr.T, tr.B, nil, d.state, train, d.rng)
	d.out.Forward(tr.y[k*TB*H:(k+1)*TB*H], d.h, m.Config.Dropout, d.rng, train)
}

// backwardDir backpropagates direction k from its part of tr.dy to d.dx.
func (tr *lmTrainer) backwardDir(k int) {
	m, d := tr.m, tr.dirs[k]
	TB, H := tr.T*tr.B, m.Config.Hidden
	dy := tr.dy[k*TB*H : (k+1)*TB*H]
	d.out.Backward(dy, dy)
	d.embDrop.Backward(d.dxe, d.seq.Backward(dy, nil))
	d.dx = d.dxe
}

// saveState adds the recurrent states carried between windows to a
// checkpoint, so that a resumed run is bit-identical.
func (tr *lmTrainer) saveState(st *rnn.RunState) {
	st.Tensors = st.Tensors[:0]
	for _, d := range tr.dirs {
		name := "carry.fwd."
		if d.backward {
			name = "carry.bwd."
		}
		st.Tensors = fit.CarryTensors(st.Tensors, name, d.state)
	}
}

// restore loads the carried recurrent states of a checkpoint. The window
// after the checkpoint continues them; only the epoch's stream needs
// rebuilding, which step does.
func (tr *lmTrainer) restore(run *rnn.RunState) error {
	for _, d := range tr.dirs {
		name := "carry.fwd."
		if d.backward {
			name = "carry.bwd."
		}
		if err := fit.RestoreCarry(run, name, d.state); err != nil {
			return err
		}
	}
	if _, ok := run.Metrics["val_loss"]; !ok {
		run.Metrics["val_loss"] = math.Inf(1)
	}
	return nil
}
