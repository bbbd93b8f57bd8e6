#include "textflag.h"

// The int8 kernels of q8_amd64.s with AVX-512 VNNI: VPDPBUSD multiplies the
// unsigned activation bytes by the signed weight bytes, adds each group of
// four products and accumulates into 32-bit lanes in one instruction, where
// AVX2 takes three (VPMADDUBSW, VPMADDWD, VPADDD). The sums are the same
// integers (neither path can saturate at these ranges: q8_amd64.s), and the
// epilogue is the AVX2 one lane for lane, so both give the same bits. One
// ZMM register holds a panel's 16 columns.

// func q8Kernel4x16VNNI(kq int, a *uint8, lda int, b *int8, zp *int32, colsum *int32, sa, sw, c *float32, ldc int, add bool)
TEXT ·q8Kernel4x16VNNI(SB), NOSPLIT, $0-81
	MOVQ kq+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), BX
	LEAQ (R8)(R8*2), R9
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	// Two k4 steps per iteration into two sets of accumulators (Z0-Z3 and
	// Z16-Z19), added at the end: eight chains of VPDPBUSD instead of four
	// hide its latency, and integer sums do not depend on the order.
	MOVQ CX, DI
	SHRQ $1, DI
	JZ   vtail

vloop:
	VMOVDQU32 (BX), Z8
	VMOVDQU32 64(BX), Z9
	VPBROADCASTD (SI), Z4
	VPBROADCASTD (SI)(R8*1), Z5
	VPBROADCASTD (SI)(R8*2), Z6
	VPBROADCASTD (SI)(R9*1), Z7
	VPBROADCASTD 4(SI), Z20
	VPBROADCASTD 4(SI)(R8*1), Z21
	VPBROADCASTD 4(SI)(R8*2), Z22
	VPBROADCASTD 4(SI)(R9*1), Z23
	VPDPBUSD Z8, Z4, Z0
	VPDPBUSD Z8, Z5, Z1
	VPDPBUSD Z8, Z6, Z2
	VPDPBUSD Z8, Z7, Z3
	VPDPBUSD Z9, Z20, Z16
	VPDPBUSD Z9, Z21, Z17
	VPDPBUSD Z9, Z22, Z18
	VPDPBUSD Z9, Z23, Z19
	ADDQ $8, SI
	ADDQ $128, BX
	DECQ DI
	JNZ  vloop

vtail:
	ANDQ $1, CX
	JZ   vsum
	VMOVDQU32 (BX), Z8
	VPBROADCASTD (SI), Z4
	VPBROADCASTD (SI)(R8*1), Z5
	VPBROADCASTD (SI)(R8*2), Z6
	VPBROADCASTD (SI)(R9*1), Z7
	VPDPBUSD Z8, Z4, Z0
	VPDPBUSD Z8, Z5, Z1
	VPDPBUSD Z8, Z6, Z2
	VPDPBUSD Z8, Z7, Z3

vsum:
	VPADDD Z16, Z0, Z0
	VPADDD Z17, Z1, Z1
	VPADDD Z18, Z2, Z2
	VPADDD Z19, Z3, Z3

	MOVQ zp+32(FP), R10
	MOVQ colsum+40(FP), R11
	MOVQ sa+48(FP), R12
	MOVQ sw+56(FP), R13
	MOVQ c+64(FP), DX
	MOVQ ldc+72(FP), R14
	SHLQ $2, R14
	VMOVDQU32 (R11), Z9  // colsum
	VMOVUPS (R13), Z10   // sw
	MOVBLZX add+80(FP), AX
	TESTL AX, AX
	JZ    vset

#define VSTORE(r, acc) \
	VPBROADCASTD (4*r)(R10), Z11; \
	VPMULLD Z9, Z11, Z12; \
	VPSUBD Z12, acc, acc; \
	VCVTDQ2PS acc, acc; \
	VBROADCASTSS (4*r)(R12), Z11; \
	VMULPS Z10, Z11, Z12; \
	VMULPS Z12, acc, acc; \
	VADDPS (DX), acc, acc; \
	VMOVUPS acc, (DX); \
	ADDQ R14, DX

#define VSET(r, acc) \
	VPBROADCASTD (4*r)(R10), Z11; \
	VPMULLD Z9, Z11, Z12; \
	VPSUBD Z12, acc, acc; \
	VCVTDQ2PS acc, acc; \
	VBROADCASTSS (4*r)(R12), Z11; \
	VMULPS Z10, Z11, Z12; \
	VMULPS Z12, acc, acc; \
	VMOVUPS acc, (DX); \
	ADDQ R14, DX

	VSTORE(0, Z0)
	VSTORE(1, Z1)
	VSTORE(2, Z2)
	VSTORE(3, Z3)
	VZEROUPPER
	RET

vset:
	VSET(0, Z0)
	VSET(1, Z1)
	VSET(2, Z2)
	VSET(3, Z3)
	VZEROUPPER
	RET

// func q8Kernel1x64VNNI(kq int, a *uint8, b *int8, pstride int, acc *int32)
// q8Kernel1x64 with VPDPBUSD: four panels of 16 columns, pstride bytes apart.
TEXT ·q8Kernel1x64VNNI(SB), NOSPLIT, $0-40
	MOVQ kq+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ pstride+24(FP), R8
	LEAQ (BX)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

vloop1:
	VPBROADCASTD (SI), Z4
	VPDPBUSD (BX), Z4, Z0
	VPDPBUSD (R9), Z4, Z1
	VPDPBUSD (R10), Z4, Z2
	VPDPBUSD (R11), Z4, Z3
	ADDQ $4, SI
	ADDQ $64, BX
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ CX
	JNZ  vloop1

	MOVQ acc+32(FP), DX
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	VMOVDQU32 Z2, 128(DX)
	VMOVDQU32 Z3, 192(DX)
	VZEROUPPER
	RET
