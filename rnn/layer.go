package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/rnnkit/rnnkit/rnn/kernel"
	"gonum.org/v1/gonum/blas"
)

// Config describes a recurrent layer, as the arguments of torch.nn.LSTM et al.
type Config struct {
	Cell          Cell    `json:"cell"`
	InputSize     int     `json:"input_size"`
	HiddenSize    int     `json:"hidden_size"`
	NumLayers     int     `json:"num_layers"`    // 0 means 1
	Bidirectional bool    `json:"bidirectional"` // a reverse direction per layer, outputs concatenated
	Dropout       float32 `json:"dropout"`       // on the outputs of each layer but the last, in training
}

func (c Config) layers() int { return max(c.NumLayers, 1) }
func (c Config) dirs() int {
	if c.Bidirectional {
		return 2
	}
	return 1
}

// Layer is a stacked, optionally bidirectional recurrent layer: the
// equivalent of torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU with
// batch_first=False. Its parameters are named as that module's state_dict
// (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, with the suffix
// _reverse for the backward direction) under the prefix given to NewLayer.
//
// A Layer holds only weights; a forward/backward pass runs in a Seq, which
// owns the activations. Several goroutines may run inference through one
// Layer at once, each with its own Seq.
type Layer struct {
	cfg Config
	w   [][]dirWeights // [layer][direction]
	q   [][]quantDir   // int8 copies for inference (Quantize), or nil
}

type dirWeights struct {
	wih, whh, bih, bhh *Param // (GH, in), (GH, H), (GH), (GH)
	in                 int
}

// NewLayer registers the layer's parameters in ps (zero-initialized; call
// Init) and returns it.
func NewLayer(ps *Params, prefix string, cfg Config) *Layer {
	if cfg.InputSize <= 0 || cfg.HiddenSize <= 0 {
		panic(fmt.Sprintf("rnn: NewLayer: input size %d and hidden size %d must be positive", cfg.InputSize, cfg.HiddenSize))
	}
	if cfg.NumLayers <= 0 {
		cfg.NumLayers = 1
	}
	l := &Layer{cfg: cfg}
	H, GH := cfg.HiddenSize, cfg.Cell.Gates()*cfg.HiddenSize
	for k := 0; k < cfg.NumLayers; k++ {
		in := cfg.InputSize
		if k > 0 {
			in = H * cfg.dirs()
		}
		var row []dirWeights
		for d := 0; d < cfg.dirs(); d++ {
			sfx := fmt.Sprintf("_l%d", k)
			if d == 1 {
				sfx += "_reverse"
			}
			row = append(row, dirWeights{
				wih: ps.Add(prefix+"weight_ih"+sfx, GH, in),
				whh: ps.Add(prefix+"weight_hh"+sfx, GH, H),
				bih: ps.Add(prefix+"bias_ih"+sfx, GH),
				bhh: ps.Add(prefix+"bias_hh"+sfx, GH),
				in:  in,
			})
		}
		l.w = append(l.w, row)
	}
	return l
}

// Config returns the layer's configuration.
func (l *Layer) Config() Config { return l.cfg }

// RecurrentWeights returns the hidden-to-hidden matrices (weight_hh_l{k},
// both directions), the weights WeightDrop regularises.
func (l *Layer) RecurrentWeights() []*Param {
	var out []*Param
	for _, row := range l.w {
		for _, w := range row {
			out = append(out, w.whh)
		}
	}
	return out
}

// OutputSize is the width of each output step: HiddenSize times the number of directions.
func (l *Layer) OutputSize() int { return l.cfg.HiddenSize * l.cfg.dirs() }

// StateRows is the number of (B, H) blocks in a State: NumLayers times directions.
func (l *Layer) StateRows() int { return l.cfg.layers() * l.cfg.dirs() }

// Init draws every weight and bias from U(−1/√H, 1/√H), as PyTorch does.
func (l *Layer) Init(rng *rand.Rand) {
	a := 1 / math.Sqrt(float64(l.cfg.HiddenSize))
	for _, row := range l.w {
		for _, w := range row {
			for _, p := range []*Param{w.wih, w.whh, w.bih, w.bhh} {
				for i := range p.W {
					p.W[i] = float32((rng.Float64()*2 - 1) * a)
				}
			}
		}
	}
}

// State is a recurrent state: H (and C for LSTM) of shape
// (NumLayers*directions, B, HiddenSize), ordered as PyTorch's h_n and c_n
// (layer-major, forward before reverse). C is nil for non-LSTM cells.
type State struct {
	H, C []float32
}

// NewState allocates a zero state for batch size b.
func (l *Layer) NewState(b int) *State {
	n := l.StateRows() * b * l.cfg.HiddenSize
	s := &State{H: make([]float32, n)}
	if l.cfg.Cell == LSTM {
		s.C = make([]float32, n)
	}
	return s
}

// CopyFrom copies src into s (they must have the same shape). Carrying the
// final state of one truncated-BPTT window into the next is a copy: the new
// window's gradients stop at its initial state (the state is detached).
func (s *State) CopyFrom(src *State) {
	copy(s.H, src.H)
	copy(s.C, src.C)
}

// Zero clears the state.
func (s *State) Zero() {
	clear(s.H)
	clear(s.C)
}

// Seq is the workspace of one forward and backward pass through a Layer over
// a batch of sequences: it caches what backpropagation through time needs and
// owns the outputs. Buffers grow to the largest (T, B) seen and are reused,
// so steady-state training allocates nothing. A Seq is not safe for
// concurrent use; give each goroutine its own.
type Seq struct {
	l       *Layer
	T, B    int
	lens    []int // nil: every sequence has length T
	train   bool
	x       []float32   // the caller's input (T, B, In), kept for backward
	layerIn [][]float32 // input of layer k>0 after dropout (T, B, D*H)
	out     [][]float32 // output of layer k (T, B, D*H)
	drop    []Dropout   // dropout on the input of layer k>0
	c       [][]dirCache
	final   State
	dInit   State
	dx      []float32 // (T, B, In)
	dIn     [][]float32
	dirs    dirJob          // the job eachDir runs for every direction
	half    [][]halfWeights // inference snapshot in half precision, or nil
	tmp     []float32       // (GH) scratch for half-precision products
	packed  [][]*packedDir  // inference snapshot packed for the matrix kernel (NewStepSeq), or nil
	// inferOnly (InferenceOnly): a Forward with train = false keeps two
	// time steps of state per direction, not all T; light says the last
	// Forward did, so that Backward refuses it.
	inferOnly, light bool
}

// InferenceOnly makes s a workspace whose inference passes (Forward with
// train = false) keep the state of two time steps per direction instead of
// every step's (which only Backward needs): for long sequences in large
// batches most of the memory a forward pass touches. The outputs are
// bit-identical. Backward after such a pass panics; training passes are
// unchanged. It returns s.
func (s *Seq) InferenceOnly() *Seq {
	s.inferOnly = true
	return s
}

// packedDir is one direction's W_ihᵀ and W_hhᵀ laid out once for the
// matrix kernel (NewStepSeq).
type packedDir struct{ wih, whh *kernel.PackedB }

// halfWeights are exact half-precision copies of one direction's matrices.
type halfWeights struct{ wih, whh []uint16 }

// NewInferenceSeq returns a workspace for inference (train = false) that,
// when every weight matrix of l is exactly representable in half precision
// (as for models stored as F16), keeps half-precision copies and uses them
// for single-sequence steps (B = 1, the generator's case): half the bytes
// per step, bit-identical results. It snapshots the weights: create it
// after training, and a new one after the weights change.
func (l *Layer) NewInferenceSeq() *Seq {
	s := l.NewSeq()
	half := make([][]halfWeights, len(l.w))
	for k, row := range l.w {
		for _, w := range row {
			wih, ok1 := toHalfExact(w.wih.W)
			whh, ok2 := toHalfExact(w.whh.W)
			if !ok1 || !ok2 {
				return s
			}
			half[k] = append(half[k], halfWeights{wih, whh})
		}
	}
	s.half = half
	s.tmp = make([]float32, l.cfg.Cell.Gates()*l.cfg.HiddenSize)
	return s
}

// NewStepSeq returns a workspace for inference (train = false) one time
// step at a time over batches of several sequences, as a decoder runs: it
// keeps W_ih and W_hh of every direction packed for the matrix kernel, so
// that a step's two products do not lay the weights out afresh each time
// (which Forward does for B > 1 and T == 1 otherwise). The results are
// bit-identical to NewSeq's (where packed products would round differently,
// for a few widths of G·H, it does what NewSeq does). It snapshots the
// weights: create it after training, and a new one after the weights
// change. A quantized layer (Quantize) uses its int8 weights instead, as
// with NewSeq.
func (l *Layer) NewStepSeq() *Seq {
	s := l.NewSeq()
	H, GH := l.cfg.HiddenSize, l.cfg.Cell.Gates()*l.cfg.HiddenSize
	s.packed = make([][]*packedDir, len(l.w))
	for k, row := range l.w {
		for _, w := range row {
			p := &packedDir{
				wih: kernel.PackB(nil, blas.Trans, w.in, GH, w.wih.W, w.in),
				whh: kernel.PackB(nil, blas.Trans, H, GH, w.whh.W, H),
			}
			if !p.wih.SameAsSgemm() {
				p = nil
			}
			s.packed[k] = append(s.packed[k], p)
		}
	}
	return s
}

func toHalfExact(w []float32) ([]uint16, bool) {
	out := make([]uint16, len(w))
	for i, v := range w {
		h, ok := kernel.F32ToF16Exact(v)
		if !ok {
			return nil, false
		}
		out[i] = h
	}
	return out, true
}

type dirCache struct {
	gates  []float32       // (T, B, GH): input projection, then activated gates
	ghn    []float32       // GRU: (T, B, H) hidden part of n; also (B, GH) scratch for gh
	gh     []float32       // GRU: (B, GH) scratch
	hp, ho []float32       // (T, B, H): h before and after step t (time-indexed)
	cp, co []float32       // LSTM: (T, B, H)
	tc     []float32       // LSTM: (T, B, H) tanh(c')
	dgx    []float32       // (T, B, GH): the gates buffer, reused in backward
	dgh    []float32       // (T, B, GH); aliases dgx except for GRU
	dh, dc []float32       // (B, H)
	whh    *kernel.PackedB // W_hhᵀ packed once per Forward when T > 1 and B > 1
	qbuf   kernel.QBuf     // quantized activations of the int8 products (Layer.Quantize)
}

// NewSeq returns an empty workspace for l.
func (l *Layer) NewSeq() *Seq { return &Seq{l: l} }

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

func (s *Seq) reserve(T, B int) {
	cfg := s.l.cfg
	L, D, H, GH := cfg.layers(), cfg.dirs(), cfg.HiddenSize, cfg.Cell.Gates()*cfg.HiddenSize
	if s.c == nil {
		s.c = make([][]dirCache, L)
		for k := range s.c {
			s.c[k] = make([]dirCache, D)
		}
		s.layerIn = make([][]float32, L)
		s.out = make([][]float32, L)
		s.drop = make([]Dropout, L)
		s.dIn = make([][]float32, L)
	}
	TB := T * B
	SB := TB // the steps of state kept: all T, or two (light)
	if s.light {
		SB = min(T, 2) * B
	}
	for k := 0; k < L; k++ {
		s.out[k] = grow(s.out[k], TB*D*H)
		if k > 0 && cfg.Dropout > 0 {
			s.layerIn[k] = grow(s.layerIn[k], TB*D*H)
		}
		for d := 0; d < D; d++ {
			c := &s.c[k][d]
			c.gates = grow(c.gates, TB*GH)
			c.hp = grow(c.hp, SB*H)
			c.ho = grow(c.ho, SB*H)
			if cfg.Cell == LSTM {
				c.cp = grow(c.cp, SB*H)
				c.co = grow(c.co, SB*H)
				c.tc = grow(c.tc, SB*H)
			}
			if cfg.Cell == GRU {
				c.ghn = grow(c.ghn, SB*H)
				c.gh = grow(c.gh, B*GH)
			}
		}
	}
	n := L * D * B * H
	s.final.H = grow(s.final.H, n)
	if cfg.Cell == LSTM {
		s.final.C = grow(s.final.C, n)
	} else {
		s.final.C = nil
	}
}

// valid reports whether step t of sequence b is inside its length.
func (s *Seq) valid(t, b int) bool { return s.lens == nil || t < s.lens[b] }

// Forward runs the layer over x: (T, B, InputSize), time-major. lengths, if
// not nil, gives each sequence's length (1..T); steps at or beyond a length
// are padding: they leave the state unchanged, produce zero outputs and get
// no gradient, and the reverse direction starts at each sequence's last real
// step (as PyTorch's packed sequences). init is the initial state, or nil for
// zeros. train enables dropout between layers (rng must then be non-nil).
//
// It returns the top layer's outputs (T, B, D*H), owned by s and valid until
// the next Forward. The final state is s.Final(). x must stay unchanged until
// Backward.
func (s *Seq) Forward(x []float32, T, B int, lengths []int, init *State, train bool, rng *rand.Rand) []float32 {
	cfg := s.l.cfg
	if len(x) != T*B*cfg.InputSize {
		panic(fmt.Sprintf("rnn: Forward: len(x) = %d, want T*B*In = %d*%d*%d", len(x), T, B, cfg.InputSize))
	}
	if lengths != nil && len(lengths) != B {
		panic(fmt.Sprintf("rnn: Forward: %d lengths for batch size %d", len(lengths), B))
	}
	s.light = s.inferOnly && !train
	s.reserve(T, B)
	s.T, s.B, s.train, s.x = T, B, train, x
	s.lens = nil
	if lengths != nil {
		s.lens = append(s.lens[:0], lengths...)
		for b, n := range s.lens {
			if n < 0 || n > T {
				panic(fmt.Sprintf("rnn: Forward: length %d of sequence %d is outside 0..%d", n, b, T))
			}
		}
	}
	L := cfg.layers()
	in := x
	for k := 0; k < L; k++ {
		if k > 0 {
			in = s.out[k-1]
			if cfg.Dropout > 0 && train {
				s.drop[k].Forward(s.layerIn[k], in, cfg.Dropout, rng, true)
				in = s.layerIn[k]
			}
		}
		s.eachDir(dirJob{s: s, k: k, in: in, init: init})
	}
	return s.out[L-1]
}

// dirJob is one direction's share of a forward or backward pass over layer k.
type dirJob struct {
	s        *Seq
	backward bool
	k, d     int
	in       []float32 // the layer's input
	init     *State    // forward: initial state, or nil
	dy       []float32 // backward: dL/d(outputs), or nil
	dFinal   *State    // backward: dL/d(final state), or nil
}

func (j dirJob) run() {
	s, k, d := j.s, j.k, j.d
	cfg := s.l.cfg
	B, H, D := s.B, cfg.HiddenSize, cfg.dirs()
	off := (k*D + d) * B * H
	if !j.backward {
		var h0, c0 []float32
		if j.init != nil {
			h0 = j.init.H[off : off+B*H]
			if cfg.Cell == LSTM {
				c0 = j.init.C[off : off+B*H]
			}
		}
		s.forwardDir(k, d, j.in, h0, c0)
		return
	}
	var dhN, dcN []float32
	if j.dFinal != nil {
		if j.dFinal.H != nil {
			dhN = j.dFinal.H[off : off+B*H]
		}
		if j.dFinal.C != nil {
			dcN = j.dFinal.C[off : off+B*H]
		}
	}
	s.backwardDir(k, d, j.in, j.dy, dhN, dcN)
	copy(s.dInit.H[off:off+B*H], s.c[k][d].dh)
	if cfg.Cell == LSTM {
		copy(s.dInit.C[off:off+B*H], s.c[k][d].dc)
	}
}

// eachDir runs job for every direction of its layer. The two directions of
// a bidirectional layer are independent given the layer's input, so they run
// on two goroutines (kernel.Parallel) when a core is free; each writes only
// its own buffers, and the results do not depend on whether they ran in
// parallel. Nothing is allocated.
func (s *Seq) eachDir(job dirJob) {
	s.dirs = job
	kernel.Parallel(s.l.cfg.dirs(), 1, &s.dirs)
}

// Range runs the job for directions [lo, hi).
func (j *dirJob) Range(lo, hi int) {
	for d := lo; d < hi; d++ {
		jd := *j
		jd.d = d
		jd.run()
	}
}

// timeOf maps processing step i to time: forward runs t = 0..T-1, reverse T-1..0.
func timeOf(i, T, d int) int {
	if d == 1 {
		return T - 1 - i
	}
	return i
}

func (s *Seq) forwardDir(k, d int, in, h0, c0 []float32) {
	cfg := s.l.cfg
	w := &s.l.w[k][d]
	c := &s.c[k][d]
	T, B, H := s.T, s.B, cfg.HiddenSize
	GH := cfg.Cell.Gates() * H
	In := w.in
	D := cfg.dirs()
	// Input projection for all steps at once: gates = in · W_ihᵀ + b_ih.
	var half *halfWeights
	var q *quantDir
	switch {
	case s.l.q != nil && !s.train:
		q = &s.l.q[k][d]
	case s.half != nil && B == 1 && !s.train:
		half = &s.half[k][d]
	}
	// The weights of a NewStepSeq, packed once (only for B > 1: with one
	// row Sgemm takes a matrix-vector path, which rounds differently).
	var snap *packedDir
	if s.packed != nil && q == nil && !s.train && B > 1 {
		snap = s.packed[k][d]
	}
	switch {
	case q != nil:
		q.wih.Mul(T*B, in, In, c.gates, GH, &c.qbuf)
	case half != nil && T == 1:
		kernel.GemvF16(GH, In, in, half.wih, In, c.gates)
	case snap != nil:
		kernel.SgemmPacked(blas.NoTrans, T*B, 1, in, In, snap.wih, 0, c.gates, GH)
	default:
		kernel.Sgemm(blas.NoTrans, blas.Trans, T*B, GH, In, 1, in, In, w.wih.W, In, 0, c.gates, GH)
	}
	addRows(c.gates, w.bih.W, T*B)
	// Every step multiplies by the same W_hhᵀ: lay it out for the matrix
	// kernel once instead of once per step (or take the NewStepSeq's).
	// (B == 1 steps are matrix-vector products, which need no packing.)
	packed := half == nil && q == nil && B > 1 && (T > 1 || snap != nil)
	var whh *kernel.PackedB
	switch {
	case snap != nil:
		whh = snap.whh
	case packed:
		c.whh = kernel.PackB(c.whh, blas.Trans, H, GH, w.whh.W, H)
		whh = c.whh
	}
	out := s.out[k]
	// slot is where the state of processing step i (at time t) is kept:
	// at t for Backward, or alternately in two slots (light).
	slot := func(i, t int) int {
		if s.light {
			return i & 1
		}
		return t
	}
	for i := 0; i < T; i++ {
		t := timeOf(i, T, d)
		st := slot(i, t)
		hp := c.hp[st*B*H : (st+1)*B*H]
		var cp []float32
		if cfg.Cell == LSTM {
			cp = c.cp[st*B*H : (st+1)*B*H]
		}
		if i == 0 {
			if h0 != nil {
				copy(hp, h0)
			} else {
				clear(hp)
			}
			if cp != nil {
				if c0 != nil {
					copy(cp, c0)
				} else {
					clear(cp)
				}
			}
		} else {
			sp := slot(i-1, timeOf(i-1, T, d))
			copy(hp, c.ho[sp*B*H:(sp+1)*B*H])
			if cp != nil {
				copy(cp, c.co[sp*B*H:(sp+1)*B*H])
			}
		}
		g := c.gates[t*B*GH : (t+1)*B*GH]
		var gh []float32
		switch {
		case cfg.Cell == GRU && q != nil:
			gh = c.gh
			q.whh.Mul(B, hp, H, gh, GH, &c.qbuf)
			addRows(gh, w.bhh.W, B)
		case q != nil:
			q.whh.MulAdd(B, hp, H, g, GH, &c.qbuf)
			addRows(g, w.bhh.W, B)
		case cfg.Cell == GRU && half != nil:
			gh = c.gh
			kernel.GemvF16(GH, H, hp, half.whh, H, gh)
			addRows(gh, w.bhh.W, B)
		case cfg.Cell == GRU && packed:
			gh = c.gh
			kernel.SgemmPacked(blas.NoTrans, B, 1, hp, H, whh, 0, gh, GH)
			addRows(gh, w.bhh.W, B)
		case cfg.Cell == GRU:
			gh = c.gh
			kernel.Sgemm(blas.NoTrans, blas.Trans, B, GH, H, 1, hp, H, w.whh.W, H, 0, gh, GH)
			addRows(gh, w.bhh.W, B)
		case half != nil:
			kernel.GemvF16(GH, H, hp, half.whh, H, s.tmp)
			for j, v := range s.tmp {
				g[j] += v
			}
			addRows(g, w.bhh.W, B)
		case packed:
			kernel.SgemmPacked(blas.NoTrans, B, 1, hp, H, whh, 1, g, GH)
			addRows(g, w.bhh.W, B)
		default:
			kernel.Sgemm(blas.NoTrans, blas.Trans, B, GH, H, 1, hp, H, w.whh.W, H, 1, g, GH)
			addRows(g, w.bhh.W, B)
		}
		for b := 0; b < B; b++ {
			r := (st*B + b) * H // in the state buffers; y and g are at t
			ho := c.ho[r : r+H]
			y := out[(t*B+b)*D*H+d*H : (t*B+b)*D*H+(d+1)*H]
			if !s.valid(t, b) {
				copy(ho, c.hp[r:r+H])
				if cp != nil {
					copy(c.co[r:r+H], c.cp[r:r+H])
				}
				clear(y)
				continue
			}
			var co, tc, ghn, ghb, cpb []float32
			if cfg.Cell == LSTM {
				co, tc, cpb = c.co[r:r+H], c.tc[r:r+H], c.cp[r:r+H]
			}
			if cfg.Cell == GRU {
				ghn, ghb = c.ghn[r:r+H], gh[b*GH:(b+1)*GH]
			}
			cellForward(cfg.Cell, ho, co, g[b*GH:(b+1)*GH], ghb, ghn, c.hp[r:r+H], cpb, tc)
			copy(y, ho)
		}
	}
	// Final state: the state after the last processing step.
	tl := slot(T-1, timeOf(T-1, T, d))
	off := (k*D + d) * B * H
	if T > 0 {
		copy(s.final.H[off:off+B*H], c.ho[tl*B*H:(tl+1)*B*H])
		if cfg.Cell == LSTM {
			copy(s.final.C[off:off+B*H], c.co[tl*B*H:(tl+1)*B*H])
		}
	} else {
		copyOrZero(s.final.H[off:off+B*H], h0)
		if cfg.Cell == LSTM {
			copyOrZero(s.final.C[off:off+B*H], c0)
		}
	}
}

func copyOrZero(dst, src []float32) {
	if src == nil {
		clear(dst)
	} else {
		copy(dst, src)
	}
}

// addRows adds v to each of the n rows of m (n, len(v)).
func addRows(m, v []float32, n int) {
	w := len(v)
	for i := 0; i < n; i++ {
		kernel.Axpy(1, v, m[i*w:(i+1)*w])
	}
}

// sumRows adds the column sums of m (n, len(dst)) to dst.
func sumRows(dst, m []float32, n int) {
	w := len(dst)
	for i := 0; i < n; i++ {
		kernel.Axpy(1, m[i*w:(i+1)*w], dst)
	}
}

// Final returns the final state after Forward (shape as State), owned by s.
func (s *Seq) Final() *State { return &s.final }

// Backward runs backpropagation through time. dy: (T, B, D*H) is dL/d(outputs)
// (nil if the loss does not depend on the outputs), dFinal is dL/d(final
// state) (nil if none; C may be nil). It accumulates the gradients of every
// weight into their Params and returns dL/dx: (T, B, InputSize), owned by s.
// The gradient with respect to the initial state is DInit.
func (s *Seq) Backward(dy []float32, dFinal *State) []float32 {
	if s.light {
		panic("rnn: Backward after an inference pass of an InferenceOnly Seq, which keeps no per-step state")
	}
	cfg := s.l.cfg
	L, D, H := cfg.layers(), cfg.dirs(), cfg.HiddenSize
	T, B := s.T, s.B
	s.dInit.H = grow(s.dInit.H, L*D*B*H)
	if cfg.Cell == LSTM {
		s.dInit.C = grow(s.dInit.C, L*D*B*H)
	}
	for k := L - 1; k >= 0; k-- {
		var in []float32
		var dIn []float32
		inSize := s.l.w[k][0].in
		if k == 0 {
			in = s.x
			s.dx = grow(s.dx, T*B*inSize)
			dIn = s.dx
		} else {
			in = s.out[k-1]
			if cfg.Dropout > 0 && s.train {
				in = s.layerIn[k]
			}
			s.dIn[k] = grow(s.dIn[k], T*B*inSize)
			dIn = s.dIn[k]
		}
		s.eachDir(dirJob{s: s, backward: true, k: k, in: in, dy: dy, dFinal: dFinal})
		// dIn = Σ_d dgx_d · W_ih,d   (T·B, GH) x (GH, In); both directions
		// write dIn, so this part runs after both time loops.
		for d := 0; d < D; d++ {
			w := &s.l.w[k][d]
			var beta float32
			if d > 0 {
				beta = 1
			}
			GH := cfg.Cell.Gates() * H
			kernel.Sgemm(blas.NoTrans, blas.NoTrans, T*B, inSize, GH, 1, s.c[k][d].dgx, GH, w.wih.W, inSize, beta, dIn, inSize)
		}
		if k > 0 {
			if cfg.Dropout > 0 && s.train {
				s.drop[k].Backward(dIn, dIn)
			}
			dy = dIn
		}
	}
	return s.dx
}

// DInit returns dL/d(initial state) after Backward, owned by s.
func (s *Seq) DInit() *State { return &s.dInit }

func (s *Seq) backwardDir(k, d int, in, dy, dhN, dcN []float32) {
	cfg := s.l.cfg
	w := &s.l.w[k][d]
	c := &s.c[k][d]
	T, B, H := s.T, s.B, cfg.HiddenSize
	GH := cfg.Cell.Gates() * H
	D := cfg.dirs()
	In := w.in
	// The gate gradients overwrite the activations they are computed from:
	// cellBackward reads each element before writing it, and nothing needs
	// the activations afterwards. This halves the largest buffer.
	c.dgx = c.gates[:T*B*GH]
	if cfg.Cell == GRU {
		c.dgh = grow(c.dgh, T*B*GH)
	} else {
		c.dgh = c.dgx
	}
	c.dh = grow(c.dh, B*H)
	copyOrZero(c.dh, dhN)
	if cfg.Cell == LSTM {
		c.dc = grow(c.dc, B*H)
		copyOrZero(c.dc, dcN)
	}
	for i := T - 1; i >= 0; i-- {
		t := timeOf(i, T, d)
		for b := 0; b < B; b++ {
			r := (t*B + b) * H
			dh := c.dh[b*H : (b+1)*H]
			gr := (t*B + b) * GH
			dgx, dgh := c.dgx[gr:gr+GH], c.dgh[gr:gr+GH]
			if !s.valid(t, b) {
				clear(dgx)
				if cfg.Cell == GRU {
					clear(dgh)
				}
				continue // padding: the state passes through unchanged
			}
			if dy != nil {
				yo := (t*B+b)*D*H + d*H
				for j, v := range dy[yo : yo+H] {
					dh[j] += v
				}
			}
			var dc, cp, tc, ghn []float32
			if cfg.Cell == LSTM {
				dc, cp, tc = c.dc[b*H:(b+1)*H], c.cp[r:r+H], c.tc[r:r+H]
			}
			if cfg.Cell == GRU {
				ghn = c.ghn[r : r+H]
			}
			cellBackward(cfg.Cell, dgx, dgh, dh, dc, c.gates[gr:gr+GH], ghn, c.ho[r:r+H], c.hp[r:r+H], cp, tc)
		}
		// dh_prev += dgh_t · W_hh   (B, GH) x (GH, H)
		kernel.Sgemm(blas.NoTrans, blas.NoTrans, B, H, GH, 1, c.dgh[t*B*GH:(t+1)*B*GH], GH, w.whh.W, H, 1, c.dh, H)
	}
	TB := T * B
	// Weight gradients for all steps at once.
	kernel.Sgemm(blas.Trans, blas.NoTrans, GH, In, TB, 1, c.dgx, GH, in, In, 1, w.wih.G, In)
	kernel.Sgemm(blas.Trans, blas.NoTrans, GH, H, TB, 1, c.dgh, GH, c.hp, H, 1, w.whh.G, H)
	sumRows(w.bih.G, c.dgx, TB)
	sumRows(w.bhh.G, c.dgh, TB)
}

// Bytes is the memory held by the workspace's buffers. After a training
// Forward and Backward over (T, B) it is, in float32s (×4 bytes), with
// L layers, D directions, H hidden units, G gates (1 RNN, 4 LSTM, 3 GRU),
// In the input width and S = 1 for LSTM (cell states) else 0:
//
//	per layer and direction:  T·B·(G·H + (2+3S)·H) + B·H·(1+S) + [GRU: T·B·(H + G·H) + B·G·H]
//	per layer:                T·B·D·H (outputs) + [k>0 with dropout: 2·T·B·D·H (input, mask)]
//	layers k>0 backward:      T·B·D·H (gradient of the layer input)
//	layer 0 backward:         T·B·In
//	states:                   2·L·D·B·H·(1+S) (final state and its gradient)
//
// It grows linearly in T: truncated BPTT over windows of T steps needs the
// memory of one window, not of the whole sequence. docs/MEMORY.md derives
// the whole-model figure from this.
func (s *Seq) Bytes() int {
	n := cap(s.dx) + cap(s.final.H) + cap(s.final.C) + cap(s.dInit.H) + cap(s.dInit.C)
	for k := range s.c {
		n += cap(s.out[k]) + cap(s.layerIn[k]) + cap(s.dIn[k]) + cap(s.drop[k].Mask())
		for d := range s.c[k] {
			c := &s.c[k][d]
			n += cap(c.gates) + cap(c.ghn) + cap(c.gh) + cap(c.hp) + cap(c.ho) + cap(c.cp) + cap(c.co) + cap(c.tc) + cap(c.dh) + cap(c.dc) // dgx aliases gates
			if s.l.cfg.Cell == GRU {
				n += cap(c.dgh)
			}
		}
	}
	return 4 * n
}
