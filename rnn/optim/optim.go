package optim

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// Optimizer updates a parameter set from its gradients, with the update rule
// and defaults of the torch.optim class of the same name. Every optimizer
// works on the flat Params buffers in one loop: its per-parameter state
// (moments, momentum buffers) is a set of flat slices that mirror ps.Values.
//
// Step reads ps.Grads (already zeroed, accumulated and clipped by the caller)
// and updates ps.Values in place. The state is sized to ps.Len() on the first
// Step; after that Step allocates nothing. One optimizer serves one Params.
//
// State returns copies of the state as flat tensors named "optim.<name>" after
// torch's state keys ("optim.exp_avg", "optim.exp_avg_sq", ...) plus
// "optim.step", the number of steps taken, stored exactly as two float32
// values [step mod 2²⁴, step / 2²⁴]. SetState restores such a set exactly,
// so a run resumed from a checkpoint continues bit-identically. It ignores
// tensors whose names do not start with "optim." (so a whole checkpoint can
// be passed) and rejects unknown or missing optim.* tensors, such as the state
// of a different optimizer. The learning rate is not part of the state: it
// belongs to the caller's schedule (SetLR).
type Optimizer interface {
	Step(ps *rnn.Params)
	LR() float64
	SetLR(lr float64)
	State() []rnn.Tensor
	SetState(ts []rnn.Tensor) error
}

// optDefault resolves an option field: the zero value means the torch default
// d, a negative value asks for an explicit 0 (where 0 differs from the
// default), anything else is used as given.
func optDefault(v, d float64) float64 {
	switch {
	case v == 0:
		return d
	case v < 0:
		return 0
	}
	return v
}

// optLR resolves a learning rate: 0 means the default, negative panics.
func optLR(name string, lr, d float64) float64 {
	if lr < 0 || math.IsNaN(lr) {
		panic(fmt.Sprintf("optim: %s: negative learning rate %v", name, lr))
	}
	if lr == 0 {
		return d
	}
	return lr
}

// optimState is the step count and the named flat state buffers shared by
// every optimizer.
type optimState struct {
	kind  string   // "SGD", "Adam", ... for messages
	step  int64    // steps taken
	names []string // torch state keys, e.g. "exp_avg"
	bufs  [][]float32
	init  float32 // initial value of the buffers (Adagrad's initial_accumulator_value)
}

// optimStepName is the name of the step count in State.
const optimStepName = "optim.step"

// size makes every buffer ps.Len() long on first use and panics if the
// optimizer was sized for a parameter set of a different length.
func (s *optimState) size(ps *rnn.Params) {
	n := ps.Len()
	for i, b := range s.bufs {
		switch {
		case b == nil:
			b = make([]float32, n)
			if s.init != 0 {
				for j := range b {
					b[j] = s.init
				}
			}
			s.bufs[i] = b
		case len(b) != n:
			panic(fmt.Sprintf("optim: %s.Step: optimizer state holds %d values but the parameter set has %d; use one optimizer per Params",
				s.kind, len(b), n))
		}
	}
}

func (s *optimState) state() []rnn.Tensor {
	out := []rnn.Tensor{{
		Name:  optimStepName,
		Shape: []int{2},
		Data:  []float32{float32(s.step & (1<<24 - 1)), float32(s.step >> 24)},
	}}
	for i, b := range s.bufs {
		if b == nil {
			continue // not sized yet: no step taken
		}
		out = append(out, rnn.Tensor{
			Name:  "optim." + s.names[i],
			Shape: []int{len(b)},
			Data:  append([]float32(nil), b...),
		})
	}
	return out
}

func (s *optimState) setState(ts []rnn.Tensor) error {
	var step *rnn.Tensor
	found := make([]*rnn.Tensor, len(s.names))
	for i := range ts {
		t := &ts[i]
		if !strings.HasPrefix(t.Name, "optim.") {
			continue
		}
		key := strings.TrimPrefix(t.Name, "optim.")
		if t.Name == optimStepName {
			if step != nil {
				return fmt.Errorf("optim: %s state: %s given twice", s.kind, t.Name)
			}
			step = t
			continue
		}
		j := optimIndexOfName(s.names, key)
		if j < 0 {
			return fmt.Errorf("optim: %s state: unexpected tensor %q (want %s); is this another optimizer's state?",
				s.kind, t.Name, s.describe())
		}
		if found[j] != nil {
			return fmt.Errorf("optim: %s state: %s given twice", s.kind, t.Name)
		}
		found[j] = t
	}
	if step == nil {
		return fmt.Errorf("optim: %s state: missing %s", s.kind, optimStepName)
	}
	if len(step.Data) != 2 || !optimWholeNonNeg(step.Data[0]) || !optimWholeNonNeg(step.Data[1]) || step.Data[0] >= 1<<24 {
		return fmt.Errorf("optim: %s state: %s = %v is not a step count [step mod 2^24, step / 2^24]",
			s.kind, optimStepName, step.Data)
	}
	n := -1
	for _, t := range found {
		if t == nil {
			continue
		}
		if len(t.Shape) != 1 || t.Shape[0] != len(t.Data) {
			return fmt.Errorf("optim: %s state: %s has shape %v and %d values, want a flat tensor",
				s.kind, t.Name, t.Shape, len(t.Data))
		}
		if n >= 0 && len(t.Data) != n {
			return fmt.Errorf("optim: %s state: %s has %d values, optim.%s has %d",
				s.kind, t.Name, len(t.Data), s.names[0], n)
		}
		n = len(t.Data)
	}
	stepN := int64(step.Data[0]) + int64(step.Data[1])<<24
	if n < 0 && len(s.names) > 0 {
		// No buffers: only the state of an optimizer that never stepped.
		if stepN != 0 {
			return fmt.Errorf("optim: %s state: step %d but no state buffers (want %s)", s.kind, stepN, s.describe())
		}
		s.step = 0
		for i := range s.bufs {
			s.bufs[i] = nil
		}
		return nil
	}
	for j, t := range found {
		if t == nil {
			return fmt.Errorf("optim: %s state: missing optim.%s", s.kind, s.names[j])
		}
	}
	for j, t := range found {
		b := s.bufs[j]
		if cap(b) < n {
			b = make([]float32, n)
		}
		b = b[:n]
		copy(b, t.Data)
		s.bufs[j] = b
	}
	s.step = stepN
	return nil
}

func (s *optimState) describe() string {
	names := make([]string, 0, len(s.names)+1)
	names = append(names, optimStepName)
	for _, n := range s.names {
		names = append(names, "optim."+n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func optimIndexOfName(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

func optimWholeNonNeg(v float32) bool {
	return v >= 0 && v == float32(math.Trunc(float64(v)))
}

// ---- SGD ----

// SGDOptions configure NewSGD. Zero values mean torch.optim.SGD's defaults;
// dampening is always 0.
type SGDOptions struct {
	LR          float64 // learning rate; 0 means 1e-3
	Momentum    float64 // momentum factor μ; 0 means none
	Nesterov    bool    // Nesterov momentum (needs Momentum > 0)
	WeightDecay float64 // L2 penalty λ added to the gradient; 0 means none
}

// SGD is stochastic gradient descent with optional (Nesterov) momentum and
// weight decay, as torch.optim.SGD with dampening 0:
//
//	g = ∇ + λ·θ
//	b = g on the first step, else μ·b + g
//	g = g + μ·b (Nesterov) or b (momentum) or g (plain)
//	θ = θ - lr·g
type SGD struct {
	lr, momentum, wd float64
	nesterov         bool
	st               optimState // "momentum_buffer" when Momentum > 0
}

// NewSGD returns an SGD optimizer.
func NewSGD(o SGDOptions) *SGD {
	s := &SGD{
		lr:       optLR("SGD", o.LR, 1e-3),
		momentum: optDefault(o.Momentum, 0),
		wd:       optDefault(o.WeightDecay, 0),
		nesterov: o.Nesterov,
		st:       optimState{kind: "SGD"},
	}
	if s.nesterov && s.momentum <= 0 {
		panic("optim: NewSGD: Nesterov momentum requires Momentum > 0")
	}
	if s.momentum > 0 {
		s.st.names = []string{"momentum_buffer"}
		s.st.bufs = make([][]float32, 1)
	}
	return s
}

// Step applies one update to ps.Values from ps.Grads.
func (s *SGD) Step(ps *rnn.Params) {
	s.st.size(ps)
	p := ps.Values
	g := ps.Grads[:len(p)]
	lr, wd, mu := float32(s.lr), float32(s.wd), float32(s.momentum)
	first := s.st.step == 0
	s.st.step++
	if mu == 0 {
		for i, gi := range g {
			p[i] -= lr * (gi + wd*p[i])
		}
		return
	}
	buf := s.st.bufs[0][:len(p)]
	for i, gi := range g {
		gi += wd * p[i]
		b := gi
		if !first {
			b = mu*buf[i] + gi
		}
		buf[i] = b
		if s.nesterov {
			gi += mu * b
		} else {
			gi = b
		}
		p[i] -= lr * gi
	}
}

// LR returns the learning rate.
func (s *SGD) LR() float64 { return s.lr }

// SetLR sets the learning rate for the following steps.
func (s *SGD) SetLR(lr float64) { s.lr = lr }

// State returns a copy of the optimizer state (see Optimizer).
func (s *SGD) State() []rnn.Tensor { return s.st.state() }

// SetState restores a state returned by State (see Optimizer).
func (s *SGD) SetState(ts []rnn.Tensor) error { return s.st.setState(ts) }

// ---- Adam, AdamW ----

// AdamOptions configure NewAdam and NewAdamW. Zero values mean the torch
// defaults; a negative Beta1, Beta2, Eps or WeightDecay asks for exactly 0
// (for example AdamW without weight decay).
type AdamOptions struct {
	LR          float64 // learning rate; 0 means 1e-3
	Beta1       float64 // first-moment decay β₁; 0 means 0.9
	Beta2       float64 // second-moment decay β₂; 0 means 0.999
	Eps         float64 // ε added to the denominator; 0 means 1e-8
	WeightDecay float64 // λ; 0 means 0 for Adam (L2, added to the gradient) and 1e-2 for AdamW (decoupled)
}

// Adam is torch.optim.Adam (or torch.optim.AdamW when made by NewAdamW),
// without amsgrad:
//
//	AdamW: θ = θ·(1 - lr·λ)           Adam: g = ∇ + λ·θ
//	m = β₁·m + (1-β₁)·g
//	v = β₂·v + (1-β₂)·g²
//	θ = θ - lr/(1-β₁ᵗ) · m / (√v/√(1-β₂ᵗ) + ε)
type Adam struct {
	lr, beta1, beta2, eps, wd float64
	decoupled                 bool
	st                        optimState // "exp_avg", "exp_avg_sq"
	upd                       adamUpdate
}

// adamUpdate is one Adam step over a range of parameters; elements are
// independent, so large parameter sets are split over goroutines.
type adamUpdate struct {
	p, g, m, v                                 []float32
	b1, b2, c1, c2, stepSize, bc2Sqrt, eps, l2 float32
	decay                                      float32
	decoupled                                  bool
}

func (u *adamUpdate) Range(lo, hi int) {
	if n8 := (hi - lo) / 8; n8 > 0 && useAVX {
		k := adamConsts{u.b1, u.b2, u.c1, u.c2, u.stepSize, u.bc2Sqrt, u.eps, u.l2, u.decay, 0}
		if u.decoupled {
			k.decoupled = 1
		}
		adamAVX(&u.p[lo], &u.g[lo], &u.m[lo], &u.v[lo], n8, &k)
		lo += 8 * n8
	}
	u.rangeGo(lo, hi)
}

// adamConsts are adamAVX's constants, in the order it reads them.
type adamConsts struct {
	b1, b2, c1, c2, stepSize, bc2Sqrt, eps, l2, decay float32
	decoupled                                         uint32
}

// rangeGo is Range in Go: the reference for adamAVX and its tail.
func (u *adamUpdate) rangeGo(lo, hi int) {
	p, g, m, v := u.p[lo:hi], u.g[lo:hi], u.m[lo:hi], u.v[lo:hi]
	b1, b2, c1, c2 := u.b1, u.b2, u.c1, u.c2
	stepSize, bc2Sqrt, eps := u.stepSize, u.bc2Sqrt, u.eps
	for i, gi := range g {
		pi := p[i]
		if u.decoupled {
			pi *= u.decay
		} else {
			gi += u.l2 * pi
		}
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		p[i] = pi - stepSize*mi/(float32(math.Sqrt(float64(vi)))/bc2Sqrt+eps)
	}
}

// NewAdam returns an Adam optimizer (L2 weight decay added to the gradient,
// as torch.optim.Adam).
func NewAdam(o AdamOptions) *Adam { return newAdam("Adam", o, 0, false) }

// NewAdamW returns an AdamW optimizer (decoupled weight decay, default 1e-2,
// as torch.optim.AdamW).
func NewAdamW(o AdamOptions) *Adam { return newAdam("AdamW", o, 1e-2, true) }

func newAdam(kind string, o AdamOptions, wd float64, decoupled bool) *Adam {
	a := &Adam{
		lr:        optLR(kind, o.LR, 1e-3),
		beta1:     optDefault(o.Beta1, 0.9),
		beta2:     optDefault(o.Beta2, 0.999),
		eps:       optDefault(o.Eps, 1e-8),
		wd:        optDefault(o.WeightDecay, wd),
		decoupled: decoupled,
		st: optimState{
			kind:  kind,
			names: []string{"exp_avg", "exp_avg_sq"},
			bufs:  make([][]float32, 2),
		},
	}
	if a.beta1 >= 1 || a.beta2 >= 1 {
		panic(fmt.Sprintf("optim: New%s: betas (%v, %v) must be in [0, 1)", kind, a.beta1, a.beta2))
	}
	return a
}

// Step applies one update to ps.Values from ps.Grads.
func (a *Adam) Step(ps *rnn.Params) {
	a.st.size(ps)
	a.st.step++
	t := float64(a.st.step)
	p := ps.Values
	g := ps.Grads[:len(p)]
	m := a.st.bufs[0][:len(p)]
	v := a.st.bufs[1][:len(p)]

	b1, b2 := float32(a.beta1), float32(a.beta2)
	c1, c2 := 1-b1, 1-b2
	stepSize := float32(a.lr / (1 - math.Pow(a.beta1, t)))
	bc2Sqrt := float32(math.Sqrt(1 - math.Pow(a.beta2, t)))
	eps := float32(a.eps)
	var l2, decay float32 // Adam's λ, AdamW's 1 - lr·λ
	if a.decoupled {
		decay = float32(1 - a.lr*a.wd)
	} else {
		l2 = float32(a.wd)
	}
	a.upd = adamUpdate{p: p, g: g, m: m, v: v, b1: b1, b2: b2, c1: c1, c2: c2,
		stepSize: stepSize, bc2Sqrt: bc2Sqrt, eps: eps, l2: l2, decay: decay, decoupled: a.decoupled}
	kernel.Parallel(len(g), 1<<16, &a.upd)
	a.upd = adamUpdate{} // hold no references to the parameters between steps
}

// LR returns the learning rate.
func (a *Adam) LR() float64 { return a.lr }

// SetLR sets the learning rate for the following steps.
func (a *Adam) SetLR(lr float64) { a.lr = lr }

// State returns a copy of the optimizer state (see Optimizer).
func (a *Adam) State() []rnn.Tensor { return a.st.state() }

// SetState restores a state returned by State (see Optimizer).
func (a *Adam) SetState(ts []rnn.Tensor) error { return a.st.setState(ts) }

// ---- RMSprop ----

// RMSpropOptions configure NewRMSprop. Zero values mean torch.optim.RMSprop's
// defaults; a negative Alpha, Eps, Momentum or WeightDecay asks for exactly 0.
type RMSpropOptions struct {
	LR          float64 // learning rate; 0 means 1e-2
	Alpha       float64 // smoothing constant α; 0 means 0.99
	Eps         float64 // ε; 0 means 1e-8
	Momentum    float64 // μ; 0 means none
	Centered    bool    // normalize by the estimated variance of the gradient
	WeightDecay float64 // L2 penalty λ added to the gradient; 0 means none
}

// RMSprop is torch.optim.RMSprop:
//
//	g = ∇ + λ·θ
//	s = α·s + (1-α)·g²
//	c = √s + ε, or √(s - ḡ²) + ε with ḡ = α·ḡ + (1-α)·g when centered
//	b = μ·b + g/c, θ = θ - lr·b   (with momentum)   or   θ = θ - lr·g/c
type RMSprop struct {
	lr, alpha, eps, momentum, wd float64
	centered                     bool
	st                           optimState // "square_avg" [, "momentum_buffer"] [, "grad_avg"]
	mom, avg                     int        // indices of the optional buffers, or -1
}

// NewRMSprop returns an RMSprop optimizer.
func NewRMSprop(o RMSpropOptions) *RMSprop {
	r := &RMSprop{
		lr:       optLR("RMSprop", o.LR, 1e-2),
		alpha:    optDefault(o.Alpha, 0.99),
		eps:      optDefault(o.Eps, 1e-8),
		momentum: optDefault(o.Momentum, 0),
		wd:       optDefault(o.WeightDecay, 0),
		centered: o.Centered,
		st:       optimState{kind: "RMSprop", names: []string{"square_avg"}},
		mom:      -1,
		avg:      -1,
	}
	if r.momentum > 0 {
		r.mom = len(r.st.names)
		r.st.names = append(r.st.names, "momentum_buffer")
	}
	if r.centered {
		r.avg = len(r.st.names)
		r.st.names = append(r.st.names, "grad_avg")
	}
	r.st.bufs = make([][]float32, len(r.st.names))
	return r
}

// Step applies one update to ps.Values from ps.Grads.
func (r *RMSprop) Step(ps *rnn.Params) {
	r.st.size(ps)
	r.st.step++
	p := ps.Values
	g := ps.Grads[:len(p)]
	sq := r.st.bufs[0][:len(p)]
	var buf, gavg []float32
	if r.mom >= 0 {
		buf = r.st.bufs[r.mom][:len(p)]
	}
	if r.avg >= 0 {
		gavg = r.st.bufs[r.avg][:len(p)]
	}
	lr, wd, eps, mu := float32(r.lr), float32(r.wd), float32(r.eps), float32(r.momentum)
	a := float32(r.alpha)
	c := 1 - a
	for i, gi := range g {
		gi += wd * p[i]
		s := a*sq[i] + c*gi*gi
		sq[i] = s
		if gavg != nil {
			ga := a*gavg[i] + c*gi
			gavg[i] = ga
			s -= ga * ga
			if s < 0 {
				s = 0 // rounding; torch would take √ of a tiny negative (NaN)
			}
		}
		den := float32(math.Sqrt(float64(s))) + eps
		if buf != nil {
			b := mu*buf[i] + gi/den
			buf[i] = b
			p[i] -= lr * b
		} else {
			p[i] -= lr * gi / den
		}
	}
}

// LR returns the learning rate.
func (r *RMSprop) LR() float64 { return r.lr }

// SetLR sets the learning rate for the following steps.
func (r *RMSprop) SetLR(lr float64) { r.lr = lr }

// State returns a copy of the optimizer state (see Optimizer).
func (r *RMSprop) State() []rnn.Tensor { return r.st.state() }

// SetState restores a state returned by State (see Optimizer).
func (r *RMSprop) SetState(ts []rnn.Tensor) error { return r.st.setState(ts) }

// ---- Adagrad ----

// AdagradOptions configure NewAdagrad. Zero values mean torch.optim.Adagrad's
// defaults; a negative Eps asks for exactly 0.
type AdagradOptions struct {
	LR                      float64 // learning rate; 0 means 1e-2
	LRDecay                 float64 // the rate is lr/(1 + (t-1)·LRDecay); 0 means none
	WeightDecay             float64 // L2 penalty λ added to the gradient; 0 means none
	InitialAccumulatorValue float64 // starting value of the sum of squares; 0 means 0
	Eps                     float64 // ε; 0 means 1e-10
}

// Adagrad is torch.optim.Adagrad:
//
//	g = ∇ + λ·θ
//	s = s + g²
//	θ = θ - lr/(1 + (t-1)·decay) · g / (√s + ε)
type Adagrad struct {
	lr, lrDecay, wd, eps float64
	st                   optimState // "sum"
}

// NewAdagrad returns an Adagrad optimizer.
func NewAdagrad(o AdagradOptions) *Adagrad {
	return &Adagrad{
		lr:      optLR("Adagrad", o.LR, 1e-2),
		lrDecay: optDefault(o.LRDecay, 0),
		wd:      optDefault(o.WeightDecay, 0),
		eps:     optDefault(o.Eps, 1e-10),
		st: optimState{
			kind:  "Adagrad",
			names: []string{"sum"},
			bufs:  make([][]float32, 1),
			init:  float32(optDefault(o.InitialAccumulatorValue, 0)),
		},
	}
}

// Step applies one update to ps.Values from ps.Grads.
func (a *Adagrad) Step(ps *rnn.Params) {
	a.st.size(ps)
	a.st.step++
	p := ps.Values
	g := ps.Grads[:len(p)]
	sum := a.st.bufs[0][:len(p)]
	clr := float32(a.lr / (1 + float64(a.st.step-1)*a.lrDecay))
	wd, eps := float32(a.wd), float32(a.eps)
	for i, gi := range g {
		gi += wd * p[i]
		s := sum[i] + gi*gi
		sum[i] = s
		p[i] -= clr * gi / (float32(math.Sqrt(float64(s))) + eps)
	}
}

// LR returns the learning rate.
func (a *Adagrad) LR() float64 { return a.lr }

// SetLR sets the learning rate for the following steps.
func (a *Adagrad) SetLR(lr float64) { a.lr = lr }

// State returns a copy of the optimizer state (see Optimizer).
func (a *Adagrad) State() []rnn.Tensor { return a.st.state() }

// SetState restores a state returned by State (see Optimizer).
func (a *Adagrad) SetState(ts []rnn.Tensor) error { return a.st.setState(ts) }

// Compile-time checks.
var (
	_ Optimizer = (*SGD)(nil)
	_ Optimizer = (*Adam)(nil)
	_ Optimizer = (*RMSprop)(nil)
	_ Optimizer = (*Adagrad)(nil)
)
