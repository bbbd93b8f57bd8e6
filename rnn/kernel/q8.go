package kernel

import (
	"math"
	"sync"
)

// int8 inference: the scheme of PyTorch's quantize_dynamic (fbgemm).
//
// Weights are quantized once, per output channel (row j of W: (N, K)) and
// symmetrically: qw[j,k] = round(w[j,k]/sw[j]), sw[j] = max_k |w[j,k]|/127,
// so qw is in [-127, 127]. Activations are quantized at every call, per row
// of x: (M, K) and asymmetrically over [min(x_i, 0), max(x_i, 0)] into
// unsigned 7-bit values qa[i,k] = clamp(round(x[i,k]/sa[i]) + zp[i], 0, 127),
// sa[i] = (hi-lo)/127 (zero is exact). The products are summed in int32:
//
//	acc[i,j] = Σ_k qa[i,k]·qw[j,k]
//	y[i,j]  += float32(acc[i,j] - zp[i]·Σ_k qw[j,k]) · (sa[i]·sw[j])
//
// Why unsigned 7-bit activations and signed 8-bit weights: AVX2's only
// byte multiply, VPMADDUBSW, takes one unsigned and one signed operand and
// adds adjacent products into saturating 16-bit lanes. With activations in
// [0, 127] and weights in [-127, 127] the pair sum is at most 32258, so it
// never saturates and the int32 result is exact; one VPMADDUBSW, one
// VPMADDWD (by ones) and one VPADDD do 32 multiply-adds, two of them on
// the multiply ports. The alternative, widening both to int16 and using
// VPMADDWD alone, needs a VPMOVSXBW per weight load and does 16
// multiply-adds per VPMADDWD: half the rate on the same ports (it was not
// built; BenchmarkQ8MulAdd gives this scheme against float32 Sgemm).
// 8-bit unsigned activations would overflow the pair sum (2·255·127), and
// 7-bit weights would cost weight precision, which matters more than the
// activations' because it is fixed; fbgemm's choice (reduce_range) is the
// same. An asymmetric 7-bit range has the resolution of a symmetric 8-bit
// one, (hi-lo)/127 against 2·max|x|/254, and is finer on one-sided rows.
//
// Every result is computed the same way on every path: the pure-Go kernels
// below give the same int32 sums and, since the epilogue is the same three
// float32 roundings (no fused multiply-add), the same bits as the AVX2 ones.

// q8nr is the number of output columns of a packed weight panel.
const q8nr = 16

// QMatrix is a weight matrix W: (N, K) quantized to int8 per output row and
// laid out for the int8 kernels: panels of 16 rows, each (ceil(K/4), 16, 4)
// bytes. It is read-only once built and may be used by many goroutines.
type QMatrix struct {
	N, K   int
	kq     int       // ceil(K/4): 4-byte groups per row
	w      []int8    // (ceil(N/16), kq, 16, 4), zero padded
	scale  []float32 // (ceil(N/16)*16): sw, 0 in padding
	colsum []int32   // (ceil(N/16)*16): Σ_k qw[j,k]
}

// QuantizeWeights quantizes w: (n, k) with row stride ldw. Large matrices
// are quantized on the pool's goroutines, rows split among them (the rows
// are independent, so the result does not depend on the split).
func QuantizeWeights(n, k int, w []float32, ldw int) *QMatrix {
	if n <= 0 || k <= 0 || ldw < k || len(w) < (n-1)*ldw+k {
		panic(ErrShort)
	}
	kq := ceilDiv(k, 4)
	np := ceilDiv(n, q8nr) * q8nr
	q := &QMatrix{N: n, K: k, kq: kq, w: make([]int8, np*kq*4), scale: make([]float32, np), colsum: make([]int32, np)}
	rows := func(lo, hi int) {
		for j := lo; j < hi; j++ {
			q.quantizeRow(j, w[j*ldw:j*ldw+k])
		}
	}
	if n*k >= parQuantize && numThreads() > 1 {
		ParallelFor(n, max(1, parQuantize/(4*k)), rows)
	} else {
		rows(0, n)
	}
	return q
}

// NewQMatrix packs weights already quantized as QuantizeWeights does (an
// int8 model file's): q (n, k) row-major, int8 values in [-127, 127], and
// one scale per row, w[j,k] = q[j,k]·scale[j]. Nothing is rounded, so the
// matrix holds exactly the stored values.
func NewQMatrix(n, k int, q []int8, scale []float32) *QMatrix {
	if n <= 0 || k <= 0 || len(q) < n*k || len(scale) < n {
		panic(ErrShort)
	}
	kq := ceilDiv(k, 4)
	np := ceilDiv(n, q8nr) * q8nr
	m := &QMatrix{N: n, K: k, kq: kq, w: make([]int8, np*kq*4), scale: make([]float32, np), colsum: make([]int32, np)}
	copy(m.scale, scale[:n])
	for j := range n {
		row := q[j*k : (j+1)*k]
		dst := m.w[(j/q8nr)*kq*q8nr*4+(j%q8nr)*4:]
		var sum int32
		full := k &^ 3
		for p := 0; p < full; p += 4 {
			d := dst[(p>>2)*q8nr*4:][:4:4]
			r := row[p : p+4 : p+4]
			d[0], d[1], d[2], d[3] = r[0], r[1], r[2], r[3]
			sum += int32(r[0]) + int32(r[1]) + int32(r[2]) + int32(r[3])
		}
		for p := full; p < k; p++ {
			dst[(p>>2)*q8nr*4+(p&3)] = row[p]
			sum += int32(row[p])
		}
		m.colsum[j] = sum
	}
	return m
}

// parQuantize is the size (N·K weights) from which QuantizeWeights splits
// its rows over the pool.
const parQuantize = 1 << 16

// quantizeRow sets row j of q from the float weights row: its scale
// max|w|/127, each weight divided by it and rounded half to even into
// [-127, 127], and the row's sum. The rounding adds and subtracts 1.5·2²³
// in float32, which rounds |x| < 2²² half to even exactly as
// math.RoundToEven does; |x| here is at most 127 (and NaN or ±Inf, from a
// row with one, stay so through both, as through math.RoundToEven).
func (q *QMatrix) quantizeRow(j int, row []float32) {
	// max |w| on the bits: for |w| (sign cleared) the float32 order is the
	// uint32 order, NaN above +Inf, so the maximum is NaN when the row has
	// one, as the float max would give, without its branches.
	var mb uint32
	for _, v := range row {
		mb = max(mb, math.Float32bits(v)&^(1<<31))
	}
	mx := math.Float32frombits(mb)
	if mx == 0 {
		return
	}
	s := mx / 127
	q.scale[j] = s
	inv := 1 / s
	const magic = 1.5 * (1 << 23)
	round := func(v float32) int32 {
		r := int32((v*inv + magic) - magic)
		return max(-127, min(127, r))
	}
	dst := q.w[(j/q8nr)*q.kq*q8nr*4+(j%q8nr)*4:]
	var sum int32
	full := len(row) &^ 3
	for p := 0; p < full; p += 4 {
		// Weights p..p+3 of the row are the row's 4 bytes of group p/4.
		d := dst[(p>>2)*q8nr*4:][:4:4]
		w := row[p : p+4 : p+4]
		r0, r1, r2, r3 := round(w[0]), round(w[1]), round(w[2]), round(w[3])
		d[0], d[1], d[2], d[3] = int8(r0), int8(r1), int8(r2), int8(r3)
		sum += r0 + r1 + r2 + r3
	}
	for p := full; p < len(row); p++ {
		r := round(row[p])
		dst[(p>>2)*q8nr*4+(p&3)] = int8(r)
		sum += r
	}
	q.colsum[j] = sum
}

// Weight returns the dequantized weight w[j,k] = qw[j,k]·sw[j].
func (q *QMatrix) Weight(j, k int) float32 {
	return float32(q.qw(j, k)) * q.scale[j]
}

func (q *QMatrix) qw(j, k int) int8 {
	return q.w[(j/q8nr)*q.kq*q8nr*4+(k/4)*q8nr*4+(j%q8nr)*4+k%4]
}

// Bytes is the memory the quantized weights hold.
func (q *QMatrix) Bytes() int { return len(q.w) + 8*len(q.scale) }

// QBuf is the workspace of QMatrix.MulAdd: the quantized activations. It
// grows to the largest batch seen; the zero value is ready to use. A QBuf
// is used by one goroutine at a time.
type QBuf struct {
	a    []uint8   // (ceil(M/4)*4, kq*4), zero padded
	sa   []float32 // (ceil(M/4)*4)
	zp   []int32   // (ceil(M/4)*4)
	acc  []int32   // (64) the single-row kernel's sums
	tile []float32 // (4*16) C of an edge tile
	lda  int
}

// quantize fills b with the activations x: (m, k), row stride ldx.
func (b *QBuf) quantize(m, k, kq int, x []float32, ldx int) {
	mp := ceilDiv(m, 4) * 4
	lda := kq * 4
	b.lda = lda
	if cap(b.a) < mp*lda {
		b.a = make([]uint8, mp*lda)
	}
	b.a = b.a[:mp*lda]
	if cap(b.sa) < mp {
		b.sa, b.zp = make([]float32, mp), make([]int32, mp)
	}
	b.sa, b.zp = b.sa[:mp], b.zp[:mp]
	if b.acc == nil {
		b.acc = make([]int32, 4*q8nr)
		b.tile = make([]float32, 4*q8nr)
	}
	if m*k >= parQ8Quant && numThreads() > 1 {
		j := q8QuantJobs.Get().(*q8QuantJob)
		*j = q8QuantJob{b: b, k: k, x: x, ldx: ldx}
		Parallel(m, 64, j)
		*j = q8QuantJob{}
		q8QuantJobs.Put(j)
	} else {
		b.quantizeRows(0, m, k, x, ldx)
	}
	for i := m; i < mp; i++ {
		clear(b.a[i*lda : (i+1)*lda])
		b.sa[i], b.zp[i] = 0, 0
	}
}

// parQ8Quant is the size (m·k) from which the activations are quantized
// on the pool's goroutines: a sentiment batch's input projection.
const parQ8Quant = 1 << 16

type q8QuantJob struct {
	b      *QBuf
	k, ldx int
	x      []float32
}

var q8QuantJobs = sync.Pool{New: func() any { return new(q8QuantJob) }}

func (j *q8QuantJob) Range(lo, hi int) { j.b.quantizeRows(lo, hi, j.k, j.x, j.ldx) }

func (b *QBuf) quantizeRows(lo, hi, k int, x []float32, ldx int) {
	lda := b.lda
	for i := lo; i < hi; i++ {
		row := x[i*ldx : i*ldx+k]
		mn, mx := minMax(row)
		mn, mx = min(mn, 0), max(mx, 0)
		dst := b.a[i*lda : (i+1)*lda]
		if mx == mn || mx-mn != mx-mn { // all zero, or NaN/Inf: no information to keep
			clear(dst)
			b.sa[i], b.zp[i] = 0, 0
			continue
		}
		s := (mx - mn) / 127
		inv := 1 / s
		zp := int32(math.RoundToEven(float64(float32(-mn * inv))))
		zp = max(0, min(127, zp))
		b.sa[i], b.zp[i] = s, zp
		quantRow(dst[:k], row, inv, zp)
		clear(dst[k:])
	}
}

// QuantizeRow quantizes one activation row as MulAdd does and returns its
// scale and zero point: x[k] ≈ (int(dst[k]) - zp)·scale.
func QuantizeRow(dst []uint8, x []float32) (scale float32, zp int32) {
	var b QBuf
	kq := ceilDiv(len(x), 4)
	b.quantize(1, len(x), kq, x, len(x))
	copy(dst, b.a[:len(x)])
	return b.sa[0], b.zp[0]
}

func minMaxGo(x []float32) (lo, hi float32) {
	lo, hi = x[0], x[0]
	for _, v := range x[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func quantRowGo(dst []uint8, x []float32, inv float32, zp int32) {
	for i, v := range x {
		r := int32(math.RoundToEven(float64(float32(v*inv)))) + zp
		dst[i] = uint8(max(0, min(127, r)))
	}
}

// MulAdd computes c += dequant(quant(x) · Qᵀ): for x: (m, K) with row
// stride ldx and c: (m, N) with row stride ldc, c[i,j] += Σ_k x[i,k]·w[j,k]
// up to the quantization of both. buf holds the quantized x; nothing else
// is allocated once it has grown. Large products are split over the pool's
// goroutines, each output computed the same way whatever the split.
func (q *QMatrix) MulAdd(m int, x []float32, ldx int, c []float32, ldc int, buf *QBuf) {
	q.mul(m, x, ldx, c, ldc, buf, true)
}

// Mul is MulAdd that overwrites c: c = dequant(quant(x) · Qᵀ).
func (q *QMatrix) Mul(m int, x []float32, ldx int, c []float32, ldc int, buf *QBuf) {
	q.mul(m, x, ldx, c, ldc, buf, false)
}

func (q *QMatrix) mul(m int, x []float32, ldx int, c []float32, ldc int, buf *QBuf, add bool) {
	if m == 0 {
		return
	}
	if m < 0 || ldx < q.K || ldc < q.N || len(x) < (m-1)*ldx+q.K || len(c) < (m-1)*ldc+q.N {
		panic(ErrShort)
	}
	buf.quantize(m, q.K, q.kq, x, ldx)
	panels := ceilDiv(q.N, q8nr)
	if m == 1 {
		if !add {
			clear(c[:q.N])
		}
		q.gemv(buf, c)
		return
	}
	// Work items: (block of up to q8mc rows) × (panel), panels inner, so a
	// goroutine's run of items reuses one block of activations.
	rb := ceilDiv(m, q8mc)
	items := rb * panels
	work := min(m, q8mc) * q8nr * q.kq * 4
	grain := max(1, (1<<18)/work)
	j := q8Jobs.Get().(*q8Job)
	*j = q8Job{q: q, buf: buf, m: m, c: c, ldc: ldc, panels: panels, add: add}
	if items >= 2*grain && numThreads() > 1 {
		Parallel(items, grain, j)
	} else {
		j.Range(0, items)
	}
	*j = q8Job{}
	q8Jobs.Put(j)
}

// q8mc is the number of activation rows a work item covers.
const q8mc = 128

type q8Job struct {
	q      *QMatrix
	buf    *QBuf
	m, ldc int
	panels int
	c      []float32
	add    bool // MulAdd, not Mul
}

var q8Jobs = sync.Pool{New: func() any { return new(q8Job) }}

func (j *q8Job) Range(lo, hi int) {
	var tile [4 * q8nr]float32 // an edge tile's C, on this goroutine's stack
	q, b := j.q, j.buf
	pw := q.kq * q8nr * 4
	for it := lo; it < hi; it++ {
		r0, p := (it/j.panels)*q8mc, it%j.panels
		r1 := min(r0+q8mc, j.m)
		n0 := p * q8nr
		nw := min(q8nr, q.N-n0)
		w := q.w[p*pw : (p+1)*pw]
		for i := r0; i < r1; i += 4 {
			mr := min(4, r1-i)
			a := b.a[i*b.lda:]
			if mr == 4 && nw == q8nr {
				q8Tile(q.kq, a, b.lda, w, b.zp[i:i+4], q.colsum[n0:n0+q8nr], b.sa[i:i+4], q.scale[n0:n0+q8nr], j.c[i*j.ldc+n0:], j.ldc, j.add)
				continue
			}
			for r := 0; r < mr; r++ {
				copy(tile[r*q8nr:r*q8nr+nw], j.c[(i+r)*j.ldc+n0:(i+r)*j.ldc+n0+nw])
			}
			q8Tile(q.kq, a, b.lda, w, b.zp[i:i+4], q.colsum[n0:n0+q8nr], b.sa[i:i+4], q.scale[n0:n0+q8nr], tile[:], q8nr, j.add)
			for r := 0; r < mr; r++ {
				copy(j.c[(i+r)*j.ldc+n0:(i+r)*j.ldc+n0+nw], tile[r*q8nr:r*q8nr+nw])
			}
		}
	}
}

// gemv is MulAdd for one row: four panels per step of the single-row
// kernel, groups of four panels split over the pool's goroutines when the
// matrix is large.
func (q *QMatrix) gemv(b *QBuf, c []float32) {
	groups := ceilDiv(ceilDiv(q.N, q8nr), 4)
	if q.N*q.K < parQ8Gemv || numThreads() == 1 {
		q.gemvGroups(b, c, 0, groups, b.acc)
		return
	}
	j := q8GemvJobs.Get().(*q8GemvJob)
	*j = q8GemvJob{q: q, b: b, c: c}
	Parallel(groups, 1, j)
	*j = q8GemvJob{}
	q8GemvJobs.Put(j)
}

// parQ8Gemv is the size (N·K weights) from which gemv splits the panels.
const parQ8Gemv = 1 << 18

type q8GemvJob struct {
	q *QMatrix
	b *QBuf
	c []float32
}

var q8GemvJobs = sync.Pool{New: func() any { return new(q8GemvJob) }}

func (j *q8GemvJob) Range(lo, hi int) {
	var acc [4 * q8nr]int32
	j.q.gemvGroups(j.b, j.c, lo, hi, acc[:])
}

// gemvGroups computes the columns of panel groups [g0, g1) (4 panels each).
func (q *QMatrix) gemvGroups(b *QBuf, c []float32, g0, g1 int, acc []int32) {
	panels := ceilDiv(q.N, q8nr)
	pw := q.kq * q8nr * 4
	zp, sa := b.zp[0], b.sa[0]
	for p := 4 * g0; p < min(4*g1, panels); {
		stride, np := pw, 4
		if panels-p < 4 {
			stride, np = 0, 1 // the last panels one at a time
		}
		q8Row(q.kq, b.a, q.w[p*pw:], stride, acc)
		for t := 0; t < np*q8nr; t++ {
			j := p*q8nr + t
			if j >= q.N {
				break
			}
			f := float32(acc[t] - zp*q.colsum[j])
			c[j] = c[j] + float32(f*float32(sa*q.scale[j]))
		}
		p += np
	}
}

// q8TileGo is the pure-Go 4x16 kernel: the semantics of q8Kernel4x16.
//
//	a: 4 rows of stride lda (kq*4 bytes each), w: one panel (kq, 16, 4),
//	zp, sa: (4), colsum, sw: (16), c: 4 rows of 16, stride ldc;
//	c += the product if add, else c = the product.
func q8TileGo(kq int, a []uint8, lda int, w []int8, zp, colsum []int32, sa, sw []float32, c []float32, ldc int, add bool) {
	var acc [4][q8nr]int32
	for p := 0; p < kq; p++ {
		wp := w[p*q8nr*4 : (p+1)*q8nr*4]
		for r := 0; r < 4; r++ {
			ar := a[r*lda+p*4 : r*lda+p*4+4]
			a0, a1, a2, a3 := int32(ar[0]), int32(ar[1]), int32(ar[2]), int32(ar[3])
			for j := 0; j < q8nr; j++ {
				wj := wp[j*4 : j*4+4]
				acc[r][j] += a0*int32(wj[0]) + a1*int32(wj[1]) + a2*int32(wj[2]) + a3*int32(wj[3])
			}
		}
	}
	for r := 0; r < 4; r++ {
		for j := 0; j < q8nr; j++ {
			f := float32(acc[r][j] - zp[r]*colsum[j])
			s := float32(sa[r] * sw[j])
			if add {
				c[r*ldc+j] = c[r*ldc+j] + float32(f*s)
			} else {
				c[r*ldc+j] = float32(f * s)
			}
		}
	}
}

// q8RowGo is the pure-Go single-row kernel: the semantics of q8Kernel1x64
// (acc[e*16+j] for the 4 panels at w[e*pstride:]).
func q8RowGo(kq int, a []uint8, w []int8, pstride int, acc []int32) {
	for e := 0; e < 4; e++ {
		pw := w[e*pstride:]
		for j := 0; j < q8nr; j++ {
			var s int32
			for p := 0; p < kq; p++ {
				wj := pw[p*q8nr*4+j*4:]
				ap := a[p*4:]
				s += int32(ap[0])*int32(wj[0]) + int32(ap[1])*int32(wj[1]) + int32(ap[2])*int32(wj[2]) + int32(ap[3])*int32(wj[3])
			}
			acc[e*q8nr+j] = s
		}
	}
}

// Q8MulAddNaive is the reference for QMatrix.MulAdd: the same quantization
// of x, plain loops over the unpacked integers, the same epilogue.
func Q8MulAddNaive(q *QMatrix, m int, x []float32, ldx int, c []float32, ldc int) {
	qa := make([]uint8, q.K)
	for i := 0; i < m; i++ {
		row := x[i*ldx : i*ldx+q.K]
		mn, mx := minMaxGo(row)
		mn, mx = min(mn, 0), max(mx, 0)
		var sa float32
		var zp int32
		if mx != mn && mx-mn == mx-mn {
			sa = (mx - mn) / 127
			inv := 1 / sa
			zp = max(0, min(127, int32(math.RoundToEven(float64(float32(-mn*inv))))))
			quantRowGo(qa, row, inv, zp)
		} else {
			clear(qa)
		}
		for j := 0; j < q.N; j++ {
			var acc int32
			for k := 0; k < q.K; k++ {
				acc += int32(qa[k]) * int32(q.qw(j, k))
			}
			f := float32(acc - zp*q.colsum[j])
			c[i*ldc+j] = c[i*ldc+j] + float32(f*float32(sa*q.scale[j]))
		}
	}
}
