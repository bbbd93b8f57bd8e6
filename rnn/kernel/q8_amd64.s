#include "textflag.h"

// int8 kernels (q8.go). Activations are unsigned bytes in [0, 127], weights
// signed bytes in [-127, 127]; VPMADDUBSW multiplies 32 byte pairs and adds
// neighbours into 16-bit lanes, which cannot saturate at these ranges
// (2·127·127 = 32258 < 32767), VPMADDWD by ones widens pairs of those into
// 32-bit lanes, VPADDD accumulates. Each 32-bit lane j of a weight register
// holds the 4 consecutive k values of output column j, so one broadcast
// dword of activations (4 k values of one row) meets 8 columns at once.

// One k4 step of row r: activations broadcast from addr, weights in Y8, Y9.
#define QROW(addr, c0, c1) \
	VPBROADCASTD addr, Y11; \
	VPMADDUBSW Y8, Y11, Y12; \
	VPMADDWD Y10, Y12, Y12; \
	VPADDD Y12, c0, c0; \
	VPMADDUBSW Y9, Y11, Y13; \
	VPMADDWD Y10, Y13, Y13; \
	VPADDD Y13, c1, c1

// Epilogue of row r: c[r][0:16] += float(acc - zp[r]·colsum) · (sa[r]·sw).
// R10 = zp, R11 = colsum, R12 = sa, R13 = sw, DX = C row (advanced by R14).
#define QSTORE(r, c0, c1) \
	VPBROADCASTD (4*r)(R10), Y11; \
	VPMULLD (R11), Y11, Y12; \
	VPMULLD 32(R11), Y11, Y13; \
	VPSUBD Y12, c0, c0; \
	VPSUBD Y13, c1, c1; \
	VCVTDQ2PS c0, c0; \
	VCVTDQ2PS c1, c1; \
	VBROADCASTSS (4*r)(R12), Y11; \
	VMULPS (R13), Y11, Y12; \
	VMULPS 32(R13), Y11, Y13; \
	VMULPS Y12, c0, c0; \
	VMULPS Y13, c1, c1; \
	VADDPS (DX), c0, c0; \
	VADDPS 32(DX), c1, c1; \
	VMOVUPS c0, (DX); \
	VMOVUPS c1, 32(DX); \
	ADDQ R14, DX

#define QSET(r, c0, c1) \
	VPBROADCASTD (4*r)(R10), Y11; \
	VPMULLD (R11), Y11, Y12; \
	VPMULLD 32(R11), Y11, Y13; \
	VPSUBD Y12, c0, c0; \
	VPSUBD Y13, c1, c1; \
	VCVTDQ2PS c0, c0; \
	VCVTDQ2PS c1, c1; \
	VBROADCASTSS (4*r)(R12), Y11; \
	VMULPS (R13), Y11, Y12; \
	VMULPS 32(R13), Y11, Y13; \
	VMULPS Y12, c0, c0; \
	VMULPS Y13, c1, c1; \
	VMOVUPS c0, (DX); \
	VMOVUPS c1, 32(DX); \
	ADDQ R14, DX

// func q8Kernel4x16(kq int, a *uint8, lda int, b *int8, zp *int32, colsum *int32, sa, sw, c *float32, ldc int, add bool)
TEXT ·q8Kernel4x16(SB), NOSPLIT, $0-81
	MOVQ kq+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), BX
	LEAQ (R8)(R8*2), R9
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPCMPEQW Y10, Y10, Y10
	VPSRLW $15, Y10, Y10 // 16-bit ones

loop:
	VMOVDQU (BX), Y8
	VMOVDQU 32(BX), Y9
	QROW((SI), Y0, Y1)
	QROW((SI)(R8*1), Y2, Y3)
	QROW((SI)(R8*2), Y4, Y5)
	QROW((SI)(R9*1), Y6, Y7)
	ADDQ $4, SI
	ADDQ $64, BX
	DECQ CX
	JNZ  loop

	MOVQ zp+32(FP), R10
	MOVQ colsum+40(FP), R11
	MOVQ sa+48(FP), R12
	MOVQ sw+56(FP), R13
	MOVQ c+64(FP), DX
	MOVQ ldc+72(FP), R14
	SHLQ $2, R14
	MOVBLZX add+80(FP), AX
	TESTL AX, AX
	JZ    set
	QSTORE(0, Y0, Y1)
	QSTORE(1, Y2, Y3)
	QSTORE(2, Y4, Y5)
	QSTORE(3, Y6, Y7)
	VZEROUPPER
	RET

set:
	QSET(0, Y0, Y1)
	QSET(1, Y2, Y3)
	QSET(2, Y4, Y5)
	QSET(3, Y6, Y7)
	VZEROUPPER
	RET

// One k4 step of the single-row kernel over four panels: weights at
// off(BX) and off+32(BX) of panel p (panels R8 bytes apart).
#define Q1PANEL(pan, c0, c1) \
	VPMADDUBSW (pan), Y11, Y12; \
	VPMADDWD Y10, Y12, Y12; \
	VPADDD Y12, c0, c0; \
	VPMADDUBSW 32(pan), Y11, Y13; \
	VPMADDWD Y10, Y13, Y13; \
	VPADDD Y13, c1, c1

// func q8Kernel1x64(kq int, a *uint8, b *int8, pstride int, acc *int32)
// acc[p*16+j] = Σ_k a[k]·b_p[k][j] for 4 panels p of 16 columns, pstride
// bytes apart: the matrix-vector product of batch-1 inference, where one row
// of activations meets 64 columns per step.
TEXT ·q8Kernel1x64(SB), NOSPLIT, $0-40
	MOVQ kq+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ pstride+24(FP), R8
	LEAQ (BX)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPCMPEQW Y10, Y10, Y10
	VPSRLW $15, Y10, Y10

loop1:
	VPBROADCASTD (SI), Y11
	Q1PANEL(BX, Y0, Y1)
	Q1PANEL(R9, Y2, Y3)
	Q1PANEL(R10, Y4, Y5)
	Q1PANEL(R11, Y6, Y7)
	ADDQ $4, SI
	ADDQ $64, BX
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ CX
	JNZ  loop1

	MOVQ acc+32(FP), DX
	VMOVDQU Y0, (DX)
	VMOVDQU Y1, 32(DX)
	VMOVDQU Y2, 64(DX)
	VMOVDQU Y3, 96(DX)
	VMOVDQU Y4, 128(DX)
	VMOVDQU Y5, 160(DX)
	VMOVDQU Y6, 192(DX)
	VMOVDQU Y7, 224(DX)
	VZEROUPPER
	RET

// func q8MinMax(x *float32, n8 int) (lo, hi float32)
// The smallest and largest of x[0:8*n8], n8 >= 1.
TEXT ·q8MinMax(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	ADDQ $32, SI
	DECQ CX
	JZ   mmdone

mmloop:
	VMOVUPS (SI), Y2
	VMINPS Y2, Y0, Y0
	VMAXPS Y2, Y1, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ  mmloop

mmdone:
	VEXTRACTF128 $1, Y0, X2
	VMINPS X2, X0, X0
	VPERMILPS $0x4e, X0, X2
	VMINPS X2, X0, X0
	VPERMILPS $0xb1, X0, X2
	VMINPS X2, X0, X0
	VEXTRACTF128 $1, Y1, X3
	VMAXPS X3, X1, X1
	VPERMILPS $0x4e, X1, X3
	VMAXPS X3, X1, X1
	VPERMILPS $0xb1, X1, X3
	VMAXPS X3, X1, X1
	MOVSS X0, lo+16(FP)
	MOVSS X1, hi+20(FP)
	VZEROUPPER
	RET

// func q8QuantRow(x *float32, n8 int, inv float32, zp int32, dst *uint8)
// dst[i] = clamp(round(x[i]·inv) + zp, 0, 127) for i < 8*n8, rounding to
// nearest even (VCVTPS2DQ under the default MXCSR).
TEXT ·q8QuantRow(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	VBROADCASTSS inv+16(FP), Y5
	MOVL zp+20(FP), AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6
	MOVQ dst+24(FP), DI
	VPXOR Y7, Y7, Y7
	VPCMPEQD Y8, Y8, Y8
	VPSRLD $25, Y8, Y8 // 127

qrloop:
	VMULPS (SI), Y5, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y6, Y0, Y0
	VPMAXSD Y7, Y0, Y0
	VPMINSD Y8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)
	ADDQ $32, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  qrloop
	VZEROUPPER
	RET
