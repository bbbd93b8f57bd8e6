#include "textflag.h"

// func adamAVX(pp, gp, mp, vp *float32, n8 int, k *adamConsts)
//
// Eight lanes of adamUpdate.Range, operation for operation in the same order
// (no fused multiply-adds), so the results are bit-identical to the Go loop.
// k: b1, b2, c1, c2, stepSize, bc2Sqrt, eps, l2, decay (float32), then
// decoupled (uint32, 0 or 1).
TEXT ·adamAVX(SB), NOSPLIT, $0-48
	MOVQ pp+0(FP), DI
	MOVQ gp+8(FP), SI
	MOVQ mp+16(FP), R8
	MOVQ vp+24(FP), R9
	MOVQ n8+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // b1
	VBROADCASTSS 4(AX), Y9   // b2
	VBROADCASTSS 8(AX), Y10  // c1
	VBROADCASTSS 12(AX), Y11 // c2
	VBROADCASTSS 16(AX), Y12 // stepSize
	VBROADCASTSS 20(AX), Y13 // bc2Sqrt
	VBROADCASTSS 24(AX), Y14 // eps
	VBROADCASTSS 28(AX), Y15 // l2
	VBROADCASTSS 32(AX), Y7  // decay
	MOVL 36(AX), DX          // decoupled
loop:
	TESTQ CX, CX
	JZ done
	VMOVUPS (DI), Y0 // p
	VMOVUPS (SI), Y1 // g
	TESTL DX, DX
	JZ coupled
	VMULPS Y7, Y0, Y0 // p *= decay
	JMP moments
coupled:
	VMULPS Y15, Y0, Y2 // l2*p
	VADDPS Y2, Y1, Y1  // g += l2*p
moments:
	VMULPS (R8), Y8, Y2 // b1*m
	VMULPS Y1, Y10, Y3  // c1*g
	VADDPS Y3, Y2, Y2   // m' = b1*m + c1*g
	VMULPS (R9), Y9, Y3 // b2*v
	VMULPS Y1, Y11, Y4  // c2*g
	VMULPS Y1, Y4, Y4   // (c2*g)*g
	VADDPS Y4, Y3, Y3   // v' = b2*v + c2*g*g
	VMOVUPS Y2, (R8)
	VMOVUPS Y3, (R9)
	VSQRTPS Y3, Y4
	VDIVPS Y13, Y4, Y4  // sqrt(v')/bc2Sqrt
	VADDPS Y14, Y4, Y4  // + eps
	VMULPS Y2, Y12, Y5  // stepSize*m'
	VDIVPS Y4, Y5, Y5   // /(...)
	VSUBPS Y5, Y0, Y0   // p - ...
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JMP loop
done:
	VZEROUPPER
	RET
