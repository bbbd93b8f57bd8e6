package rnn

import (
	"fmt"
	"math"
	"sync"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// Losses return the mean loss as a float64 (accumulated in float64) and, when
// given a non-nil gradient slice, write the gradient of that mean with respect
// to their input into it (written, not accumulated). A nil gradient slice means
// evaluation: only the loss is computed.

// CrossEntropyOptions are the options of SoftmaxCrossEntropy, those of
// torch.nn.functional.cross_entropy. The zero value is plain mean cross
// entropy in which only negative targets are ignored.
type CrossEntropyOptions struct {
	// A target < 0 is always ignored: it adds nothing to the loss, its
	// gradient row is zero and it is not counted. This covers torch's default
	// ignore_index (-100) and rnnkit's padding convention (-1).
	//
	// IgnoreIndex, when IgnoreClass is set, names one more target value to
	// ignore, typically the id of a <pad> token that is a real class.
	IgnoreIndex int32
	IgnoreClass bool

	// LabelSmoothing ε in [0, 1]: the target distribution becomes
	// (1-ε)·onehot + ε/classes, as torch's label_smoothing.
	LabelSmoothing float32

	// ClassWeights, when non-nil (length classes), rescale each class as
	// torch's weight: the loss is the weighted mean
	// Σ_i w[t_i]·ℓ_i / Σ_i w[t_i] over the non-ignored rows.
	ClassWeights []float32
}

// ignored reports whether target t is skipped.
func (o *CrossEntropyOptions) ignored(t int32) bool {
	return t < 0 || (o.IgnoreClass && t == o.IgnoreIndex)
}

// SoftmaxCrossEntropy is the cross entropy between softmax(logits) and the
// target classes, with the semantics of torch.nn.functional.cross_entropy
// (reduction "mean"):
//
//	ℓ_i = (1-ε)·w[t_i]·(-log p_i[t_i]) + (ε/C)·Σ_c w[c]·(-log p_i[c])
//	loss = Σ_i ℓ_i / Σ_i w[t_i]          (sums over non-ignored rows i)
//
// with w ≡ 1 when no class weights are given (then the denominator is the
// count). It returns the loss and the number of non-ignored rows, and writes
// ∂loss/∂logits into dlogits unless dlogits is nil:
//
//	∂loss/∂z_ik = [(1-ε)·w[t_i]·(p_ik - [k=t_i]) + (ε/C)·(p_ik·Σ_c w[c] - w[k])] / Σ_i w[t_i]
//
// Ignored rows get a zero gradient. When every row is ignored the loss is 0
// and the count 0 (torch returns NaN).
//
//	logits, dlogits: (n, classes), targets: (n). dlogits may alias logits.
//
// A target ≥ classes is a programmer error and panics.
func SoftmaxCrossEntropy(dlogits, logits []float32, targets []int32, n, classes int, opt CrossEntropyOptions) (loss float64, count int) {
	if classes <= 0 || n < 0 || len(logits) < n*classes || len(targets) < n ||
		(dlogits != nil && len(dlogits) < n*classes) {
		panic(fmt.Sprintf("rnn: SoftmaxCrossEntropy: n=%d, classes=%d but len(logits)=%d, len(targets)=%d, len(dlogits)=%d",
			n, classes, len(logits), len(targets), len(dlogits)))
	}
	w := opt.ClassWeights
	if w != nil && len(w) != classes {
		panic(fmt.Sprintf("rnn: SoftmaxCrossEntropy: %d class weights for %d classes", len(w), classes))
	}
	eps := float64(opt.LabelSmoothing)
	if eps < 0 || eps > 1 {
		panic(fmt.Sprintf("rnn: SoftmaxCrossEntropy: label smoothing %v outside [0, 1]", eps))
	}

	// The normalizer Σ_i w[t_i] (or the count) is needed before any gradient.
	var denom float64
	for i := 0; i < n; i++ {
		t := targets[i]
		if opt.ignored(t) {
			continue
		}
		if int(t) >= classes {
			panic(fmt.Sprintf("rnn: SoftmaxCrossEntropy: target %d at row %d out of range [0, %d)", t, i, classes))
		}
		count++
		if w != nil {
			denom += float64(w[t])
		} else {
			denom++
		}
	}
	if count == 0 || denom == 0 {
		if dlogits != nil {
			clear(dlogits[:n*classes])
		}
		return 0, count
	}

	// Σ_c w[c], the weight of the uniform part of the smoothed target.
	sumW := float64(classes)
	if w != nil {
		sumW = 0
		for _, v := range w {
			sumW += float64(v)
		}
	}
	smooth := eps / float64(classes)
	inv := 1 / denom

	// Rows are independent: large problems run them in parallel, each loss
	// goes to its own slot, and the slots are summed in order, so the result
	// does not depend on the number of threads.
	lb := rowLossPool.Get().(*[]float64)
	if cap(*lb) < n {
		*lb = make([]float64, n)
	}
	r := ceRows{dlogits: dlogits, logits: logits, targets: targets, classes: classes, opt: opt,
		eps: eps, smooth: smooth, sumW: sumW, inv: inv, losses: (*lb)[:n]}
	if n*classes < parallelSoftmax {
		r.rows(0, n)
	} else {
		rp := new(ceRows)
		*rp = r
		kernel.ParallelFor(n, max(1, parallelSoftmax/4/classes), rp.rows)
	}
	var total float64
	for _, l := range r.losses {
		total += l
	}
	rowLossPool.Put(lb)
	return total * inv, count
}

// parallelSoftmax is the size (rows × classes) from which the softmax
// losses split their rows over goroutines.
const parallelSoftmax = 1 << 16

// ceRows is the per-row part of SoftmaxCrossEntropy.
type ceRows struct {
	dlogits, logits        []float32
	targets                []int32
	classes                int
	opt                    CrossEntropyOptions
	eps, smooth, sumW, inv float64
	losses                 []float64
}

// rows computes the loss of rows [lo, hi) into r.losses and their gradient.
func (r *ceRows) rows(lo, hi int) {
	classes := r.classes
	for i := lo; i < hi; i++ {
		t := r.targets[i]
		z := r.logits[i*classes : (i+1)*classes]
		var d []float32
		if r.dlogits != nil {
			d = r.dlogits[i*classes : (i+1)*classes]
		}
		r.losses[i] = 0
		if r.opt.ignored(t) {
			clear(d)
			continue
		}
		// Everything that reads z is done before d (which may alias z) is written.
		zt := float64(z[t])
		var sz float64 // Σ_c w[c]·z[c], for the smoothing term
		if r.eps != 0 {
			if r.opt.ClassWeights != nil {
				for c, v := range z {
					sz += float64(r.opt.ClassWeights[c]) * float64(v)
				}
			} else {
				for _, v := range z {
					sz += float64(v)
				}
			}
		}
		m := maxOf(z)
		s := expShiftSum(d, z, m) // Σ exp(z - m); d (if any) holds exp(z - m)
		lse := float64(m) + math.Log(s)
		wt := 1.0
		if r.opt.ClassWeights != nil {
			wt = float64(r.opt.ClassWeights[t])
		}
		// -log p[t] = lse - z[t]; Σ_c w[c]·(-log p[c]) = lse·Σw - Σ_c w[c]·z[c]
		l := (1 - r.eps) * wt * (lse - zt)
		if r.eps != 0 {
			l += r.smooth * (lse*r.sumW - sz)
		}
		r.losses[i] = l
		if d == nil {
			continue
		}
		a := (1 - r.eps) * wt // coefficient of p_k beside the smoothing one
		coef := (a + r.smooth*r.sumW) / s * r.inv
		if r.eps != 0 && r.opt.ClassWeights != nil {
			for k, e := range d {
				d[k] = float32(coef*float64(e) - r.smooth*float64(r.opt.ClassWeights[k])*r.inv)
			}
		} else {
			c32, off := float32(coef), float32(r.smooth*r.inv)
			for k, e := range d {
				d[k] = c32*e - off
			}
		}
		d[t] -= float32(a * r.inv)
	}
}

var rowLossPool = sync.Pool{New: func() any { return new([]float64) }}

// rowLogSumExp returns log Σ exp(z), stably (max subtracted).
func rowLogSumExp(z []float32) float64 {
	m := maxOf(z)
	if math.IsInf(float64(m), 0) {
		return float64(m)
	}
	return float64(m) + math.Log(expShiftSum(nil, z, m))
}

// LogSumExp returns log Σ_c exp(z[c]), computed as LogSoftmax computes it
// for each row: float32(float64(z[c]) - LogSumExp(z)) is LogSoftmax's
// value for c, bit for bit. A caller that needs the log-probability of
// only a few classes (a greedy decoder: the best one) can skip writing the
// rest.
func LogSumExp(z []float32) float64 { return rowLogSumExp(z) }

// LogSumExpMax is LogSumExp that also returns the largest element of z,
// which it finds on the way.
func LogSumExpMax(z []float32) (float64, float32) {
	m := maxOf(z)
	if math.IsInf(float64(m), 0) {
		return float64(m), m
	}
	return float64(m) + math.Log(expShiftSum(nil, z, m)), m
}

// LogSoftmax writes the row-wise log-softmax of logits into dst:
// dst[i,c] = z[i,c] - log Σ_k exp(z[i,k]).
//
//	logits, dst: (n, classes); dst may alias logits.
func LogSoftmax(dst, logits []float32, n, classes int) {
	checkSoftmaxRows("LogSoftmax", dst, logits, n, classes)
	rows := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			z := logits[i*classes : (i+1)*classes]
			d := dst[i*classes : (i+1)*classes]
			lse := rowLogSumExp(z)
			for c, v := range z {
				d[c] = float32(float64(v) - lse)
			}
		}
	}
	if n*classes < parallelSoftmax {
		rows(0, n)
		return
	}
	kernel.ParallelFor(n, max(1, parallelSoftmax/4/classes), rows)
}

// Softmax writes the row-wise softmax of logits into dst:
// dst[i,c] = exp(z[i,c] - max_i) / Σ_k exp(z[i,k] - max_i).
//
//	logits, dst: (n, classes); dst may alias logits.
func Softmax(dst, logits []float32, n, classes int) {
	checkSoftmaxRows("Softmax", dst, logits, n, classes)
	for i := 0; i < n; i++ {
		z := logits[i*classes : (i+1)*classes]
		d := dst[i*classes : (i+1)*classes]
		s := expShiftSum(d, z, maxOf(z))
		r := float32(1 / s)
		for c := range d {
			d[c] *= r
		}
	}
}

func checkSoftmaxRows(op string, dst, src []float32, n, classes int) {
	if n < 0 || classes <= 0 || len(src) < n*classes || len(dst) < n*classes {
		panic(fmt.Sprintf("rnn: %s: n=%d, classes=%d but len(logits)=%d, len(dst)=%d", op, n, classes, len(src), len(dst)))
	}
}

// BCEWithLogits is the mean binary cross entropy between sigmoid(logits) and
// targets in [0, 1], as torch.nn.functional.binary_cross_entropy_with_logits
// (reduction "mean", no weights), computed stably as
//
//	ℓ = max(x, 0) - x·y + log(1 + exp(-|x|)).
//
// It writes ∂loss/∂x = (sigmoid(x) - y)/N into d unless d is nil.
//
//	logits, targets, d: (N); d may alias logits.
func BCEWithLogits(d, logits, targets []float32) float64 {
	n := len(logits)
	if len(targets) != n || (d != nil && len(d) != n) {
		panic(fmt.Sprintf("rnn: BCEWithLogits: len(logits)=%d, len(targets)=%d, len(d)=%d", n, len(targets), len(d)))
	}
	if n == 0 {
		return 0
	}
	inv := 1 / float64(n)
	var total float64
	for i, v := range logits {
		x, y := float64(v), float64(targets[i])
		total += math.Max(x, 0) - x*y + math.Log1p(math.Exp(-math.Abs(x)))
		if d != nil {
			var s float64 // sigmoid(x), stable on both sides
			if x >= 0 {
				s = 1 / (1 + math.Exp(-x))
			} else {
				e := math.Exp(x)
				s = e / (1 + e)
			}
			d[i] = float32((s - y) * inv)
		}
	}
	return total * inv
}

// MSE is the mean squared error Σ (pred - target)² / N, as
// torch.nn.functional.mse_loss. It writes ∂loss/∂pred = 2(pred - target)/N
// into d unless d is nil.
//
//	pred, target, d: (N); d may alias pred.
func MSE(d, pred, target []float32) float64 {
	n := len(pred)
	if len(target) != n || (d != nil && len(d) != n) {
		panic(fmt.Sprintf("rnn: MSE: len(pred)=%d, len(target)=%d, len(d)=%d", n, len(target), len(d)))
	}
	if n == 0 {
		return 0
	}
	inv := 1 / float64(n)
	var total float64
	for i, p := range pred {
		e := float64(p) - float64(target[i])
		total += e * e
		if d != nil {
			d[i] = float32(2 * e * inv)
		}
	}
	return total * inv
}
