package kernel

import "golang.org/x/sys/cpu"

// useAsm reports whether the CPU has AVX2 and FMA, which every assembly
// kernel in this package needs; without them the pure-Go kernels run.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

var avxKernel = microKernel{mr: 6, nr: 16, mc: 144, kc: 256, nc: 1024, ncSkinny: 128, fn: kern6x16AVX}

var defaultKernel = pickKernel()

// avx512Kernel is avxKernel with the wide AVX-512 kernel for pairs of full
// tiles: the same tiles, blocks and results, half the instructions.
var avx512Kernel = func() microKernel {
	k := avxKernel
	k.wide = kern6x32AVX512
	return k
}()

// useAVX512 reports whether the CPU and the OS support AVX-512F.
var useAVX512 = useAsm && cpu.X86.HasAVX512F

func pickKernel() *microKernel {
	switch {
	case useAVX512:
		return &avx512Kernel
	case useAsm:
		return &avxKernel
	}
	return &genericKernel
}

// sgemmKernel6x16 computes C[0:6, 0:16] += alpha * a(k, 6)^T * b(k, 16),
// b with row stride ldb, C with stride ldc (in elements). k >= 1.
//
//go:noescape
func sgemmKernel6x16(k int, alpha float32, a, b *float32, ldb int, c *float32, ldc int)

func kern6x16AVX(kc int, alpha float32, pa, pb []float32, ldb int, c []float32, ldc int) {
	_ = pa[6*kc-1]
	_ = pb[(kc-1)*ldb+15]
	_ = c[5*ldc+15]
	sgemmKernel6x16(kc, alpha, &pa[0], &pb[0], ldb, &c[0], ldc)
}

// sgemmKernel6x32 is two sgemmKernel6x16 side by side in AVX-512: the left
// tile reads B from b0, the right from b1, both with row stride ldb. It
// prefetches a cache line from pf onwards for every four k (pf[:4*k]
// in all, for k >= 4).
//
//go:noescape
func sgemmKernel6x32(k int, alpha float32, a, b0, b1 *float32, ldb int, c *float32, ldc int, pf *float32)

func kern6x32AVX512(kc int, alpha float32, pa, pb0, pb1 []float32, ldb int, c []float32, ldc int, pf []float32) {
	_ = pa[6*kc-1]
	_ = pb0[(kc-1)*ldb+15]
	_ = pb1[(kc-1)*ldb+15]
	_ = c[5*ldc+31]
	p := &pb0[0]
	if len(pf) >= 4*kc {
		p = &pf[0]
	}
	sgemmKernel6x32(kc, alpha, &pa[0], &pb0[0], &pb1[0], ldb, &c[0], ldc, p)
}

// dotAVX returns the dot product of x[0:n] and y[0:n].
//
//go:noescape
func dotAVX(x, y *float32, n int) float32

// axpyAVX computes y[0:n] += alpha * x[0:n].
//
//go:noescape
func axpyAVX(alpha float32, x, y *float32, n int)

// dot4AVX computes out[r] = x[0:8*k8] · b[r*ldb : r*ldb+8*k8], r = 0..3.
//
//go:noescape
func dot4AVX(k8 int, x, b *float32, ldb int, out *float32)

// dotRows computes out[r] = x · b[r*ldb : r*ldb+len(x)] for r < len(out):
// a matrix-vector product with b: (len(out), len(x)) of stride ldb.
func dotRows(out, x, b []float32, ldb int) {
	k := len(x)
	if !useAsm || k < 16 {
		dotRowsGo(out, x, b, ldb)
		return
	}
	rows := len(out)
	_ = b[(rows-1)*ldb+k-1]
	k8 := k / 8
	r := 0
	for ; r+4 <= rows; r += 4 {
		o := out[r : r+4 : r+4]
		dot4AVX(k8, &x[0], &b[r*ldb], ldb, &o[0])
		for p := 8 * k8; p < k; p++ {
			xp := x[p]
			o[0] += xp * b[r*ldb+p]
			o[1] += xp * b[(r+1)*ldb+p]
			o[2] += xp * b[(r+2)*ldb+p]
			o[3] += xp * b[(r+3)*ldb+p]
		}
	}
	for ; r < rows; r++ {
		out[r] = dot(x, b[r*ldb:r*ldb+k])
	}
}

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

// packBT16 transposes 16 rows of B into a packed panel:
// dst[p*16 + j] = b[j*ldb + p] for j < 16, p < 8*blocks.
//
//go:noescape
func packBT16(b *float32, ldb, blocks int, dst *float32)

// packBTransFast packs one full 16-wide panel of a transposed B, b: (16, kb)
// with stride ldb into dst: (kb, 16), if the assembly kernel is in use.
func packBTransFast(b []float32, ldb, kb, nr int, dst []float32) bool {
	if !useAsm || nr != 16 {
		return false
	}
	blocks := kb / 8
	if blocks > 0 {
		_ = b[15*ldb+8*blocks-1]
		_ = dst[16*8*blocks-1]
		packBT16(&b[0], ldb, blocks, &dst[0])
	}
	for p := 8 * blocks; p < kb; p++ {
		d := dst[p*16 : p*16+16]
		for j := range d {
			d[j] = b[j*ldb+p]
		}
	}
	return true
}

// packB16 copies one 16-wide panel of a non-transposed B: dst[p*16+j] =
// b[p*ldb+j], j < 16, p < kb (kb >= 1).
//
//go:noescape
func packB16(b *float32, ldb, kb int, dst *float32)

// packBFast packs one full 16-wide panel of a non-transposed B, b: (kb,
// 16) with stride ldb, into dst: (kb, 16), if the assembly kernel is in use.
func packBFast(b []float32, ldb, kb, nr int, dst []float32) bool {
	if !useAsm || nr != 16 || kb < 1 {
		return false
	}
	_ = b[(kb-1)*ldb+15]
	_ = dst[16*kb-1]
	packB16(&b[0], ldb, kb, &dst[0])
	return true
}

// packAT6 packs the full 6-row panels of a transposed A: for p < kb and
// g < panels, dst[g*6*kb + p*6 + i] = a[p*lda + g*6 + i], i < 6.
//
//go:noescape
func packAT6(a *float32, lda, kb, panels int, dst *float32)

// packATFast is packAT6 if the assembly kernel is in use: a (kb, 6*panels)
// with stride lda, dst (panels, kb, 6).
func packATFast(a []float32, lda, kb, panels int, dst []float32) bool {
	if !useAsm || kb < 1 || panels < 1 {
		return false
	}
	_ = a[(kb-1)*lda+6*panels-1]
	_ = dst[6*kb*panels-1]
	packAT6(&a[0], lda, kb, panels, &dst[0])
	return true
}

//go:noescape
func packA6(a *float32, lda, blocks int, dst *float32)

// packA6Fast packs one full 6-row panel of a non-transposed A, a: (6, kb)
// with stride lda, into dst: (kb, 6), if the assembly kernel is in use.
func packA6Fast(a []float32, lda, kb int, dst []float32) bool {
	if !useAsm {
		return false
	}
	// The assembly writes 2 floats past each 8-column block (overwritten
	// by the next): stop a column short of the panel's end.
	blocks := (kb - 1) / 8
	if blocks > 0 {
		_ = a[5*lda+8*blocks-1]
		_ = dst[(8*blocks-1)*6+7]
		packA6(&a[0], lda, blocks, &dst[0])
	}
	for p := 8 * blocks; p < kb; p++ {
		q := (*[6]float32)(dst[p*6 : p*6+6])
		q[0], q[1], q[2], q[3], q[4], q[5] = a[p], a[lda+p], a[2*lda+p], a[3*lda+p], a[4*lda+p], a[5*lda+p]
	}
	return true
}

// dot4F16AVX is dot4AVX with half-precision b (needs F16C, present with AVX2 on x86).
//
//go:noescape
func dot4F16AVX(k8 int, x *float32, b *uint16, ldb int, out *float32)

var useF16Asm = useAsm && cpu.X86.HasF16C

// dot4F16AVX512 is dot4F16AVX on ZMM registers, with the same bits.
//
//go:noescape
func dot4F16AVX512(k8 int, x *float32, b *uint16, ldb int, out *float32)

// useF16AVX512 selects dot4F16AVX512 (AVX-512F).
var useF16AVX512 = useF16Asm && useAVX512

// dotRowsF16 computes out[r] = x · f16(b[r*ldb : r*ldb+len(x)]).
func dotRowsF16(out, x []float32, b []uint16, ldb int) {
	k := len(x)
	if !useF16Asm || k < 16 {
		dotRowsF16Go(out, x, b, ldb)
		return
	}
	rows := len(out)
	_ = b[(rows-1)*ldb+k-1]
	k8 := k / 8
	r := 0
	for ; r+4 <= rows; r += 4 {
		o := out[r : r+4 : r+4]
		if useF16AVX512 {
			dot4F16AVX512(k8, &x[0], &b[r*ldb], ldb, &o[0])
		} else {
			dot4F16AVX(k8, &x[0], &b[r*ldb], ldb, &o[0])
		}
		for p := 8 * k8; p < k; p++ {
			xp := x[p]
			o[0] += xp * F16ToF32(b[r*ldb+p])
			o[1] += xp * F16ToF32(b[(r+1)*ldb+p])
			o[2] += xp * F16ToF32(b[(r+2)*ldb+p])
			o[3] += xp * F16ToF32(b[(r+3)*ldb+p])
		}
	}
	if r < rows {
		dotRowsF16Go(out[r:], x, b[r*ldb:], ldb)
	}
}
