#include "textflag.h"

// One k step of the 6x16 tile: B row in Y12,Y13 (16 floats at (DI)),
// A column broadcast from aoff(SI); Y0..Y11 accumulate rows 0..5. DI then
// moves on by the B row stride R9 (64 for a packed panel).
#define STEP(aoff) \
	VMOVUPS (DI), Y12; \
	VMOVUPS 32(DI), Y13; \
	ADDQ R9, DI; \
	VBROADCASTSS aoff(SI), Y14; \
	VFMADD231PS Y12, Y14, Y0; \
	VFMADD231PS Y13, Y14, Y1; \
	VBROADCASTSS aoff+4(SI), Y14; \
	VFMADD231PS Y12, Y14, Y2; \
	VFMADD231PS Y13, Y14, Y3; \
	VBROADCASTSS aoff+8(SI), Y14; \
	VFMADD231PS Y12, Y14, Y4; \
	VFMADD231PS Y13, Y14, Y5; \
	VBROADCASTSS aoff+12(SI), Y14; \
	VFMADD231PS Y12, Y14, Y6; \
	VFMADD231PS Y13, Y14, Y7; \
	VBROADCASTSS aoff+16(SI), Y14; \
	VFMADD231PS Y12, Y14, Y8; \
	VFMADD231PS Y13, Y14, Y9; \
	VBROADCASTSS aoff+20(SI), Y14; \
	VFMADD231PS Y12, Y14, Y10; \
	VFMADD231PS Y13, Y14, Y11

// C row update: row = alpha*acc + row.
#define STOREROW(r0, r1) \
	VFMADD213PS (DX), Y14, r0; \
	VFMADD213PS 32(DX), Y14, r1; \
	VMOVUPS r0, (DX); \
	VMOVUPS r1, 32(DX); \
	ADDQ R8, DX

// func sgemmKernel6x16(k int, alpha float32, a, b *float32, ldb int, c *float32, ldc int)
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+16(FP), SI
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	SHLQ $2, R9
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R8
	SHLQ $2, R8
	// Fetch the C tile (6 rows of 64 bytes, in two lines each when not
	// aligned) while the k loop runs: rows lie ldc apart, usually in
	// different pages, and would otherwise miss one after another in
	// the stores below.
	MOVQ DX, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	CMPQ CX, $4
	JL   tail

loop4:
	STEP(0)
	STEP(24)
	STEP(48)
	STEP(72)
	ADDQ $96, SI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  loop4

tail:
	TESTQ CX, CX
	JE    store

loop1:
	STEP(0)
	ADDQ $24, SI
	DECQ CX
	JNZ  loop1

store:
	VBROADCASTSS alpha+8(FP), Y14
	STOREROW(Y0, Y1)
	STOREROW(Y2, Y3)
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	VZEROUPPER
	RET

// func dotAVX(x, y *float32, n int) float32
TEXT ·dotAVX(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ CX, $32
	JL   dot8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot32

dot8:
	CMPQ CX, $8
	JL   dotred
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot8

dotred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	TESTQ CX, CX
	JE    dotdone

dot1:
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  dot1

dotdone:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX

axpy32:
	CMPQ CX, $32
	JL   axpy8
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  axpy32

axpy8:
	CMPQ CX, $8
	JL   axpy1
	VMOVUPS (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  axpy8

axpy1:
	TESTQ CX, CX
	JE    axpydone
	VMOVSS (DI), X1
	VFMADD231SS (SI), X0, X1
	VMOVSS X1, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  axpy1

axpydone:
	VZEROUPPER
	RET

// Transpose the 8x8 block of rows at (P0), (P0)(R8*1), (P0)(R8*2),
// (P0)(R9*1), (P4), ... (8 floats each) into 8 rows of 8 stored at
// doff(DI) + q*64, q = 0..7 (one k row of a 16-wide packed B panel each).
#define TRANS8(P0, P4, doff) \
	VMOVUPS (P0), Y0; \
	VMOVUPS (P0)(R8*1), Y1; \
	VMOVUPS (P0)(R8*2), Y2; \
	VMOVUPS (P0)(R9*1), Y3; \
	VMOVUPS (P4), Y4; \
	VMOVUPS (P4)(R8*1), Y5; \
	VMOVUPS (P4)(R8*2), Y6; \
	VMOVUPS (P4)(R9*1), Y7; \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y0; \
	VUNPCKHPS Y7, Y6, Y1; \
	VSHUFPS $0x44, Y10, Y8, Y2; \
	VSHUFPS $0xEE, Y10, Y8, Y3; \
	VSHUFPS $0x44, Y11, Y9, Y4; \
	VSHUFPS $0xEE, Y11, Y9, Y5; \
	VSHUFPS $0x44, Y0, Y12, Y6; \
	VSHUFPS $0xEE, Y0, Y12, Y7; \
	VSHUFPS $0x44, Y1, Y13, Y8; \
	VSHUFPS $0xEE, Y1, Y13, Y9; \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VMOVUPS Y10, doff(DI); \
	VMOVUPS Y11, doff+64(DI); \
	VPERM2F128 $0x20, Y8, Y4, Y10; \
	VPERM2F128 $0x20, Y9, Y5, Y11; \
	VMOVUPS Y10, doff+128(DI); \
	VMOVUPS Y11, doff+192(DI); \
	VPERM2F128 $0x31, Y6, Y2, Y10; \
	VPERM2F128 $0x31, Y7, Y3, Y11; \
	VMOVUPS Y10, doff+256(DI); \
	VMOVUPS Y11, doff+320(DI); \
	VPERM2F128 $0x31, Y8, Y4, Y10; \
	VPERM2F128 $0x31, Y9, Y5, Y11; \
	VMOVUPS Y10, doff+384(DI); \
	VMOVUPS Y11, doff+448(DI)

// func packBT16(b *float32, ldb, blocks int, dst *float32)
// dst[p*16 + j] = b[j*ldb + p] for j < 16, p < 8*blocks.
TEXT ·packBT16(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), SI
	MOVQ ldb+8(FP), R8
	MOVQ blocks+16(FP), CX
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	LEAQ (R10)(R8*4), R11
	LEAQ (R11)(R8*4), R12
	TESTQ CX, CX
	JE    packdone

packloop:
	TRANS8(SI, R10, 0)
	TRANS8(R11, R12, 32)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $512, DI
	DECQ CX
	JNZ  packloop

packdone:
	VZEROUPPER
	RET

// func dot4AVX(k8 int, x, b *float32, ldb int, out *float32)
// out[r] = sum_{p < 8*k8} x[p] * b[r*ldb + p], r = 0..3.
TEXT ·dot4AVX(SB), NOSPLIT, $0-40
	MOVQ k8+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

d4loop2:
	CMPQ CX, $2
	JL   d4one
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS (DI)(R8*1), Y8, Y1
	VFMADD231PS (DI)(R8*2), Y8, Y2
	VFMADD231PS (DI)(R9*1), Y8, Y3
	VFMADD231PS 32(DI), Y9, Y4
	VFMADD231PS 32(DI)(R8*1), Y9, Y5
	VFMADD231PS 32(DI)(R8*2), Y9, Y6
	VFMADD231PS 32(DI)(R9*1), Y9, Y7
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $2, CX
	JMP  d4loop2

d4one:
	TESTQ CX, CX
	JE    d4red
	VMOVUPS (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS (DI)(R8*1), Y8, Y1
	VFMADD231PS (DI)(R8*2), Y8, Y2
	VFMADD231PS (DI)(R9*1), Y8, Y3

d4red:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	MOVQ out+32(FP), DX
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET

// func dot4F16AVX(k8 int, x *float32, b *uint16, ldb int, out *float32)
// out[r] = sum_{p < 8*k8} x[p] * f16(b[r*ldb + p]), r = 0..3: dot4AVX with
// half-precision weights widened by VCVTPH2PS (F16C), the same FMA order.
TEXT ·dot4F16AVX(SB), NOSPLIT, $0-40
	MOVQ k8+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R8
	SHLQ $1, R8
	LEAQ (R8)(R8*2), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

h4loop2:
	CMPQ CX, $2
	JL   h4one
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VCVTPH2PS (DI), Y10
	VFMADD231PS Y10, Y8, Y0
	VCVTPH2PS (DI)(R8*1), Y11
	VFMADD231PS Y11, Y8, Y1
	VCVTPH2PS (DI)(R8*2), Y12
	VFMADD231PS Y12, Y8, Y2
	VCVTPH2PS (DI)(R9*1), Y13
	VFMADD231PS Y13, Y8, Y3
	VCVTPH2PS 16(DI), Y10
	VFMADD231PS Y10, Y9, Y4
	VCVTPH2PS 16(DI)(R8*1), Y11
	VFMADD231PS Y11, Y9, Y5
	VCVTPH2PS 16(DI)(R8*2), Y12
	VFMADD231PS Y12, Y9, Y6
	VCVTPH2PS 16(DI)(R9*1), Y13
	VFMADD231PS Y13, Y9, Y7
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $2, CX
	JMP  h4loop2

h4one:
	TESTQ CX, CX
	JE    h4red
	VMOVUPS (SI), Y8
	VCVTPH2PS (DI), Y10
	VFMADD231PS Y10, Y8, Y0
	VCVTPH2PS (DI)(R8*1), Y11
	VFMADD231PS Y11, Y8, Y1
	VCVTPH2PS (DI)(R8*2), Y12
	VFMADD231PS Y12, Y8, Y2
	VCVTPH2PS (DI)(R9*1), Y13
	VFMADD231PS Y13, Y8, Y3

h4red:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	MOVQ out+32(FP), DX
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET

// Transpose six rows of 8 floats at (P0), (P0)(R8*1), (P0)(R8*2),
// (P0)(R9*1), (P4), (P4)(R8*1) into 8 columns of 6 stored at DI + q*24,
// q = 0..7. Each store writes 8 floats: the 2 beyond a column are garbage
// that the next column's store overwrites (so the caller must leave room
// for 2 floats after the block). Y6 and Y7 (rows 6 and 7) must be zero.
#define TRANS6 \
	VMOVUPS (SI), Y0; \
	VMOVUPS (SI)(R8*1), Y1; \
	VMOVUPS (SI)(R8*2), Y2; \
	VMOVUPS (SI)(R9*1), Y3; \
	VMOVUPS (R10), Y4; \
	VMOVUPS (R10)(R8*1), Y5; \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VSHUFPS $0x44, Y10, Y8, Y2; \
	VSHUFPS $0xEE, Y10, Y8, Y3; \
	VSHUFPS $0x44, Y11, Y9, Y4; \
	VSHUFPS $0xEE, Y11, Y9, Y5; \
	VSHUFPS $0x44, Y15, Y12, Y0; \
	VSHUFPS $0xEE, Y15, Y12, Y1; \
	VSHUFPS $0x44, Y15, Y13, Y14; \
	VSHUFPS $0xEE, Y15, Y13, Y13; \
	VPERM2F128 $0x20, Y0, Y2, Y10; \
	VPERM2F128 $0x20, Y1, Y3, Y11; \
	VMOVUPS Y10, 0(DI); \
	VMOVUPS Y11, 24(DI); \
	VPERM2F128 $0x20, Y14, Y4, Y10; \
	VPERM2F128 $0x20, Y13, Y5, Y11; \
	VMOVUPS Y10, 48(DI); \
	VMOVUPS Y11, 72(DI); \
	VPERM2F128 $0x31, Y0, Y2, Y10; \
	VPERM2F128 $0x31, Y1, Y3, Y11; \
	VMOVUPS Y10, 96(DI); \
	VMOVUPS Y11, 120(DI); \
	VPERM2F128 $0x31, Y14, Y4, Y10; \
	VPERM2F128 $0x31, Y13, Y5, Y11; \
	VMOVUPS Y10, 144(DI); \
	VMOVUPS Y11, 168(DI)

// func packA6(a *float32, lda, blocks int, dst *float32)
// dst[p*6 + i] = a[i*lda + p] for i < 6, p < 8*blocks, writing up to
// dst[(8*blocks-1)*6 + 7].
TEXT ·packA6(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R8
	MOVQ blocks+16(FP), CX
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	VXORPS Y15, Y15, Y15
	TESTQ CX, CX
	JE    pack6done

pack6loop:
	TRANS6
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $192, DI
	DECQ CX
	JNZ  pack6loop

pack6done:
	VZEROUPPER
	RET

// The AVX-512 tile: two 6x16 tiles side by side, one zmm register per row
// half. Each element sees exactly the operations of the 6x16 kernel (one
// fused multiply-add per k, in order, from zero, then alpha*acc + C in
// one more), so the results are bit-identical; only the width differs.
// B rows of the left and right halves at (DI) and (BX), both advancing by
// R9.
#define STEP32(aoff) \
	VMOVUPS (DI), Z12; \
	VMOVUPS (BX), Z13; \
	ADDQ R9, DI; \
	ADDQ R9, BX; \
	VBROADCASTSS aoff(SI), Z14; \
	VFMADD231PS Z12, Z14, Z0; \
	VFMADD231PS Z13, Z14, Z1; \
	VBROADCASTSS aoff+4(SI), Z14; \
	VFMADD231PS Z12, Z14, Z2; \
	VFMADD231PS Z13, Z14, Z3; \
	VBROADCASTSS aoff+8(SI), Z14; \
	VFMADD231PS Z12, Z14, Z4; \
	VFMADD231PS Z13, Z14, Z5; \
	VBROADCASTSS aoff+12(SI), Z14; \
	VFMADD231PS Z12, Z14, Z6; \
	VFMADD231PS Z13, Z14, Z7; \
	VBROADCASTSS aoff+16(SI), Z14; \
	VFMADD231PS Z12, Z14, Z8; \
	VFMADD231PS Z13, Z14, Z9; \
	VBROADCASTSS aoff+20(SI), Z14; \
	VFMADD231PS Z12, Z14, Z10; \
	VFMADD231PS Z13, Z14, Z11

#define STOREROW32(r0, r1) \
	VFMADD213PS (DX), Z14, r0; \
	VFMADD213PS 64(DX), Z14, r1; \
	VMOVUPS r0, (DX); \
	VMOVUPS r1, 64(DX); \
	ADDQ R8, DX

#define PREFETCHROW32 \
	PREFETCHT0 (AX); \
	PREFETCHT0 64(AX); \
	PREFETCHT0 124(AX); \
	ADDQ R8, AX

// func sgemmKernel6x32(k int, alpha float32, a, b0, b1 *float32, ldb int, c *float32, ldc int, pf *float32)
TEXT ·sgemmKernel6x32(SB), NOSPLIT, $0-72
	MOVQ pf+64(FP), R10
	MOVQ k+0(FP), CX
	MOVQ a+16(FP), SI
	MOVQ b0+24(FP), DI
	MOVQ b1+32(FP), BX
	MOVQ ldb+40(FP), R9
	SHLQ $2, R9
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R8
	SHLQ $2, R8
	MOVQ DX, AX
	PREFETCHROW32
	PREFETCHROW32
	PREFETCHROW32
	PREFETCHROW32
	PREFETCHROW32
	PREFETCHROW32
	// VEX-encoded xors clear the whole zmm register.
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	CMPQ CX, $4
	JL   tail32

loop32:
	PREFETCHT0 (R10)
	ADDQ $64, R10
	STEP32(0)
	STEP32(24)
	STEP32(48)
	STEP32(72)
	ADDQ $96, SI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  loop32

tail32:
	TESTQ CX, CX
	JE    store32

loop32one:
	STEP32(0)
	ADDQ $24, SI
	DECQ CX
	JNZ  loop32one

store32:
	VBROADCASTSS alpha+8(FP), Z14
	STOREROW32(Z0, Z1)
	STOREROW32(Z2, Z3)
	STOREROW32(Z4, Z5)
	STOREROW32(Z6, Z7)
	STOREROW32(Z8, Z9)
	STOREROW32(Z10, Z11)
	VZEROUPPER
	RET

// func packB16(b *float32, ldb, kb int, dst *float32)
// dst[p*16 + j] = b[p*ldb + j] for j < 16, p < kb: one 16-wide panel of
// a non-transposed B (kb >= 1).
TEXT ·packB16(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), SI
	MOVQ ldb+8(FP), R8
	MOVQ kb+16(FP), CX
	MOVQ dst+24(FP), DI
	SHLQ $2, R8

pb16loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  pb16loop
	VZEROUPPER
	RET

// func packAT6(a *float32, lda, kb, panels int, dst *float32)
// For p < kb and g < panels: dst[g*6*kb + p*6 + i] = a[p*lda + g*6 + i],
// i < 6: the full 6-row panels of a transposed A, row by row of A (its
// rows are contiguous, the panels' rows are not). kb, panels >= 1.
TEXT ·packAT6(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R8
	MOVQ kb+16(FP), CX
	MOVQ panels+24(FP), R9
	MOVQ dst+32(FP), DI
	SHLQ $2, R8
	MOVQ CX, R10
	IMULQ $24, R10         // bytes from one panel to the next

at6row:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R9, DX

at6panel:
	VMOVUPS (AX), X0
	MOVQ 16(AX), X1
	VMOVUPS X0, (BX)
	MOVQ X1, 16(BX)
	ADDQ $24, AX
	ADDQ R10, BX
	DECQ DX
	JNZ  at6panel

	ADDQ R8, SI
	ADDQ $24, DI
	DECQ CX
	JNZ  at6row
	RET

// func dot4F16AVX512(k8 int, x *float32, b *uint16, ldb int, out *float32)
// dot4F16AVX on ZMM registers with the same bits: lanes 0-7 of Z0-Z3 are
// dot4F16AVX's Y0-Y3 (the even blocks of 8) and lanes 8-15 its Y4-Y7 (the
// odd blocks), each lane doing the same FMAs in the same order; the odd
// block left over goes to the low halves after they are split, and the
// reduction is dot4F16AVX's.
TEXT ·dot4F16AVX512(SB), NOSPLIT, $0-40
	MOVQ k8+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R8
	SHLQ $1, R8
	LEAQ (R8)(R8*2), R9
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

z4loop:
	CMPQ CX, $2
	JL   z4tail
	VMOVUPS (SI), Z8
	VCVTPH2PS (DI), Z10
	VFMADD231PS Z10, Z8, Z0
	VCVTPH2PS (DI)(R8*1), Z11
	VFMADD231PS Z11, Z8, Z1
	VCVTPH2PS (DI)(R8*2), Z12
	VFMADD231PS Z12, Z8, Z2
	VCVTPH2PS (DI)(R9*1), Z13
	VFMADD231PS Z13, Z8, Z3
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $2, CX
	JMP  z4loop

z4tail:
	VEXTRACTF64X4 $1, Z0, Y4
	VEXTRACTF64X4 $1, Z1, Y5
	VEXTRACTF64X4 $1, Z2, Y6
	VEXTRACTF64X4 $1, Z3, Y7
	TESTQ CX, CX
	JE    z4red
	VMOVUPS (SI), Y8
	VCVTPH2PS (DI), Y10
	VFMADD231PS Y10, Y8, Y0
	VCVTPH2PS (DI)(R8*1), Y11
	VFMADD231PS Y11, Y8, Y1
	VCVTPH2PS (DI)(R8*2), Y12
	VFMADD231PS Y12, Y8, Y2
	VCVTPH2PS (DI)(R9*1), Y13
	VFMADD231PS Y13, Y8, Y3

z4red:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	MOVQ out+32(FP), DX
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET
