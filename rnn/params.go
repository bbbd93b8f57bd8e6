package rnn

import (
	"fmt"
	"math"
	"sort"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// Param is one named parameter tensor of a model. W and G are views into the
// flat Values and Grads buffers of the Params that owns it; they are re-pointed
// when the set grows, so hold the *Param, not the slices.
type Param struct {
	Name  string
	Shape []int     // PyTorch state_dict shape, e.g. (4H, In) for weight_ih_l0
	W     []float32 // values, len = product of Shape
	G     []float32 // gradient, same length, accumulated by backward passes
	off   int
	// q8 is the int8 form of W as an int8 model file stored it, kept
	// from ModelFile.ReadParamsInt8 to the Quantize that follows it within
	// one load (Params.DropInt8), so that Quantize packs the stored values
	// instead of quantizing their float32 copy again.
	q8 *kernel.QMatrix
}

// Size is the number of elements.
func (p *Param) Size() int { return len(p.W) }

// Params holds every parameter of a model in one flat buffer (Values) with
// named views, and the gradients in a mirror of it (Grads). Zeroing, clipping,
// optimizer steps and saving are each one loop over the flat buffers.
type Params struct {
	Values []float32
	Grads  []float32
	list   []*Param
	byName map[string]*Param
	count  bool // a counter (NewParamCounter): Add only counts
	n      int  // values registered, when counting
}

// NewParamCounter returns a Params that only counts: Add registers names and
// shapes but allocates nothing (the Params' W and G stay nil). A model's
// constructor runs its parameter registrations once on a counter, then
// Reserves that many values in the real Params, so that building a model
// allocates its buffers once instead of growing them (which copied them a
// dozen times and left that much garbage behind: a 76 MB model touched
// 180 MB).
func NewParamCounter() *Params { return &Params{byName: map[string]*Param{}, count: true} }

// Count is the number of values registered: Len for a real Params, the
// running total for a counter.
func (ps *Params) Count() int {
	if ps.count {
		return ps.n
	}
	return len(ps.Values)
}

// Build returns what build returns when it registers its parameters in a
// Params sized for them exactly: build runs once on a counter
// (NewParamCounter), whose result is dropped, then on the real Params. build
// must register the same parameters both times and must not read or write
// their values (they are nil on the counter).
func Build[M any](build func(ps *Params) M) M {
	c := NewParamCounter()
	build(c)
	ps := NewParams()
	ps.Reserve(c.Count())
	return build(ps)
}

// Reserve makes room for n more values, so that Adds totalling up to n
// neither copy the buffers nor leave garbage behind.
func (ps *Params) Reserve(n int) {
	if ps.count || n <= cap(ps.Values)-len(ps.Values) {
		return
	}
	vals, grads := make([]float32, len(ps.Values), len(ps.Values)+n), make([]float32, len(ps.Grads), len(ps.Values)+n)
	copy(vals, ps.Values)
	copy(grads, ps.Grads)
	ps.Values, ps.Grads = vals, grads
	for _, q := range ps.list {
		end := q.off + q.numel()
		q.W, q.G = ps.Values[q.off:end:end], ps.Grads[q.off:end:end]
	}
}

// DropInt8 forgets the stored int8 forms ReadParamsInt8 kept: call it once
// the load's Quantize is done, so that no later Quantize can take a form
// the weights have since left.
func (ps *Params) DropInt8() {
	for _, p := range ps.list {
		p.q8 = nil
	}
}

// NewParams returns an empty parameter set.
func NewParams() *Params { return &Params{byName: map[string]*Param{}} }

// Add registers a zero-initialized parameter. Names must be unique; a
// duplicate name is a programmer error and panics.
func (ps *Params) Add(name string, shape ...int) *Param {
	if _, dup := ps.byName[name]; dup {
		panic(fmt.Sprintf("rnn: duplicate parameter %q", name))
	}
	n := 1
	for _, d := range shape {
		if d <= 0 {
			panic(fmt.Sprintf("rnn: parameter %q has non-positive dimension in %v", name, shape))
		}
		n *= d
	}
	if ps.count {
		p := &Param{Name: name, Shape: append([]int(nil), shape...), off: ps.n}
		ps.n += n
		ps.list = append(ps.list, p)
		ps.byName[name] = p
		return p
	}
	p := &Param{Name: name, Shape: append([]int(nil), shape...), off: len(ps.Values)}
	size := len(ps.Values) + n
	if size > cap(ps.Values) || size > cap(ps.Grads) {
		// Grow by a quarter at least, so that registering a model's
		// parameters one by one copies O(total) values, not O(total²).
		c := max(size, cap(ps.Values)+cap(ps.Values)/4)
		vals, grads := make([]float32, size, c), make([]float32, size, c)
		copy(vals, ps.Values)
		copy(grads, ps.Grads)
		ps.Values, ps.Grads = vals, grads
		for _, q := range ps.list {
			end := q.off + q.numel()
			q.W, q.G = ps.Values[q.off:end:end], ps.Grads[q.off:end:end]
		}
	}
	ps.Values, ps.Grads = ps.Values[:size], ps.Grads[:size]
	p.W, p.G = ps.Values[p.off:size:size], ps.Grads[p.off:size:size]
	ps.list = append(ps.list, p)
	ps.byName[name] = p
	return p
}

func (p *Param) numel() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Get returns the parameter with the given name, or nil.
func (ps *Params) Get(name string) *Param { return ps.byName[name] }

// List returns the parameters in registration order.
func (ps *Params) List() []*Param { return ps.list }

// Names returns the parameter names, sorted.
func (ps *Params) Names() []string {
	out := make([]string, 0, len(ps.list))
	for _, p := range ps.list {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// Len is the total number of scalar parameters.
func (ps *Params) Len() int { return len(ps.Values) }

// ZeroGrad clears every gradient.
func (ps *Params) ZeroGrad() { clear(ps.Grads) }

// GradNorm returns the global L2 norm of the gradients.
func (ps *Params) GradNorm() float64 {
	// One sum in order (so the clipping factor, and training, do not
	// depend on how the work is split); sumSquares streams the buffer
	// ahead of the additions.
	return math.Sqrt(sumSquares(ps.Grads))
}

// ClipGradNorm scales the gradients so that their global L2 norm is at most
// maxNorm (as torch.nn.utils.clip_grad_norm_) and returns the norm before
// clipping. A non-finite norm is returned unchanged and nothing is scaled, so
// the caller can detect it.
func (ps *Params) ClipGradNorm(maxNorm float64) float64 {
	norm := ps.GradNorm()
	if maxNorm > 0 && norm > maxNorm && !math.IsInf(norm, 0) && !math.IsNaN(norm) {
		s := float32(maxNorm / (norm + 1e-6))
		for i := range ps.Grads {
			ps.Grads[i] *= s
		}
	}
	return norm
}

// AllFinite reports whether every value is finite; models with non-finite
// weights are never written.
func (ps *Params) AllFinite() bool { return allFinite(ps.Values) }

// GradsFinite reports whether every gradient is finite.
func (ps *Params) GradsFinite() bool { return allFinite(ps.Grads) }

func allFinite(xs []float32) bool {
	for _, v := range xs {
		if v-v != 0 { // NaN or ±Inf
			return false
		}
	}
	return true
}

// CopyValues copies the values of src into ps. Both sets must have the same
// names and shapes (for example, a model and its best-so-far snapshot).
func (ps *Params) CopyValues(src *Params) error {
	for _, p := range ps.list {
		q := src.byName[p.Name]
		if q == nil || len(q.W) != len(p.W) {
			return fmt.Errorf("rnn: parameter %q missing or of a different size in source", p.Name)
		}
		copy(p.W, q.W)
	}
	return nil
}
