// Package kernel holds the float32 compute kernels under rnnkit's recurrent
// core: GEMM and the vector helpers the cells use. Every optimized kernel has a
// naive twin in this package and a test that they agree.
//
// All matrices are row-major. Slices are caller-owned; nothing allocates.
package kernel

import "gonum.org/v1/gonum/blas"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C with row-major storage and
// gonum's blas.Float32Level3 argument convention:
// op(A): (m, k), op(B): (k, n), C: (m, n).
func Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmNaive(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
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
