package kernel

import "golang.org/x/sys/cpu"

// useAsm reports whether the CPU has AVX2 and FMA, which every assembly
// kernel in this package needs; without them the pure-Go kernels run.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

var avxKernel = microKernel{mr: 6, nr: 16, mc: 144, kc: 256, nc: 1024, fn: kern6x16AVX}

var defaultKernel = pickKernel()

func pickKernel() *microKernel {
	if useAsm {
		return &avxKernel
	}
	return &genericKernel
}

// sgemmKernel6x16 computes C[0:6, 0:16] += alpha * a(k, 6)^T * b(k, 16),
// C with stride ldc (in elements). k >= 0.
//
//go:noescape
func sgemmKernel6x16(k int, alpha float32, a, b, c *float32, ldc int)

func kern6x16AVX(kc int, alpha float32, pa, pb, c []float32, ldc int) {
	_ = pa[6*kc-1]
	_ = pb[16*kc-1]
	_ = c[5*ldc+15]
	sgemmKernel6x16(kc, alpha, &pa[0], &pb[0], &c[0], ldc)
}

// dotAVX returns the dot product of x[0:n] and y[0:n].
//
//go:noescape
func dotAVX(x, y *float32, n int) float32

// axpyAVX computes y[0:n] += alpha * x[0:n].
//
//go:noescape
func axpyAVX(alpha float32, x, y *float32, n int)

func dot(x, y []float32) float32 {
	if !useAsm || len(x) < 8 {
		return dotGo(x, y)
	}
	_ = y[len(x)-1]
	return dotAVX(&x[0], &y[0], len(x))
}

func axpy(alpha float32, x, y []float32) {
	if !useAsm || len(x) < 8 {
		axpyGo(alpha, x, y)
		return
	}
	_ = y[len(x)-1]
	axpyAVX(alpha, &x[0], &y[0], len(x))
}

func packBTransFast(b []float32, ldb, kb, nr int, dst []float32) bool { return false }
