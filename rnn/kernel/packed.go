package kernel

import "gonum.org/v1/gonum/blas"

// PackedB is a right-hand operand op(B): (k, n) laid out once in the
// micro-kernel's panel order, for many products with the same B. Sgemm packs
// B afresh on every call; that is cheap when many rows of A share it, but
// costs as much as the product itself when A has few rows, as in a decoder
// that multiplies a handful of states by a large, fixed output matrix at
// every step. A PackedB is a copy: later changes to B do not reach it.
//
// A PackedB is read-only once packed and may be used by many goroutines.
type PackedB struct {
	k, n int
	kern *microKernel
	data []float32 // for each kc block of k: ceil(n/nr) panels of (kb, nr), k-major
	job  packJob
}

// packJob packs kc blocks [lo, hi) of B into its PackedB (a Ranger, so that
// packing allocates nothing).
type packJob struct {
	p   *PackedB
	bT  bool
	b   []float32
	ldb int
}

func (j *packJob) Range(lo, hi int) {
	p := j.p
	kc, nr := p.kern.kc, p.kern.nr
	w := roundUp(p.n, nr)
	for blk := lo; blk < hi; blk++ {
		pc := blk * kc
		packB(j.bT, j.b, j.ldb, pc, 0, min(kc, p.k-pc), p.n, nr, p.data[pc*w:])
	}
}

// PackB packs op(B): (k, n), stored (k, n) if tB == blas.NoTrans, else (n, k),
// with leading dimension ldb. dst, if not nil, is reused (its buffer too
// when large enough); the result is returned.
func PackB(dst *PackedB, tB blas.Transpose, k, n int, b []float32, ldb int) *PackedB {
	bT := tB != blas.NoTrans
	if tB != blas.NoTrans && tB != blas.Trans && tB != blas.ConjTrans {
		panic(ErrTranspose)
	}
	if k <= 0 || n <= 0 {
		panic(ErrShape)
	}
	rows, cols := k, n
	if bT {
		rows, cols = n, k
	}
	if ldb < max(cols, 1) {
		panic(ErrStride)
	}
	if len(b) < (rows-1)*ldb+cols {
		panic(ErrShort)
	}
	if dst == nil {
		dst = new(PackedB)
	}
	kern := defaultKernel
	dst.k, dst.n, dst.kern = k, n, kern
	w := roundUp(n, kern.nr)
	dst.data = grow(dst.data, w*k)
	dst.job = packJob{p: dst, bT: bT, b: b, ldb: ldb}
	Parallel(ceilDiv(k, kern.kc), 1, &dst.job)
	dst.job = packJob{} // keep no reference to b
	return dst
}

// K and N return the shape of op(B).
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of op(B).
func (p *PackedB) N() int { return p.n }

// block returns the packed panels of rows [pc, pc+kc) starting at column
// col (a multiple of nr).
func (p *PackedB) block(pc, col int) []float32 {
	kb := min(p.kern.kc, p.k-pc)
	return p.data[pc*roundUp(p.n, p.kern.nr)+col*kb:]
}

// SameAsSgemm reports whether SgemmPacked with p gives, for m > 1, exactly
// the bits Sgemm gives with the matrix p was packed from. It does unless
// the last column panel holds only one or two columns, which Sgemm
// computes as matrix-vector products (they round differently).
func (p *PackedB) SameAsSgemm() bool {
	r := p.n % p.kern.nr
	return !(r > 0 && r <= 2 && p.kern.nr >= 16)
}

// SgemmPacked computes C = alpha*op(A)*op(B) + beta*C like Sgemm, with op(B)
// taken from pb: op(A): (m, pb.K()), C: (m, pb.N()). For m > 1 the result
// is bit-identical to Sgemm's with the B that pb was packed from when
// pb.SameAsSgemm() (for m == 1 Sgemm takes a matrix-vector path that
// rounds differently).
func SgemmPacked(tA blas.Transpose, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	n, k := pb.n, pb.k
	aT, _ := checkGemm(tA, blas.NoTrans, m, n, k, a, lda, pb.data, n, c, ldc) // pb.data holds at least k·n values
	if m == 0 {
		return
	}
	if alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	gemmParallel(gemmJob{kern: pb.kern, aT: aT, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, pb: pb, beta: beta, c: c, ldc: ldc})
}
