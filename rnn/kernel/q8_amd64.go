package kernel

import "golang.org/x/sys/cpu"

// useVNNI reports whether the int8 kernels take their AVX-512 VNNI form
// (q8vnni_amd64.s), which gives the same bits as the AVX2 one.
var useVNNI = useAVX512 && cpu.X86.HasAVX512VNNI

// q8Kernel4x16VNNI is q8Kernel4x16 with VPDPBUSD on ZMM registers.
//
//go:noescape
func q8Kernel4x16VNNI(kq int, a *uint8, lda int, b *int8, zp *int32, colsum *int32, sa, sw, c *float32, ldc int, add bool)

// q8Kernel1x64VNNI is q8Kernel1x64 with VPDPBUSD on ZMM registers.
//
//go:noescape
func q8Kernel1x64VNNI(kq int, a *uint8, b *int8, pstride int, acc *int32)

// q8Kernel4x16 is q8TileGo in AVX2 (q8_amd64.s); it needs kq >= 1.
//
//go:noescape
func q8Kernel4x16(kq int, a *uint8, lda int, b *int8, zp *int32, colsum *int32, sa, sw, c *float32, ldc int, add bool)

// q8Kernel1x64 is q8RowGo in AVX2; kq >= 1.
//
//go:noescape
func q8Kernel1x64(kq int, a *uint8, b *int8, pstride int, acc *int32)

// q8MinMax is minMaxGo over x[0:8*n8], n8 >= 1.
//
//go:noescape
func q8MinMax(x *float32, n8 int) (lo, hi float32)

// q8QuantRow is quantRowGo over x[0:8*n8], n8 >= 1.
//
//go:noescape
func q8QuantRow(x *float32, n8 int, inv float32, zp int32, dst *uint8)

func q8Tile(kq int, a []uint8, lda int, w []int8, zp, colsum []int32, sa, sw []float32, c []float32, ldc int, add bool) {
	if !useAsm {
		q8TileGo(kq, a, lda, w, zp, colsum, sa, sw, c, ldc, add)
		return
	}
	_ = a[3*lda+4*kq-1]
	_ = w[kq*q8nr*4-1]
	_, _, _, _ = zp[3], sa[3], colsum[q8nr-1], sw[q8nr-1]
	_ = c[3*ldc+q8nr-1]
	if useVNNI {
		q8Kernel4x16VNNI(kq, &a[0], lda, &w[0], &zp[0], &colsum[0], &sa[0], &sw[0], &c[0], ldc, add)
		return
	}
	q8Kernel4x16(kq, &a[0], lda, &w[0], &zp[0], &colsum[0], &sa[0], &sw[0], &c[0], ldc, add)
}

func q8Row(kq int, a []uint8, w []int8, pstride int, acc []int32) {
	if !useAsm {
		q8RowGo(kq, a, w, pstride, acc)
		return
	}
	_ = a[4*kq-1]
	_ = w[3*pstride+kq*q8nr*4-1]
	_ = acc[4*q8nr-1]
	if useVNNI {
		q8Kernel1x64VNNI(kq, &a[0], &w[0], pstride, &acc[0])
		return
	}
	q8Kernel1x64(kq, &a[0], &w[0], pstride, &acc[0])
}

func minMax(x []float32) (lo, hi float32) {
	n8 := len(x) / 8
	if !useAsm || n8 == 0 {
		return minMaxGo(x)
	}
	lo, hi = q8MinMax(&x[0], n8)
	for _, v := range x[8*n8:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func quantRow(dst []uint8, x []float32, inv float32, zp int32) {
	n8 := len(x) / 8
	if !useAsm || n8 == 0 {
		quantRowGo(dst, x, inv, zp)
		return
	}
	_ = dst[8*n8-1]
	q8QuantRow(&x[0], n8, inv, zp, &dst[0])
	quantRowGo(dst[8*n8:], x[8*n8:], inv, zp)
}
