package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// AttentionKind selects the score function of an Attention layer.
type AttentionKind int

const (
	// Additive is Bahdanau et al. (2015) attention:
	//	score(q, k) = vᵀ·tanh(W_q·q + W_k·k + b)
	Additive AttentionKind = iota
	// Dot is Luong et al. (2015) dot attention: score(q, k) = qᵀ·k (Query == Key).
	Dot
	// General is Luong et al. (2015) general attention: score(q, k) = qᵀ·W·k.
	General
)

var attentionNames = [...]string{"additive", "dot", "general"}

func (k AttentionKind) String() string {
	if k < 0 || int(k) >= len(attentionNames) {
		return fmt.Sprintf("AttentionKind(%d)", int(k))
	}
	return attentionNames[k]
}

// ParseAttention parses "additive" (or "bahdanau"), "dot" or "general" (or "luong").
func ParseAttention(s string) (AttentionKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "additive", "bahdanau", "concat":
		return Additive, nil
	case "dot":
		return Dot, nil
	case "general", "luong", "bilinear":
		return General, nil
	}
	return 0, fmt.Errorf("unknown attention %q: use additive, dot or general", s)
}

// MarshalText writes the kind's name.
func (k AttentionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind's name.
func (k *AttentionKind) UnmarshalText(b []byte) error {
	v, err := ParseAttention(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// AttentionConfig describes an attention layer.
type AttentionConfig struct {
	Kind   AttentionKind `json:"kind"`
	Query  int           `json:"query"`  // width of a query (e.g. the decoder state)
	Key    int           `json:"key"`    // width of a key/value (e.g. a bidirectional encoder output)
	Hidden int           `json:"hidden"` // Additive only: width of the tanh layer (0 means Query)
}

// Attention scores a query against a memory of S keys per sequence and
// returns the softmax-weighted sum of the keys (the context). The keys are
// also the values, as in Bahdanau and Luong attention.
//
// Parameters, named as PyTorch modules under the prefix:
//
//	Additive: query.weight (Hidden, Query), key.weight (Hidden, Key), key.bias (Hidden), v.weight (1, Hidden)
//	General:  key.weight (Query, Key)
//	Dot:      none
//
// The key projection (W_k·k + b, or W·k) does not depend on the query, so it is
// computed once per memory (AttentionMemory.Set) and reused by every
// decoding step. Like Layer, an Attention holds only weights: its state lives
// in an AttentionMemory and AttentionSteps, one per goroutine.
type Attention struct {
	cfg AttentionConfig
	Wq  *Linear // Additive: query projection
	Wk  *Linear // Additive, General: key projection
	V   *Param  // Additive: (1, Hidden)
}

// NewAttention registers the layer's parameters in ps (zero until Init).
func NewAttention(ps *Params, prefix string, cfg AttentionConfig) *Attention {
	if cfg.Query <= 0 || cfg.Key <= 0 {
		panic(fmt.Sprintf("rnn: NewAttention: query %d and key %d must be positive", cfg.Query, cfg.Key))
	}
	a := &Attention{}
	switch cfg.Kind {
	case Additive:
		if cfg.Hidden <= 0 {
			cfg.Hidden = cfg.Query
		}
		a.Wq = NewLinear(ps, prefix+"query.", cfg.Query, cfg.Hidden, false)
		a.Wk = NewLinear(ps, prefix+"key.", cfg.Key, cfg.Hidden, true)
		a.V = ps.Add(prefix+"v.weight", 1, cfg.Hidden)
	case General:
		a.Wk = NewLinear(ps, prefix+"key.", cfg.Key, cfg.Query, false)
	case Dot:
		if cfg.Query != cfg.Key {
			panic(fmt.Sprintf("rnn: NewAttention: dot attention needs Query == Key, got %d and %d", cfg.Query, cfg.Key))
		}
	default:
		panic(fmt.Sprintf("rnn: NewAttention: unknown kind %d", int(cfg.Kind)))
	}
	a.cfg = cfg
	return a
}

// Config returns the layer's configuration (with defaults filled in).
func (a *Attention) Config() AttentionConfig { return a.cfg }

// Init draws the weights as torch.nn.Linear initializes them.
func (a *Attention) Init(rng *rand.Rand) {
	if a.Wq != nil {
		a.Wq.Init(rng)
	}
	if a.Wk != nil {
		a.Wk.Init(rng)
	}
	if a.V != nil {
		linearFillUniform(a.V.W, 1/math.Sqrt(float64(a.cfg.Hidden)), rng)
	}
}

// projWidth is the width of a projected key.
func (a *Attention) projWidth() int {
	switch a.cfg.Kind {
	case Additive:
		return a.cfg.Hidden
	case General:
		return a.cfg.Query
	}
	return a.cfg.Key
}

// AttentionMemory holds the keys of a batch (for example the encoder
// outputs), their projection, and the gradient with respect to the keys
// accumulated by the Backward of every step.
type AttentionMemory struct {
	a            *Attention
	S, B         int
	keys         []float32 // (S, B, Key): the caller's, unchanged until Finish
	lens         []int     // (B): keys s >= lens[b] are masked out; nil: all S
	proj         []float32 // (S, B, P); aliases keys for Dot
	dKeys, dProj []float32 // (S, B, Key), (S, B, P)
	tmp          []float32 // (S, B, Key)
	tmpP         []float32 // (S, B, P): SetRepeated's scratch
	dirty        bool      // dKeys and dProj are still to be cleared since Set
	fwd          attnForward
	bwd          attnBackward
	wq           *PackedLinear // NewStepMemory: the query projection, packed
}

// NewMemory returns an empty memory for a.
func (a *Attention) NewMemory() *AttentionMemory { return &AttentionMemory{a: a} }

// NewStepMemory returns an empty memory for inference that keeps the query
// projection packed for the matrix kernel (Linear.Packed), so that a
// decoder's steps do not lay its weight out afresh at every Forward of
// several queries. The results are bit-identical to NewMemory's (where the
// packed product would round differently it does what NewMemory does). It
// snapshots the weights (int8 ones if Quantize was called): create it after
// training, and a new one after the weights change. Its Backward is not
// for use.
func (a *Attention) NewStepMemory() *AttentionMemory {
	m := a.NewMemory()
	if a.Wq != nil {
		if p := a.Wq.Packed(); p.SameAsForward() {
			m.wq = p
		}
	}
	return m
}

// Set stores keys: (S, B, Key), time-major, and computes their projection.
// lengths, if not nil, gives each sequence's number of real keys (1..S); the
// rest are padding and get zero weight. keys must stay unchanged while the
// memory is in use. Set clears the key gradient.
func (m *AttentionMemory) Set(keys []float32, S, B int, lengths []int) {
	m.setKeys(keys, S, B, lengths, "Set", true)
}

// setKeys is Set; without project it leaves the projection to the caller.
func (m *AttentionMemory) setKeys(keys []float32, S, B int, lengths []int, op string, project bool) {
	cfg := m.a.cfg
	if len(keys) != S*B*cfg.Key {
		panic(fmt.Sprintf("rnn: AttentionMemory.%s: len(keys) = %d, want S*B*Key = %d*%d*%d", op, len(keys), S, B, cfg.Key))
	}
	if lengths != nil && len(lengths) != B {
		panic(fmt.Sprintf("rnn: AttentionMemory.%s: %d lengths for batch size %d", op, len(lengths), B))
	}
	m.S, m.B, m.keys = S, B, keys
	m.lens = nil
	if lengths != nil {
		m.lens = append(m.lens[:0], lengths...)
		for b, n := range m.lens {
			if n < 1 || n > S {
				panic(fmt.Sprintf("rnn: AttentionMemory.%s: length %d of sequence %d is outside 1..%d", op, n, b, S))
			}
		}
	}
	P := m.a.projWidth()
	if cfg.Kind == Dot {
		m.proj = keys
	} else if project {
		m.proj = grow(m.proj, S*B*P)
		m.a.Wk.Forward(m.proj, keys, S*B)
	}
	m.dirty = true // the gradients are cleared when first needed (clearGrads)
}

// clearGrads zeroes the key and projection gradients after a Set, before
// the first Backward or Finish uses them: inference never pays for it.
func (m *AttentionMemory) clearGrads() {
	if !m.dirty {
		return
	}
	n := m.S * m.B
	m.dKeys = grow(m.dKeys, n*m.a.cfg.Key)
	clear(m.dKeys)
	m.dProj = grow(m.dProj, n*m.a.projWidth())
	clear(m.dProj)
	m.dirty = false
}

// SetRepeated is Set(keys, S, B, lengths) for keys whose sequences come in
// runs of rep identical copies, as a beam search lays out its hypotheses:
// sequence b has the keys and length of sequence b - b%rep. It projects
// each run's keys once and copies the projection, with the same result as
// Set (bit for bit). B must be a multiple of rep.
func (m *AttentionMemory) SetRepeated(keys []float32, S, B int, lengths []int, rep int) {
	cfg := m.a.cfg
	u := 0
	if rep >= 1 && B%rep == 0 {
		u = B / rep
	}
	// One distinct row would be a matrix-vector product, which rounds
	// differently from the S·B-row product Set makes.
	if rep <= 1 || u == 0 || cfg.Kind == Dot || S*u < 2 {
		m.Set(keys, S, B, lengths)
		return
	}
	if len(keys) != S*B*cfg.Key {
		panic(fmt.Sprintf("rnn: AttentionMemory.SetRepeated: len(keys) = %d, want S*B*Key = %d*%d*%d", len(keys), S, B, cfg.Key))
	}
	K, P := cfg.Key, m.a.projWidth()
	m.tmp = grow(m.tmp, S*u*K)
	for s := 0; s < S; s++ {
		for b := 0; b < u; b++ {
			copy(m.tmp[(s*u+b)*K:(s*u+b+1)*K], keys[(s*B+b*rep)*K:(s*B+b*rep+1)*K])
		}
	}
	m.tmpP = grow(m.tmpP, S*u*P)
	m.a.Wk.Forward(m.tmpP, m.tmp, S*u)
	m.setKeys(keys, S, B, lengths, "SetRepeated", false)
	m.proj = grow(m.proj, S*B*P)
	for s := 0; s < S; s++ {
		for b := 0; b < B; b++ {
			i := s*u + b/rep
			copy(m.proj[(s*B+b)*P:(s*B+b+1)*P], m.tmpP[i*P:(i+1)*P])
		}
	}
}

// Keep reduces the memory to the sequences rows (increasing indexes into
// the current batch), in that order, as if Set had been given only theirs:
// their keys (moved within the caller's buffer that Set received, which
// must therefore be writable), projections and lengths. It is for
// inference, where finished sequences leave the batch: the key gradient is
// not kept.
func (m *AttentionMemory) Keep(rows []int) {
	cfg := m.a.cfg
	S, B, K, P := m.S, m.B, cfg.Key, m.a.projWidth()
	n := len(rows)
	for i, r := range rows {
		if r < i || r >= B || (i > 0 && r <= rows[i-1]) {
			panic(fmt.Sprintf("rnn: AttentionMemory.Keep: rows must increase within 0..%d, got %v", B-1, rows))
		}
	}
	// Row (s, r) moves to (s, i) with s·n+i <= s·B+r: moving in order
	// never overwrites a row still to be read.
	for s := 0; s < S; s++ {
		for i, r := range rows {
			copy(m.keys[(s*n+i)*K:(s*n+i+1)*K], m.keys[(s*B+r)*K:(s*B+r+1)*K])
			if cfg.Kind != Dot {
				copy(m.proj[(s*n+i)*P:(s*n+i+1)*P], m.proj[(s*B+r)*P:(s*B+r+1)*P])
			}
		}
	}
	if m.lens != nil {
		for i, r := range rows {
			m.lens[i] = m.lens[r]
		}
		m.lens = m.lens[:n]
	}
	m.B = n
	m.keys = m.keys[:S*n*K]
	if cfg.Kind == Dot {
		m.proj = m.keys
	} else {
		m.proj = m.proj[:S*n*P]
	}
}

func (m *AttentionMemory) length(b int) int {
	if m.lens == nil {
		return m.S
	}
	return m.lens[b]
}

// AttentionStep caches one query's forward pass for its backward pass.
type AttentionStep struct {
	q   []float32 // (B, Query) copy of the query
	qp  []float32 // Additive: (B, Hidden) W_q·q
	th  []float32 // Additive: (B, S, Hidden) tanh activations
	w   []float32 // (B, S) attention weights
	dw  []float32 // (B, S) scratch
	dqp []float32 // (B, Hidden) scratch
}

// Weights returns the attention weights of the last Forward: (B, S), each
// row summing to 1 over the unmasked keys. Owned by the step.
func (st *AttentionStep) Weights() []float32 { return st.w }

// Forward attends with queries q: (B, Query) and writes the context
// ctx: (B, Key) = Σ_s w[b,s]·keys[s,b]. The weights are st.Weights().
func (m *AttentionMemory) Forward(st *AttentionStep, ctx, q []float32) {
	cfg := m.a.cfg
	S, B, K := m.S, m.B, cfg.Key
	if len(q) != B*cfg.Query || len(ctx) != B*K {
		panic(fmt.Sprintf("rnn: AttentionMemory.Forward: len(q) = %d, len(ctx) = %d, want %d and %d", len(q), len(ctx), B*cfg.Query, B*K))
	}
	st.q = grow(st.q, B*cfg.Query)
	copy(st.q, q)
	st.w = grow(st.w, B*S)
	if cfg.Kind == Additive {
		st.qp = grow(st.qp, B*cfg.Hidden)
		st.th = grow(st.th, B*S*cfg.Hidden)
		if m.wq != nil && B > 1 {
			m.wq.Forward(st.qp, st.q, B) // bit-identical for B > 1
		} else {
			m.a.Wq.Forward(st.qp, st.q, B)
		}
	}
	// Sequences are independent from here on: large batches split them
	// over goroutines (each writes only its own rows).
	m.fwd = attnForward{m: m, st: st, ctx: ctx}
	kernel.Parallel(B, max(1, 1<<15/(S*max(m.a.projWidth(), K))), &m.fwd)
}

// attnForward is the per-sequence part of AttentionMemory.Forward.
type attnForward struct {
	m   *AttentionMemory
	st  *AttentionStep
	ctx []float32
}

// Range computes the scores, weights and context of sequences [lo, hi).
func (f *attnForward) Range(lo, hi int) {
	m, st := f.m, f.st
	cfg := m.a.cfg
	S, B, K, P := m.S, m.B, cfg.Key, m.a.projWidth()
	for b := lo; b < hi; b++ {
		n := m.length(b)
		w := st.w[b*S : (b+1)*S]
		if cfg.Kind == Additive {
			qp, v := st.qp[b*P:(b+1)*P], m.a.V.W
			for s := 0; s < n; s++ {
				th := st.th[(b*S+s)*P : (b*S+s+1)*P]
				addTanh(th, qp, m.proj[(s*B+b)*P:(s*B+b+1)*P])
				w[s] = kernel.Dot(v, th)
			}
		} else {
			qb := st.q[b*P : (b+1)*P]
			for s := 0; s < n; s++ {
				w[s] = kernel.Dot(qb, m.proj[(s*B+b)*P:(s*B+b+1)*P])
			}
		}
		mx := w[0]
		for _, x := range w[1:n] {
			mx = max(mx, x)
		}
		var sum float64
		for s := 0; s < n; s++ {
			e := math.Exp(float64(w[s] - mx))
			w[s] = float32(e)
			sum += e
		}
		inv := float32(1 / sum)
		c := f.ctx[b*K : (b+1)*K]
		clear(c)
		for s := 0; s < n; s++ {
			w[s] *= inv
			kernel.Axpy(w[s], m.keys[(s*B+b)*K:(s*B+b+1)*K], c)
		}
		clear(w[n:])
	}
}

// Backward takes dctx = ∂L/∂ctx: (B, Key) for the step st (the memory must
// be the one st's Forward used), writes ∂L/∂q into dq: (B, Query), and
// accumulates the weight gradients and the key gradient (see Finish).
func (m *AttentionMemory) Backward(st *AttentionStep, dq, dctx []float32) {
	cfg := m.a.cfg
	S, B, K := m.S, m.B, cfg.Key
	if len(dq) != B*cfg.Query || len(dctx) != B*K {
		panic(fmt.Sprintf("rnn: AttentionMemory.Backward: len(dq) = %d, len(dctx) = %d, want %d and %d", len(dq), len(dctx), B*cfg.Query, B*K))
	}
	m.clearGrads()
	st.dw = grow(st.dw, B*S)
	// The parts below split over goroutines where large (as Forward): the
	// context and softmax part and the dot and general score parts by
	// sequence, each writing only its own rows; the additive score part by
	// hidden unit j, so that every accumulator (v's gradient among them)
	// still sums its terms in the same order. The results do not depend on
	// the split.
	m.bwd = attnBackward{m: m, st: st, dq: dq, dctx: dctx}
	grain := max(1, 1<<15/(S*max(m.a.projWidth(), K)))
	m.bwd.part = 0
	kernel.Parallel(B, grain, &m.bwd)
	if cfg.Kind == Additive {
		Hd := cfg.Hidden
		st.dqp = grow(st.dqp, B*Hd)
		clear(st.dqp)
		m.bwd.part = 1
		kernel.Parallel(Hd, max(8, Hd*grain/B), &m.bwd)
		m.a.Wq.Backward(dq, st.dqp, st.q, B)
		return
	}
	clear(dq)
	m.bwd.part = 2
	kernel.Parallel(B, grain, &m.bwd)
}

// attnBackward is the per-sequence (parts 0 and 2) and per-hidden-unit
// (part 1) work of AttentionMemory.Backward.
type attnBackward struct {
	m        *AttentionMemory
	st       *AttentionStep
	dq, dctx []float32
	part     int
}

// Range runs part 0 (context and softmax: dscore = w ⊙ (dw - Σ w·dw), with
// dw[b,s] = dctx[b]·keys[s,b], and the key gradient) or part 2 (dot and
// general scores) for sequences [lo, hi), or part 1 (additive scores) for
// hidden units [lo, hi).
func (r *attnBackward) Range(lo, hi int) {
	m, st := r.m, r.st
	cfg := m.a.cfg
	S, B, K, P := m.S, m.B, cfg.Key, m.a.projWidth()
	switch r.part {
	case 0:
		for b := lo; b < hi; b++ {
			n := m.length(b)
			w := st.w[b*S : (b+1)*S]
			ds := st.dw[b*S : (b+1)*S]
			dc := r.dctx[b*K : (b+1)*K]
			var tot float32
			for s := 0; s < n; s++ {
				i := (s*B + b) * K
				ds[s] = kernel.Dot(dc, m.keys[i:i+K])
				tot += w[s] * ds[s]
				kernel.Axpy(w[s], dc, m.dKeys[i:i+K])
			}
			for s := 0; s < n; s++ {
				ds[s] = w[s] * (ds[s] - tot)
			}
			clear(ds[n:])
		}
	case 1:
		Hd := cfg.Hidden
		v, dv := m.a.V.W[lo:hi], m.a.V.G[lo:hi]
		for b := 0; b < B; b++ {
			dqp := st.dqp[b*Hd+lo : b*Hd+hi]
			for s := 0; s < m.length(b); s++ {
				g := st.dw[b*S+s]
				if g == 0 {
					continue
				}
				th := st.th[(b*S+s)*Hd+lo : (b*S+s)*Hd+hi]
				dkp := m.dProj[(s*B+b)*Hd+lo : (s*B+b)*Hd+hi]
				attnScoreGrad(g, th, v, dv, dqp, dkp)
			}
		}
	case 2:
		for b := lo; b < hi; b++ {
			qb := st.q[b*P : (b+1)*P]
			dqb := r.dq[b*P : (b+1)*P]
			for s := 0; s < m.length(b); s++ {
				g := st.dw[b*S+s]
				i := (s*B + b) * P
				kernel.Axpy(g, m.proj[i:i+P], dqb)
				kernel.Axpy(g, qb, m.dProj[i:i+P])
			}
		}
	}
}

// Finish propagates the accumulated projection gradient through the key
// projection (accumulating its weight gradients) and returns
// ∂L/∂keys: (S, B, Key) summed over every step's Backward since Set. The
// result is owned by the memory.
func (m *AttentionMemory) Finish() []float32 {
	m.clearGrads()
	n := m.S * m.B
	if m.a.cfg.Kind == Dot {
		for i, g := range m.dProj[:n*m.a.cfg.Key] {
			m.dKeys[i] += g
		}
		return m.dKeys
	}
	m.tmp = grow(m.tmp, n*m.a.cfg.Key)
	m.a.Wk.Backward(m.tmp, m.dProj, m.keys, n)
	for i, g := range m.tmp {
		m.dKeys[i] += g
	}
	return m.dKeys
}

// attnScoreGradGo is attnScoreGrad's loop, the reference for its
// assembly and its tail.
func attnScoreGradGo(g float32, th, v, dv, dqp, dkp []float32) {
	v, dv, dqp, dkp = v[:len(th)], dv[:len(th)], dqp[:len(th)], dkp[:len(th)]
	for j, t := range th {
		dv[j] += g * t
		d := g * v[j] * (1 - t*t)
		dqp[j] += d
		dkp[j] += d
	}
}
