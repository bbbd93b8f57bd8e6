#include "textflag.h"

DATA hi<>+0(SB)/4, $0x42b0c0a5
DATA hi<>+4(SB)/4, $0x42b0c0a5
DATA hi<>+8(SB)/4, $0x42b0c0a5
DATA hi<>+12(SB)/4, $0x42b0c0a5
DATA hi<>+16(SB)/4, $0x42b0c0a5
DATA hi<>+20(SB)/4, $0x42b0c0a5
DATA hi<>+24(SB)/4, $0x42b0c0a5
DATA hi<>+28(SB)/4, $0x42b0c0a5
GLOBL hi<>(SB), RODATA|NOPTR, $32
DATA lo<>+0(SB)/4, $0xc2aeac50
DATA lo<>+4(SB)/4, $0xc2aeac50
DATA lo<>+8(SB)/4, $0xc2aeac50
DATA lo<>+12(SB)/4, $0xc2aeac50
DATA lo<>+16(SB)/4, $0xc2aeac50
DATA lo<>+20(SB)/4, $0xc2aeac50
DATA lo<>+24(SB)/4, $0xc2aeac50
DATA lo<>+28(SB)/4, $0xc2aeac50
GLOBL lo<>(SB), RODATA|NOPTR, $32
DATA log2e<>+0(SB)/4, $0x3fb8aa3b
DATA log2e<>+4(SB)/4, $0x3fb8aa3b
DATA log2e<>+8(SB)/4, $0x3fb8aa3b
DATA log2e<>+12(SB)/4, $0x3fb8aa3b
DATA log2e<>+16(SB)/4, $0x3fb8aa3b
DATA log2e<>+20(SB)/4, $0x3fb8aa3b
DATA log2e<>+24(SB)/4, $0x3fb8aa3b
DATA log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e<>(SB), RODATA|NOPTR, $32
DATA half<>+0(SB)/4, $0x3f000000
DATA half<>+4(SB)/4, $0x3f000000
DATA half<>+8(SB)/4, $0x3f000000
DATA half<>+12(SB)/4, $0x3f000000
DATA half<>+16(SB)/4, $0x3f000000
DATA half<>+20(SB)/4, $0x3f000000
DATA half<>+24(SB)/4, $0x3f000000
DATA half<>+28(SB)/4, $0x3f000000
GLOBL half<>(SB), RODATA|NOPTR, $32
DATA c1<>+0(SB)/4, $0x3f318000
DATA c1<>+4(SB)/4, $0x3f318000
DATA c1<>+8(SB)/4, $0x3f318000
DATA c1<>+12(SB)/4, $0x3f318000
DATA c1<>+16(SB)/4, $0x3f318000
DATA c1<>+20(SB)/4, $0x3f318000
DATA c1<>+24(SB)/4, $0x3f318000
DATA c1<>+28(SB)/4, $0x3f318000
GLOBL c1<>(SB), RODATA|NOPTR, $32
DATA c2<>+0(SB)/4, $0xb95e8083
DATA c2<>+4(SB)/4, $0xb95e8083
DATA c2<>+8(SB)/4, $0xb95e8083
DATA c2<>+12(SB)/4, $0xb95e8083
DATA c2<>+16(SB)/4, $0xb95e8083
DATA c2<>+20(SB)/4, $0xb95e8083
DATA c2<>+24(SB)/4, $0xb95e8083
DATA c2<>+28(SB)/4, $0xb95e8083
GLOBL c2<>(SB), RODATA|NOPTR, $32
DATA p0<>+0(SB)/4, $0x39506967
DATA p0<>+4(SB)/4, $0x39506967
DATA p0<>+8(SB)/4, $0x39506967
DATA p0<>+12(SB)/4, $0x39506967
DATA p0<>+16(SB)/4, $0x39506967
DATA p0<>+20(SB)/4, $0x39506967
DATA p0<>+24(SB)/4, $0x39506967
DATA p0<>+28(SB)/4, $0x39506967
GLOBL p0<>(SB), RODATA|NOPTR, $32
DATA p1<>+0(SB)/4, $0x3ab743ce
DATA p1<>+4(SB)/4, $0x3ab743ce
DATA p1<>+8(SB)/4, $0x3ab743ce
DATA p1<>+12(SB)/4, $0x3ab743ce
DATA p1<>+16(SB)/4, $0x3ab743ce
DATA p1<>+20(SB)/4, $0x3ab743ce
DATA p1<>+24(SB)/4, $0x3ab743ce
DATA p1<>+28(SB)/4, $0x3ab743ce
GLOBL p1<>(SB), RODATA|NOPTR, $32
DATA p2<>+0(SB)/4, $0x3c088908
DATA p2<>+4(SB)/4, $0x3c088908
DATA p2<>+8(SB)/4, $0x3c088908
DATA p2<>+12(SB)/4, $0x3c088908
DATA p2<>+16(SB)/4, $0x3c088908
DATA p2<>+20(SB)/4, $0x3c088908
DATA p2<>+24(SB)/4, $0x3c088908
DATA p2<>+28(SB)/4, $0x3c088908
GLOBL p2<>(SB), RODATA|NOPTR, $32
DATA p3<>+0(SB)/4, $0x3d2aa9c1
DATA p3<>+4(SB)/4, $0x3d2aa9c1
DATA p3<>+8(SB)/4, $0x3d2aa9c1
DATA p3<>+12(SB)/4, $0x3d2aa9c1
DATA p3<>+16(SB)/4, $0x3d2aa9c1
DATA p3<>+20(SB)/4, $0x3d2aa9c1
DATA p3<>+24(SB)/4, $0x3d2aa9c1
DATA p3<>+28(SB)/4, $0x3d2aa9c1
GLOBL p3<>(SB), RODATA|NOPTR, $32
DATA p4<>+0(SB)/4, $0x3e2aaaaa
DATA p4<>+4(SB)/4, $0x3e2aaaaa
DATA p4<>+8(SB)/4, $0x3e2aaaaa
DATA p4<>+12(SB)/4, $0x3e2aaaaa
DATA p4<>+16(SB)/4, $0x3e2aaaaa
DATA p4<>+20(SB)/4, $0x3e2aaaaa
DATA p4<>+24(SB)/4, $0x3e2aaaaa
DATA p4<>+28(SB)/4, $0x3e2aaaaa
GLOBL p4<>(SB), RODATA|NOPTR, $32
DATA p5<>+0(SB)/4, $0x3f000000
DATA p5<>+4(SB)/4, $0x3f000000
DATA p5<>+8(SB)/4, $0x3f000000
DATA p5<>+12(SB)/4, $0x3f000000
DATA p5<>+16(SB)/4, $0x3f000000
DATA p5<>+20(SB)/4, $0x3f000000
DATA p5<>+24(SB)/4, $0x3f000000
DATA p5<>+28(SB)/4, $0x3f000000
GLOBL p5<>(SB), RODATA|NOPTR, $32
DATA one<>+0(SB)/4, $0x3f800000
DATA one<>+4(SB)/4, $0x3f800000
DATA one<>+8(SB)/4, $0x3f800000
DATA one<>+12(SB)/4, $0x3f800000
DATA one<>+16(SB)/4, $0x3f800000
DATA one<>+20(SB)/4, $0x3f800000
DATA one<>+24(SB)/4, $0x3f800000
DATA one<>+28(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $32
DATA two<>+0(SB)/4, $0x40000000
DATA two<>+4(SB)/4, $0x40000000
DATA two<>+8(SB)/4, $0x40000000
DATA two<>+12(SB)/4, $0x40000000
DATA two<>+16(SB)/4, $0x40000000
DATA two<>+20(SB)/4, $0x40000000
DATA two<>+24(SB)/4, $0x40000000
DATA two<>+28(SB)/4, $0x40000000
GLOBL two<>(SB), RODATA|NOPTR, $32
DATA neg1<>+0(SB)/4, $0xbf800000
DATA neg1<>+4(SB)/4, $0xbf800000
DATA neg1<>+8(SB)/4, $0xbf800000
DATA neg1<>+12(SB)/4, $0xbf800000
DATA neg1<>+16(SB)/4, $0xbf800000
DATA neg1<>+20(SB)/4, $0xbf800000
DATA neg1<>+24(SB)/4, $0xbf800000
DATA neg1<>+28(SB)/4, $0xbf800000
GLOBL neg1<>(SB), RODATA|NOPTR, $32
DATA neg2<>+0(SB)/4, $0xc0000000
DATA neg2<>+4(SB)/4, $0xc0000000
DATA neg2<>+8(SB)/4, $0xc0000000
DATA neg2<>+12(SB)/4, $0xc0000000
DATA neg2<>+16(SB)/4, $0xc0000000
DATA neg2<>+20(SB)/4, $0xc0000000
DATA neg2<>+24(SB)/4, $0xc0000000
DATA neg2<>+28(SB)/4, $0xc0000000
GLOBL neg2<>(SB), RODATA|NOPTR, $32
DATA i127<>+0(SB)/4, $127
DATA i127<>+4(SB)/4, $127
DATA i127<>+8(SB)/4, $127
DATA i127<>+12(SB)/4, $127
DATA i127<>+16(SB)/4, $127
DATA i127<>+20(SB)/4, $127
DATA i127<>+24(SB)/4, $127
DATA i127<>+28(SB)/4, $127
GLOBL i127<>(SB), RODATA|NOPTR, $32

// exp of Y0 in place (Cephes expf, as rnn.expf); clobbers Y1-Y3. Y9 and Y10
// hold the clamp bounds; x is the second source of VMINPS/VMAXPS, which is
// what they return when an operand is NaN, so NaN propagates.
#define EXP8 \
	VMINPS Y0, Y9, Y0; \
	VMAXPS Y0, Y10, Y0; \
	VMOVAPS Y0, Y1; \
	VFMADD213PS half<>(SB), Y8, Y1; \
	VROUNDPS $1, Y1, Y1; \
	VFNMADD231PS c1<>(SB), Y1, Y0; \
	VFNMADD231PS c2<>(SB), Y1, Y0; \
	VMOVUPS p0<>(SB), Y2; \
	VFMADD213PS p1<>(SB), Y0, Y2; \
	VFMADD213PS p2<>(SB), Y0, Y2; \
	VFMADD213PS p3<>(SB), Y0, Y2; \
	VFMADD213PS p4<>(SB), Y0, Y2; \
	VFMADD213PS p5<>(SB), Y0, Y2; \
	VMULPS Y0, Y0, Y3; \
	VFMADD213PS Y0, Y3, Y2; \
	VADDPS Y12, Y2, Y2; \
	VCVTPS2DQ Y1, Y1; \
	VPADDD i127<>(SB), Y1, Y1; \
	VPSLLD $23, Y1, Y1; \
	VMULPS Y1, Y2, Y0

// EXP8_CONSTS loads the registers EXP8 reads: log2e, the clamp bounds, one.
#define EXP8_CONSTS \
	VMOVUPS log2e<>(SB), Y8; \
	VMOVUPS hi<>(SB), Y9; \
	VMOVUPS lo<>(SB), Y10; \
	VMOVUPS one<>(SB), Y12

// func sigmoidAVX(x *float32, n8 int): x[i] = 1/(1+exp(-x[i])), i < 8*n8.
TEXT ·sigmoidAVX(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	EXP8_CONSTS
sloop:
	TESTQ CX, CX
	JZ sdone
	VMOVUPS (SI), Y0
	VMULPS neg1<>(SB), Y0, Y0
	EXP8
	VADDPS Y12, Y0, Y0
	VDIVPS Y0, Y12, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JMP sloop
sdone:
	VZEROUPPER
	RET

// func tanhAVX(x *float32, n8 int): x[i] = 2/(1+exp(-2x[i])) - 1, i < 8*n8.
TEXT ·tanhAVX(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	EXP8_CONSTS
	VMOVUPS two<>(SB), Y13
tloop:
	TESTQ CX, CX
	JZ tdone
	VMOVUPS (SI), Y0
	VMULPS neg2<>(SB), Y0, Y0
	EXP8
	VADDPS Y12, Y0, Y0
	VDIVPS Y0, Y13, Y0
	VSUBPS Y12, Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JMP tloop
tdone:
	VZEROUPPER
	RET

// func expShiftSumAVX(dst, src *float32, n8 int, shift float32) float64:
// dst[i] = exp(src[i] - shift) for i < 8*n8 (nothing is stored when dst is
// nil); returns Σ exp(src[i] - shift), accumulated
// in float64 (four lanes for the low half of each vector, four for the
// high half, added at the end).
TEXT ·expShiftSumAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n8+16(FP), CX
	VBROADCASTSS shift+24(FP), Y11
	EXP8_CONSTS
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
eloop:
	TESTQ CX, CX
	JZ edone
	VMOVUPS (SI), Y0
	VSUBPS Y11, Y0, Y0
	EXP8
	TESTQ DI, DI
	JZ enostore
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
enostore:
	VCVTPS2PD X0, Y4
	VEXTRACTF128 $1, Y0, X5
	VCVTPS2PD X5, Y5
	VADDPD Y4, Y6, Y6
	VADDPD Y5, Y7, Y7
	ADDQ $32, SI
	DECQ CX
	JMP eloop
edone:
	VADDPD Y7, Y6, Y6
	VEXTRACTF128 $1, Y6, X7
	VADDPD X7, X6, X6
	VPERMILPD $1, X6, X7
	VADDSD X7, X6, X6
	MOVSD X6, ret+32(FP)
	VZEROUPPER
	RET

// func maxAVX(x *float32, n8 int) float32: the largest of x[0:8*n8], n8 >= 1.
TEXT ·maxAVX(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	VMOVUPS (SI), Y0
	ADDQ $32, SI
	DECQ CX
mloop:
	TESTQ CX, CX
	JZ mdone
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JMP mloop
mdone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func addTanhAVX(dst, a, b *float32, n8 int): dst[i] = tanh(a[i] + b[i]),
// i < 8*n8, as tanhAVX.
TEXT ·addTanhAVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n8+24(FP), CX
	EXP8_CONSTS
	VMOVUPS two<>(SB), Y13
aloop:
	TESTQ CX, CX
	JZ adone
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMULPS neg2<>(SB), Y0, Y0
	EXP8
	VADDPS Y12, Y0, Y0
	VDIVPS Y0, Y13, Y0
	VSUBPS Y12, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JMP aloop
adone:
	VZEROUPPER
	RET

// func sumSquares16(x *float32, n16 int, s float64) float64
// s + x[0]² + x[1]² + ... over 16*n16 floats, each square in float64 and
// added in order, exactly as the Go loop in Params.GradNorm; it only
// fetches the data 2 KB ahead, which the gradient buffers (far larger than
// the caches) need to stream at the speed of the additions.
TEXT ·sumSquares16(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n16+8(FP), CX
	MOVSD s+16(FP), X0

#define SQADD(off) \
	MOVSS off(SI), X1; \
	CVTSS2SD X1, X1; \
	MULSD X1, X1; \
	ADDSD X1, X0

sqloop:
	PREFETCHT0 2048(SI)
	SQADD(0)
	SQADD(4)
	SQADD(8)
	SQADD(12)
	SQADD(16)
	SQADD(20)
	SQADD(24)
	SQADD(28)
	SQADD(32)
	SQADD(36)
	SQADD(40)
	SQADD(44)
	SQADD(48)
	SQADD(52)
	SQADD(56)
	SQADD(60)
	ADDQ $64, SI
	DECQ CX
	JNZ  sqloop
	MOVSD X0, ret+24(FP)
	RET

// func attnScoreGradAVX(gs float32, th, v, dv, dqp, dkp *float32, n8 int)
// Eight lanes of the additive attention's score backward
// (attnBackward.Range, part 1), operation for operation as the Go loop
// (no fused multiply-adds), so the results are its bits:
//	dv += g*t; d := (g*v) * (1 - t*t); dqp += d; dkp += d
TEXT ·attnScoreGradAVX(SB), NOSPLIT, $0-56
	VBROADCASTSS gs+0(FP), Y8
	MOVQ th+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ dv+24(FP), DI
	MOVQ dqp+32(FP), R8
	MOVQ dkp+40(FP), R9
	MOVQ n8+48(FP), CX
	MOVQ $0x3f800000, AX
	MOVQ AX, X9
	VBROADCASTSS X9, Y9 // 1
sgloop:
	VMOVUPS (SI), Y0      // t
	VMULPS Y0, Y8, Y1     // g*t
	VADDPS (DI), Y1, Y1   // dv + g*t
	VMOVUPS Y1, (DI)
	VMULPS (DX), Y8, Y2   // g*v
	VMULPS Y0, Y0, Y3     // t*t
	VSUBPS Y3, Y9, Y3     // 1 - t*t
	VMULPS Y3, Y2, Y2     // d
	VADDPS (R8), Y2, Y4
	VMOVUPS Y4, (R8)
	VADDPS (R9), Y2, Y5
	VMOVUPS Y5, (R9)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  sgloop
	VZEROUPPER
	RET


// sigmoid and tanh on 16 lanes (AVX-512F): EXP8 and its
// callers instruction for instruction on ZMM registers, with the constants
// in registers, so every lane gets the bits the AVX2 kernels give
// (VRNDSCALEPS $1 is VROUNDPS $1: round down). The constants are the first
// dword of the tables above.

// EXP16 is EXP8 on Z0; clobbers Z1-Z3. Needs EXP16_CONSTS.
#define EXP16 \
	VMINPS Z0, Z9, Z0; \
	VMAXPS Z0, Z10, Z0; \
	VMOVAPS Z0, Z1; \
	VFMADD213PS Z14, Z8, Z1; \
	VRNDSCALEPS $1, Z1, Z1; \
	VFNMADD231PS Z15, Z1, Z0; \
	VFNMADD231PS Z16, Z1, Z0; \
	VMOVAPS Z17, Z2; \
	VFMADD213PS Z18, Z0, Z2; \
	VFMADD213PS Z19, Z0, Z2; \
	VFMADD213PS Z20, Z0, Z2; \
	VFMADD213PS Z21, Z0, Z2; \
	VFMADD213PS Z22, Z0, Z2; \
	VMULPS Z0, Z0, Z3; \
	VFMADD213PS Z0, Z3, Z2; \
	VADDPS Z12, Z2, Z2; \
	VCVTPS2DQ Z1, Z1; \
	VPADDD Z23, Z1, Z1; \
	VPSLLD $23, Z1, Z1; \
	VMULPS Z1, Z2, Z0

#define EXP16_CONSTS \
	VBROADCASTSS log2e<>(SB), Z8; \
	VBROADCASTSS hi<>(SB), Z9; \
	VBROADCASTSS lo<>(SB), Z10; \
	VBROADCASTSS one<>(SB), Z12; \
	VBROADCASTSS half<>(SB), Z14; \
	VBROADCASTSS c1<>(SB), Z15; \
	VBROADCASTSS c2<>(SB), Z16; \
	VBROADCASTSS p0<>(SB), Z17; \
	VBROADCASTSS p1<>(SB), Z18; \
	VBROADCASTSS p2<>(SB), Z19; \
	VBROADCASTSS p3<>(SB), Z20; \
	VBROADCASTSS p4<>(SB), Z21; \
	VBROADCASTSS p5<>(SB), Z22; \
	VPBROADCASTD i127<>(SB), Z23

// func sigmoidAVX512(x *float32, n16 int): x[i] = 1/(1+exp(-x[i])), i < 16*n16.
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n16+8(FP), CX
	EXP16_CONSTS
	VBROADCASTSS neg1<>(SB), Z24
s16loop:
	TESTQ CX, CX
	JZ s16done
	VMOVUPS (SI), Z0
	VMULPS Z24, Z0, Z0
	EXP16
	VADDPS Z12, Z0, Z0
	VDIVPS Z0, Z12, Z0
	VMOVUPS Z0, (SI)
	ADDQ $64, SI
	DECQ CX
	JMP s16loop
s16done:
	VZEROUPPER
	RET

// func tanhAVX512(x *float32, n16 int): x[i] = 2/(1+exp(-2x[i])) - 1, i < 16*n16.
TEXT ·tanhAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n16+8(FP), CX
	EXP16_CONSTS
	VBROADCASTSS two<>(SB), Z13
	VBROADCASTSS neg2<>(SB), Z24
t16loop:
	TESTQ CX, CX
	JZ t16done
	VMOVUPS (SI), Z0
	VMULPS Z24, Z0, Z0
	EXP16
	VADDPS Z12, Z0, Z0
	VDIVPS Z0, Z13, Z0
	VSUBPS Z12, Z0, Z0
	VMOVUPS Z0, (SI)
	ADDQ $64, SI
	DECQ CX
	JMP t16loop
t16done:
	VZEROUPPER
	RET
