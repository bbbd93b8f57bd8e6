package kernel

import (
	"errors"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Programmer errors: the kernels panic with one of these values.
var (
	ErrTranspose = errors.New("kernel: bad transpose flag")
	ErrShape     = errors.New("kernel: negative dimension")
	ErrStride    = errors.New("kernel: leading dimension too small")
	ErrShort     = errors.New("kernel: slice too short for its shape")
	ErrLength    = errors.New("kernel: vector lengths differ")
)

// Implementation is gonum's pure-Go BLAS with Sgemm replaced by this
// package's, so gonum's mat32-style users get it with
//
//	blas32.Use(kernel.Implementation{})
type Implementation struct{ gonum.Implementation }

var _ blas.Float32 = Implementation{}

// Sgemm is Sgemm (the package function) as a blas.Float32Level3 method.
func (Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C with row-major storage and
// gonum's blas.Float32Level3 argument convention:
// op(A): (m, k), op(B): (k, n), C: (m, n);
// A is stored (m, k) if tA == blas.NoTrans, else (k, m); B is stored (k, n)
// if tB == blas.NoTrans, else (n, k). ConjTrans means Trans.
// C must not overlap A or B. When beta == 0, C is not read (NaNs in C are
// overwritten).
func Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	aT, bT := checkGemm(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if m == 1 || n == 1 {
		gemv(aT, bT, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	kern := defaultKernel
	if r := n % kern.nr; r > 0 && r <= 2 && kern.nr >= 16 {
		// A narrow last column panel (n = 65 for a 65-symbol vocabulary)
		// would waste most of a wide tile: do those columns as
		// matrix-vector products.
		gemmParallel(gemmJob{kern: kern, aT: aT, bT: bT, m: m, n: n - r, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc})
		for j := n - r; j < n; j++ {
			bj := b[j:]
			if bT {
				bj = b[j*ldb:]
			}
			gemv(aT, bT, m, 1, k, alpha, a, lda, bj, ldb, beta, c[j:], ldc)
		}
		return
	}
	gemmParallel(gemmJob{kern: kern, aT: aT, bT: bT, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc})
}

// SgemmGeneric is Sgemm on the pure-Go micro-kernel, the path taken on CPUs
// without AVX2/FMA and on other architectures. It is exported for tests and
// benchmarks; callers want Sgemm.
func SgemmGeneric(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	aT, bT := checkGemm(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	gemmParallel(gemmJob{kern: &genericKernel, aT: aT, bT: bT, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc})
}

// SgemmNaive is the reference triple loop for Sgemm.
func SgemmNaive(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if tA == blas.NoTrans {
					av = a[i*lda+p]
				} else {
					av = a[p*lda+i]
				}
				if tB == blas.NoTrans {
					bv = b[p*ldb+j]
				} else {
					bv = b[j*ldb+p]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// checkGemm panics on bad arguments (gonum's checks) and reports whether A
// and B are transposed.
func checkGemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) (aT, bT bool) {
	switch tA {
	case blas.NoTrans:
	case blas.Trans, blas.ConjTrans:
		aT = true
	default:
		panic(ErrTranspose)
	}
	switch tB {
	case blas.NoTrans:
	case blas.Trans, blas.ConjTrans:
		bT = true
	default:
		panic(ErrTranspose)
	}
	if m < 0 || n < 0 || k < 0 {
		panic(ErrShape)
	}
	aRows, aCols := m, k
	if aT {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if bT {
		bRows, bCols = n, k
	}
	if lda < max(1, aCols) || ldb < max(1, bCols) || ldc < max(1, n) {
		panic(ErrStride)
	}
	if m == 0 || n == 0 {
		return
	}
	if (aRows > 0 && len(a) < (aRows-1)*lda+aCols) ||
		(bRows > 0 && len(b) < (bRows-1)*ldb+bCols) ||
		len(c) < (m-1)*ldc+n {
		panic(ErrShort)
	}
	return
}

// scaleC sets C = beta*C; beta == 0 writes zeros without reading C.
// C: (m, n) with stride ldc.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
