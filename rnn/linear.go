package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// Linear is an affine layer, y = x·Wᵀ + b, as torch.nn.Linear: its parameters
// are named <prefix>weight with shape (Out, In) and <prefix>bias with shape
// (Out), so they load from and save to the module's state_dict.
type Linear struct {
	In, Out int
	Weight  *Param          // (Out, In)
	Bias    *Param          // (Out); nil when the layer has no bias
	q       *kernel.QMatrix // int8 copy of Weight for inference (Quantize), or nil
}

// NewLinear registers the parameters of an in→out affine layer in ps.
// The values are zero until Init.
func NewLinear(ps *Params, prefix string, in, out int, bias bool) *Linear {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("rnn: NewLinear %q: non-positive size in=%d out=%d", prefix, in, out))
	}
	l := &Linear{In: in, Out: out, Weight: ps.Add(prefix+"weight", out, in)}
	if bias {
		l.Bias = ps.Add(prefix+"bias", out)
	}
	return l
}

// Init draws the weight and the bias from U(-1/√In, 1/√In), the distribution
// torch.nn.Linear.reset_parameters produces (kaiming_uniform_ with a=√5).
func (l *Linear) Init(rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(l.In))
	linearFillUniform(l.Weight.W, bound, rng)
	if l.Bias != nil {
		linearFillUniform(l.Bias.W, bound, rng)
	}
}

// linearFillUniform fills dst with independent draws from U(-bound, bound).
func linearFillUniform(dst []float32, bound float64, rng *rand.Rand) {
	for i := range dst {
		dst[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// Forward computes y = x·Wᵀ + b for a batch of n rows.
//
//	x: (n, In), y: (n, Out); y is written, x is not modified. y must not alias x.
func (l *Linear) Forward(y, x []float32, n int) {
	l.check("Forward", y, x, n)
	if n == 0 {
		return
	}
	if l.q != nil {
		var b []float32
		if l.Bias != nil {
			b = l.Bias.W
		}
		quantForward(l.q, b, y, x, n)
		return
	}
	in, out := l.In, l.Out
	beta := float32(0)
	if l.Bias != nil {
		b := l.Bias.W
		for r := 0; r < n; r++ {
			copy(y[r*out:(r+1)*out], b)
		}
		beta = 1
	}
	// y (n, Out) = x (n, In) · Wᵀ (In, Out) + beta·y
	kernel.Sgemm(blas.NoTrans, blas.Trans, n, out, in, 1, x, in, l.Weight.W, in, beta, y, out)
}

// Backward takes dy = ∂L/∂y for the batch that Forward saw with input x; it
// accumulates ∂L/∂W += dyᵀ·x and ∂L/∂b += Σ_rows dy into the parameter
// gradients, and writes ∂L/∂x = dy·W into dx. dx may be nil when the input
// needs no gradient.
//
//	dy: (n, Out), x: (n, In), dx: (n, In) or nil.
func (l *Linear) Backward(dx, dy, x []float32, n int) {
	l.check("Backward", dy, x, n)
	if dx != nil && len(dx) < n*l.In {
		panic(fmt.Sprintf("rnn: Linear.Backward: len(dx)=%d, want %d (n=%d, In=%d)", len(dx), n*l.In, n, l.In))
	}
	if n == 0 {
		return
	}
	in, out := l.In, l.Out
	// dW (Out, In) += dyᵀ (Out, n) · x (n, In)
	kernel.Sgemm(blas.Trans, blas.NoTrans, out, in, n, 1, dy, out, x, in, 1, l.Weight.G, in)
	if l.Bias != nil {
		db := l.Bias.G
		for r := 0; r < n; r++ {
			kernel.Axpy(1, dy[r*out:(r+1)*out], db)
		}
	}
	if dx != nil {
		// dx (n, In) = dy (n, Out) · W (Out, In)
		kernel.Sgemm(blas.NoTrans, blas.NoTrans, n, in, out, 1, dy, out, l.Weight.W, in, 0, dx, in)
	}
}

// PackedLinear is a read-only snapshot of a Linear layer for inference, with
// its weight laid out once for the matrix kernel (kernel.PackedB). Its Forward
// gives bit for bit what the layer's Forward gave with the weights it had
// when packed (n > 1), and is faster when it is called many times with few
// rows: a decoder's output layer at every step, where Linear.Forward would
// repack the whole weight each time. It holds a copy of the weights
// (In·Out floats); later changes to the layer do not reach it. It may be
// used by many goroutines.
type PackedLinear struct {
	In, Out int
	w       *kernel.PackedB
	bias    []float32
	q       *kernel.QMatrix // a quantized layer's int8 weight; w is then nil
}

// Packed returns a snapshot of l's current weights for inference.
func (l *Linear) Packed() *PackedLinear {
	if l.q != nil {
		p := &PackedLinear{In: l.In, Out: l.Out, q: l.q}
		if l.Bias != nil {
			p.bias = append([]float32(nil), l.Bias.W...)
		}
		return p
	}
	p := &PackedLinear{In: l.In, Out: l.Out, w: kernel.PackB(nil, blas.Trans, l.In, l.Out, l.Weight.W, l.In)}
	if l.Bias != nil {
		p.bias = append([]float32(nil), l.Bias.W...)
	}
	return p
}

// SameAsForward reports whether Forward gives, for n > 1, exactly the bits
// of the layer's Forward (with the weights it had when packed). It does
// unless the last column panel of a float32 weight holds only one or two
// outputs (kernel.PackedB.SameAsSgemm); an int8 snapshot always does.
func (p *PackedLinear) SameAsForward() bool { return p.q != nil || p.w.SameAsSgemm() }

// Forward computes y = x·Wᵀ + b for a batch of n rows, like Linear.Forward.
//
//	x: (n, In), y: (n, Out); y must not alias x.
func (p *PackedLinear) Forward(y, x []float32, n int) {
	if n < 0 || len(x) < n*p.In || len(y) < n*p.Out {
		panic(fmt.Sprintf("rnn: PackedLinear.Forward: n=%d, In=%d, Out=%d but len(x)=%d, len(y)=%d",
			n, p.In, p.Out, len(x), len(y)))
	}
	if n == 0 {
		return
	}
	if p.q != nil {
		quantForward(p.q, p.bias, y, x, n)
		return
	}
	beta := float32(0)
	if p.bias != nil {
		for r := 0; r < n; r++ {
			copy(y[r*p.Out:(r+1)*p.Out], p.bias)
		}
		beta = 1
	}
	kernel.SgemmPacked(blas.NoTrans, n, 1, x, p.In, p.w, beta, y, p.Out)
}

// check panics when y (n, Out) or x (n, In) is too short.
func (l *Linear) check(op string, y, x []float32, n int) {
	if n < 0 || len(x) < n*l.In || len(y) < n*l.Out {
		panic(fmt.Sprintf("rnn: Linear.%s: n=%d, In=%d, Out=%d but len(x)=%d, len(y)=%d",
			op, n, l.In, l.Out, len(x), len(y)))
	}
}
