package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// Sampled softmax: the cross entropy of an output layer over a large
// vocabulary estimated from the true class and a few hundred classes drawn
// from a proposal distribution, so that a training step costs O(S·D) per
// row instead of O(V·D). Evaluation uses the full softmax (FullLoss).
//
// Why sampled softmax rather than an adaptive softmax (Grave et al. 2017):
// it keeps the output layer an ordinary (V, D) matrix, so it can be tied to
// the input embedding and loaded into torch as nn.Linear; it needs no
// frequency clusters fixed at model creation; and the exact full softmax
// remains the evaluation metric, so validation perplexities are comparable
// with any other language model's.

// Sampler draws classes in [0, N) independently from a fixed proposal
// distribution Q and reports Q(k) for the logQ correction. It is immutable
// after construction and safe for concurrent use (each caller brings its
// own random source).
type Sampler struct {
	q     []float64 // Q(k)
	prob  []float64 // alias method: acceptance probability of column k
	alias []int32   // alias method: the other class of column k
	logN1 float64   // log-uniform: log(N+1); 0 for an alias table
}

// NewLogUniformSampler returns the log-uniform (Zipfian) proposal over n
// classes, TF's log_uniform_candidate_sampler:
//
//	Q(k) = log((k+2)/(k+1)) / log(n+1)
//
// It suits vocabularies whose ids are sorted by decreasing frequency (the
// word tokenizer's, after its special tokens).
func NewLogUniformSampler(n int) *Sampler {
	if n <= 0 {
		panic(fmt.Sprintf("rnn: NewLogUniformSampler: %d classes", n))
	}
	s := &Sampler{q: make([]float64, n), logN1: math.Log(float64(n) + 1)}
	for k := range s.q {
		s.q[k] = (math.Log(float64(k)+2) - math.Log(float64(k)+1)) / s.logN1
	}
	return s
}

// NewUnigramSampler returns the proposal Q(k) = w[k] / Σ w, drawn in O(1)
// by Vose's alias method. For a language model w[k] = count(k)^0.75, the
// word2vec noise distribution. Weights must be finite and non-negative with
// a positive sum; a class of weight 0 is never drawn (it may still be a
// target: SampledSoftmax does not correct the true class).
func NewUnigramSampler(w []float64) *Sampler {
	n := len(w)
	var sum float64
	for k, v := range w {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			panic(fmt.Sprintf("rnn: NewUnigramSampler: weight %v of class %d is not a finite non-negative number", v, k))
		}
		sum += v
	}
	if n == 0 || sum <= 0 {
		panic("rnn: NewUnigramSampler: the weights sum to 0")
	}
	s := &Sampler{q: make([]float64, n), prob: make([]float64, n), alias: make([]int32, n)}
	scaled := make([]float64, n)
	var small, large []int32
	for k, v := range w {
		s.q[k] = v / sum
		scaled[k] = s.q[k] * float64(n)
		if scaled[k] < 1 {
			small = append(small, int32(k))
		} else {
			large = append(large, int32(k))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		l, g := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		s.prob[l], s.alias[l] = scaled[l], g
		scaled[g] -= 1 - scaled[l]
		if scaled[g] < 1 {
			large = large[:len(large)-1]
			small = append(small, g)
		}
	}
	for _, k := range large {
		s.prob[k], s.alias[k] = 1, k
	}
	for _, k := range small { // rounding leftovers
		s.prob[k], s.alias[k] = 1, k
	}
	return s
}

// N is the number of classes.
func (s *Sampler) N() int { return len(s.q) }

// Prob returns Q(k).
func (s *Sampler) Prob(k int32) float64 { return s.q[k] }

// Sample fills dst with independent draws from Q.
func (s *Sampler) Sample(dst []int32, rng *rand.Rand) {
	n := len(s.q)
	if s.logN1 != 0 {
		for i := range dst {
			k := int(math.Exp(rng.Float64()*s.logN1)) - 1
			dst[i] = int32(min(max(k, 0), n-1))
		}
		return
	}
	for i := range dst {
		u := rng.Float64() * float64(n)
		k := min(int(u), n-1)
		if u-float64(k) >= s.prob[k] {
			k = int(s.alias[k])
		}
		dst[i] = int32(k)
	}
}

// SampledSoftmax is the cross entropy of the output layer z = h·Wᵀ + b over
// V classes, fused with that layer: exactly (FullLoss) or by sampled
// softmax (Loss; Jean et al. 2015, Bengio & Senécal 2008). For each call, S
// classes are drawn from the proposal Q with replacement and shared by all
// rows; a class drawn k times becomes one candidate column whose logit gets
// the logQ correction log k - log(S·Q(c)). Row i scores its true class t_i,
// which is always a candidate, against those columns; a column that is t_i
// itself (an accidental hit) is left out:
//
//	Ẑ_i = exp(z_it) + Σ_{c drawn, c ≠ t_i} k_c·exp(z_ic) / (S·Q(c))
//	ℓ_i = log Ẑ_i - z_it
//	loss = Σ_i ℓ_i / count     (rows with a target < 0 are ignored)
//
// Ẑ_i is an unbiased estimate of the full partition function Σ_c exp(z_ic)
// (the true class exactly, the others by importance sampling), so the loss
// converges to the full softmax cross entropy as S grows; with few samples
// it is lower (log of an unbiased estimate, by Jensen). Unlike TF's
// sampled_softmax_loss, the true logit is not corrected by log Q(t_i): that
// correction treats the always-included true class as if it had been drawn,
// and its estimate then converges to something else. Training needs no
// more: the gradient points the same way; evaluation uses FullLoss.
//
// Shapes: W (V, D), B (V) or nil, h and dh (n, D), targets (n). The
// gradients of W and B are accumulated (+=) into their Param.G, touching
// only the rows of the candidate and true classes; dh is written. A
// SampledSoftmax owns scratch buffers: one per goroutine. After the buffers
// have grown, calls allocate nothing.
type SampledSoftmax struct {
	W, B    *Param
	Sampler *Sampler
	Samples int // S, draws per Loss call

	draws   []int32   // (S)
	pos     []int32   // (V): column of class c among the candidates, or -1
	cand    []int32   // (m) candidate classes in order of first draw
	cnt     []int32   // (m) draws of each candidate
	adj     []float32 // (m) column offsets: b[c] + log k - log(S·Q(c))
	wc, dwc []float32 // (m, D) gathered rows of W and their gradient
	zs      []float32 // (n, m) candidate logits, then their gradient
	zt, dzt []float32 // (n) true-class logits and their gradient
	hit     []int32   // (n) column of t_i among the candidates, or -1
	rowLoss []float64 // (n)
	logits  []float32 // FullLoss: (rows, V) block
	rows    sampledRows
}

// NewSampledSoftmax returns the loss over the output layer (w, b) with
// samples draws per call from sampler, whose N must be w's row count.
func NewSampledSoftmax(w, b *Param, sampler *Sampler, samples int) *SampledSoftmax {
	if len(w.Shape) != 2 {
		panic(fmt.Sprintf("rnn: NewSampledSoftmax: weight %q has shape %v, want (V, D)", w.Name, w.Shape))
	}
	V := w.Shape[0]
	if b != nil && b.Size() != V {
		panic(fmt.Sprintf("rnn: NewSampledSoftmax: bias %q has %d values for %d classes", b.Name, b.Size(), V))
	}
	if sampler != nil && sampler.N() != V {
		panic(fmt.Sprintf("rnn: NewSampledSoftmax: the sampler draws from %d classes, the layer has %d", sampler.N(), V))
	}
	if samples < 0 || (samples > 0 && sampler == nil) {
		panic(fmt.Sprintf("rnn: NewSampledSoftmax: %d samples need a sampler", samples))
	}
	return &SampledSoftmax{W: w, B: b, Sampler: sampler, Samples: samples}
}

func (s *SampledSoftmax) dims() (V, D int) { return s.W.Shape[0], s.W.Shape[1] }

func (s *SampledSoftmax) check(op string, dh, h []float32, n int, targets []int32) {
	V, D := s.dims()
	if n < 0 || len(h) < n*D || len(targets) < n || (dh != nil && len(dh) < n*D) {
		panic(fmt.Sprintf("rnn: SampledSoftmax.%s: n=%d, D=%d but len(h)=%d, len(targets)=%d, len(dh)=%d",
			op, n, D, len(h), len(targets), len(dh)))
	}
	for i, t := range targets[:n] {
		if int(t) >= V {
			panic(fmt.Sprintf("rnn: SampledSoftmax.%s: target %d at row %d out of range [0, %d)", op, t, i, V))
		}
	}
}

// Loss draws Samples classes with rng and returns the sampled softmax loss
// of h (n, D) with the targets and the number of rows not ignored. Unless
// dh is nil it writes ∂loss/∂h into dh and accumulates the gradients of W
// and B.
func (s *SampledSoftmax) Loss(dh, h []float32, n int, targets []int32, rng *rand.Rand) (loss float64, count int) {
	if cap(s.draws) < s.Samples {
		s.draws = make([]int32, s.Samples)
	}
	s.draws = s.draws[:s.Samples]
	s.Sampler.Sample(s.draws, rng)
	return s.LossWith(dh, h, n, targets, s.draws)
}

// LossWith is Loss with the draws given (len(draws) is S): the same draws
// give the same loss, which is what a gradient check needs.
func (s *SampledSoftmax) LossWith(dh, h []float32, n int, targets []int32, draws []int32) (loss float64, count int) {
	s.check("LossWith", dh, h, n, targets)
	V, D := s.dims()
	S := len(draws)
	if S == 0 {
		panic("rnn: SampledSoftmax.LossWith: no draws")
	}
	// Candidates: the distinct draws, in order of first appearance.
	if len(s.pos) != V {
		s.pos = make([]int32, V)
		for i := range s.pos {
			s.pos[i] = -1
		}
	}
	s.cand, s.cnt = s.cand[:0], s.cnt[:0]
	for _, c := range draws {
		if c < 0 || int(c) >= V {
			panic(fmt.Sprintf("rnn: SampledSoftmax.LossWith: draw %d out of range [0, %d)", c, V))
		}
		if j := s.pos[c]; j >= 0 {
			s.cnt[j]++
			continue
		}
		s.pos[c] = int32(len(s.cand))
		s.cand = append(s.cand, c)
		s.cnt = append(s.cnt, 1)
	}
	defer func() {
		for _, c := range s.cand {
			s.pos[c] = -1
		}
	}()
	m := len(s.cand)
	logS := math.Log(float64(S))
	// wc (m, D) = W[cand]; zs (n, m) = h·wcᵀ + b[cand] + log k - log(S·Q).
	s.wc = grow(s.wc, m*D)
	for j, c := range s.cand {
		copy(s.wc[j*D:(j+1)*D], s.W.W[int(c)*D:(int(c)+1)*D])
	}
	s.zs = grow(s.zs, n*m)
	s.zt = grow(s.zt, n)
	s.dzt = grow(s.dzt, n)
	if cap(s.hit) < n {
		s.hit = make([]int32, n)
	}
	s.hit = s.hit[:n]
	if n > 0 {
		kernel.Sgemm(blas.NoTrans, blas.Trans, n, m, D, 1, h, D, s.wc, D, 0, s.zs, m)
	}
	s.adj = grow(s.adj, m)
	adj := s.adj
	for j, c := range s.cand {
		q := s.Sampler.Prob(c)
		if q <= 0 {
			panic(fmt.Sprintf("rnn: SampledSoftmax.LossWith: class %d was drawn but has proposal probability 0", c))
		}
		a := math.Log(float64(s.cnt[j])) - logS - math.Log(q)
		if s.B != nil {
			a += float64(s.B.W[c])
		}
		adj[j] = float32(a)
	}
	for i := 0; i < n; i++ {
		row := s.zs[i*m : (i+1)*m]
		for j, a := range adj {
			row[j] += a
		}
		s.hit[i] = -1
		t := targets[i]
		if t < 0 {
			continue
		}
		count++
		z := kernel.Dot(h[i*D:(i+1)*D], s.W.W[int(t)*D:(int(t)+1)*D])
		if s.B != nil {
			z += s.B.W[t]
		}
		s.zt[i] = z
		s.hit[i] = s.pos[t]
	}
	if count == 0 {
		if dh != nil {
			clear(dh[:n*D])
		}
		return 0, 0
	}
	// Per-row softmax over [true, candidates]; rows are independent, each
	// loss goes to its own slot and the slots are summed in order.
	if cap(s.rowLoss) < n {
		s.rowLoss = make([]float64, n)
	}
	s.rowLoss = s.rowLoss[:n]
	s.rows = sampledRows{s: s, targets: targets, m: m, grad: dh != nil, inv: 1 / float64(count)}
	if n*m < parallelSoftmax {
		s.rows.Range(0, n)
	} else {
		kernel.Parallel(n, max(1, parallelSoftmax/4/max(m, 1)), &s.rows)
	}
	s.rows = sampledRows{}
	for _, l := range s.rowLoss {
		loss += l
	}
	loss /= float64(count)
	if dh == nil {
		return loss, count
	}
	s.dwc = grow(s.dwc, m*D)
	// dh (n, D) = dzs (n, m)·wc (m, D) + dzt_i·W[t_i]
	kernel.Sgemm(blas.NoTrans, blas.NoTrans, n, D, m, 1, s.zs, m, s.wc, D, 0, dh, D)
	// dwc (m, D) = dzsᵀ (m, n)·h (n, D), scattered into W.G[cand]
	kernel.Sgemm(blas.Trans, blas.NoTrans, m, D, n, 1, s.zs, m, h, D, 0, s.dwc, D)
	for j, c := range s.cand {
		kernel.Axpy(1, s.dwc[j*D:(j+1)*D], s.W.G[int(c)*D:(int(c)+1)*D])
	}
	if s.B != nil {
		for i := 0; i < n; i++ {
			row := s.zs[i*m : (i+1)*m]
			for j, c := range s.cand {
				s.B.G[c] += row[j]
			}
		}
	}
	for i := 0; i < n; i++ {
		t := targets[i]
		if t < 0 {
			continue
		}
		g := s.dzt[i]
		kernel.Axpy(g, s.W.W[int(t)*D:(int(t)+1)*D], dh[i*D:(i+1)*D])
		kernel.Axpy(g, h[i*D:(i+1)*D], s.W.G[int(t)*D:(int(t)+1)*D])
		if s.B != nil {
			s.B.G[t] += g
		}
	}
	return loss, count
}

// sampledRows is the per-row softmax of LossWith.
type sampledRows struct {
	s       *SampledSoftmax
	targets []int32
	m       int
	grad    bool
	inv     float64
}

func (r *sampledRows) Range(lo, hi int) {
	s, m := r.s, r.m
	for i := lo; i < hi; i++ {
		row := s.zs[i*m : (i+1)*m]
		s.rowLoss[i] = 0
		if r.targets[i] < 0 {
			clear(row)
			s.dzt[i] = 0
			continue
		}
		zt := s.zt[i]
		hit := s.hit[i]
		if hit >= 0 {
			row[hit] = zt - 200 // an accidental hit is no negative: exp underflows to 0
		}
		mx := zt
		if m > 0 {
			mx = max(mx, maxOf(row))
		}
		sum := expShiftSum(row, row, mx) // row now holds exp(z - mx)
		if hit >= 0 {
			sum -= float64(row[hit])
			row[hit] = 0
		}
		et := math.Exp(float64(zt - mx))
		sum += et
		lse := float64(mx) + math.Log(sum)
		s.rowLoss[i] = lse - float64(zt)
		if !r.grad {
			continue
		}
		c := float32(r.inv / sum)
		for j := range row {
			row[j] *= c
		}
		s.dzt[i] = float32((et/sum - 1) * r.inv)
	}
}

// fullChunk is the number of float32 logits FullLoss computes at a time
// (a variable so that tests can make the blocks small).
var fullChunk = 1 << 21

// FullLoss is the exact softmax cross entropy of the layer over all V
// classes (SoftmaxCrossEntropy of h·Wᵀ + b with the default options),
// computed in blocks of rows so that memory stays at a few MB whatever n
// and V. Unless dh is nil it writes ∂loss/∂h and accumulates the gradients
// of W and B. It needs no sampler.
func (s *SampledSoftmax) FullLoss(dh, h []float32, n int, targets []int32) (loss float64, count int) {
	s.check("FullLoss", dh, h, n, targets)
	V, D := s.dims()
	for _, t := range targets[:n] {
		if t >= 0 {
			count++
		}
	}
	if count == 0 {
		if dh != nil {
			clear(dh[:n*D])
		}
		return 0, 0
	}
	R := max(1, fullChunk/V)
	s.logits = grow(s.logits, min(R, n)*V)
	for lo := 0; lo < n; lo += R {
		r := min(R, n-lo)
		hc := h[lo*D : (lo+r)*D]
		z := s.logits[:r*V]
		s.Logits(z, hc, r)
		var dz []float32
		if dh != nil {
			dz = z
		}
		l, c := SoftmaxCrossEntropy(dz, z, targets[lo:lo+r], r, V, CrossEntropyOptions{})
		loss += l * float64(c)
		if dh == nil {
			continue
		}
		// The block's gradient is of its own mean; rescale to the mean over all rows.
		scale := float32(float64(c) / float64(count))
		dhc := dh[lo*D : (lo+r)*D]
		kernel.Sgemm(blas.NoTrans, blas.NoTrans, r, D, V, scale, dz, V, s.W.W, D, 0, dhc, D)
		kernel.Sgemm(blas.Trans, blas.NoTrans, V, D, r, scale, dz, V, hc, D, 1, s.W.G, D)
		if s.B != nil {
			for i := 0; i < r; i++ {
				kernel.Axpy(scale, dz[i*V:(i+1)*V], s.B.G)
			}
		}
	}
	return loss / float64(count), count
}

// Logits writes the full logits z = h·Wᵀ + b of n rows into dst (n, V).
func (s *SampledSoftmax) Logits(dst, h []float32, n int) {
	V, D := s.dims()
	if n < 0 || len(h) < n*D || len(dst) < n*V {
		panic(fmt.Sprintf("rnn: SampledSoftmax.Logits: n=%d, V=%d, D=%d but len(h)=%d, len(dst)=%d", n, V, D, len(h), len(dst)))
	}
	if n == 0 {
		return
	}
	beta := float32(0)
	if s.B != nil {
		for i := 0; i < n; i++ {
			copy(dst[i*V:(i+1)*V], s.B.W)
		}
		beta = 1
	}
	kernel.Sgemm(blas.NoTrans, blas.Trans, n, V, D, 1, h, D, s.W.W, D, beta, dst, V)
}
