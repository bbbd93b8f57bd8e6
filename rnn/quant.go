package rnn

import (
	"sync"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// int8 inference (the scheme of PyTorch's torch.ao.quantization.quantize_dynamic
// with qint8 weights; kernel.QMatrix gives the details): Quantize snapshots a
// layer's weight matrices as int8 with one scale per output row, and from
// then on its inference products quantize their inputs per row at each call
// and sum in int32. Biases, embeddings, attention scores and the cells'
// gate arithmetic stay float32.
//
// Quantization is for inference only: a quantized layer's training Forward
// (Layer) is unchanged, but a quantized Linear's Forward always uses the
// int8 weights, so do not train through it. Quantize before handing the
// layer to other goroutines; afterwards it is read-only as before.

// quantDir holds one direction's quantized matrices.
type quantDir struct{ wih, whh *kernel.QMatrix }

// Quantize switches l's inference passes (Seq.Forward with train = false)
// to int8 products with W_ih and W_hh quantized from their current values.
// Later changes to the weights do not reach the int8 copies; call Quantize
// again after them. Training passes still use the float32 weights.
func (l *Layer) Quantize() {
	q := make([][]quantDir, len(l.w))
	for k, row := range l.w {
		for _, w := range row {
			q[k] = append(q[k], quantDir{
				wih: w.wih.quantized(len(w.wih.W)/w.in, w.in),
				whh: w.whh.quantized(len(w.whh.W)/l.cfg.HiddenSize, l.cfg.HiddenSize),
			})
		}
	}
	l.q = q
}

// Quantized reports whether Quantize has been called on l.
func (l *Layer) Quantized() bool { return l.q != nil }

// Quantize makes l's Forward (and that of PackedLinear snapshots taken
// afterwards) use an int8 copy of its current weight. The bias stays float32.
func (l *Linear) Quantize() {
	l.q = l.Weight.quantized(l.Out, l.In)
}

// quantized is p's values as a (rows, cols) int8 matrix: the form its int8
// model file stored when the load kept it (ReadParamsInt8), otherwise
// QuantizeWeights of W.
func (p *Param) quantized(rows, cols int) *kernel.QMatrix {
	if q := p.q8; q != nil && q.N == rows && q.K == cols {
		return q
	}
	return kernel.QuantizeWeights(rows, cols, p.W, cols)
}

// Quantized reports whether Quantize has been called on l.
func (l *Linear) Quantized() bool { return l.q != nil }

// Quantize quantizes the attention's projections (Linear.Quantize); the
// scores and the weighted sum of the keys stay float32.
func (a *Attention) Quantize() {
	if a.Wq != nil {
		a.Wq.Quantize()
	}
	if a.Wk != nil {
		a.Wk.Quantize()
	}
}

// qbufs holds the activation buffers of Linear layers' int8 products,
// which may run on many goroutines at once.
var qbufs = sync.Pool{New: func() any { return new(kernel.QBuf) }}

// quantForward computes y = x·Wᵀ + b with the int8 weights q.
func quantForward(q *kernel.QMatrix, bias, y, x []float32, n int) {
	in, out := q.K, q.N
	buf := qbufs.Get().(*kernel.QBuf)
	if bias != nil {
		for r := 0; r < n; r++ {
			copy(y[r*out:(r+1)*out], bias)
		}
		q.MulAdd(n, x, in, y, out, buf)
	} else {
		q.Mul(n, x, in, y, out, buf)
	}
	qbufs.Put(buf)
}
