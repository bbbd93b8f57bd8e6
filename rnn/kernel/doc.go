// Package kernel holds the float32 compute kernels under rnnkit's recurrent
// core: GEMM and the vector helpers the cells use. Every optimized kernel has a
// naive twin in this package and a test that they agree.
//
// All matrices are row-major. Slices are caller-owned; nothing allocates in
// steady state (packing buffers come from a sync.Pool).
//
// On amd64 with AVX2 and FMA, Sgemm runs a 6x16 assembly micro-kernel over
// packed panels of A and B with cache blocking (BLIS style), and, where the
// CPU has AVX-512F, a kernel that computes two adjacent 6x16 tiles at once
// in 512-bit registers with exactly the same operations per element (so the
// same bits on either CPU); elsewhere, and on
// amd64 CPUs without AVX2/FMA, the same blocked driver runs a pure-Go
// micro-kernel. Problems with m == 1 or n == 1 go through Dot/Axpy instead.
// Large problems are split across goroutines (see SetThreads); each element of
// C is always computed in the same order, so results do not depend on the
// thread count. The goroutines are a small pool, one per extra core, that
// spin for up to a millisecond between pieces of work (yielding to other
// goroutines and, on Linux, to other threads of the machine) because waking
// a sleeping thread costs as much as a recurrent step's product; Parallel
// lends the same pool to other loops.
//
// API, all row-major float32, destination written in place:
//
//	Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
//	    C(m, n) = alpha*op(A)(m, k)*op(B)(k, n) + beta*C; gonum's convention.
//	SgemmNaive, SgemmGeneric   the reference loop and the pure-Go path.
//	Axpy(alpha, x, y)          y(n) += alpha*x(n)
//	Dot(x, y)                  x(n)·y(n)
//	PackB(dst, tB, k, n, b, ldb)  op(B)(k, n) laid out once for many products
//	SgemmPacked(tA, m, alpha, a, lda, pb, beta, c, ldc)
//	    Sgemm with a PackedB (a decoder's output layer at every step)
//	SetThreads(n)              goroutines per large Sgemm (1: caller only)
//	Parallel(n, grain, r)      r.Range(lo, hi) over [0, n) on the pool
//	ParallelFor(n, grain, fn)  the same with a function
//	Implementation{}           gonum's BLAS with this Sgemm, for blas32.Use
//
// Aliasing: C must not overlap A or B; Axpy's y must not overlap x except
// exactly. Shape errors panic with the Err* values below; beta == 0 never
// reads C.
package kernel
