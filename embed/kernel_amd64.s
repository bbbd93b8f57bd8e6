//go:build amd64 && !purego

#include "textflag.h"

// func dotAVX2(x, y []float32) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS X4, X4, X4
	XORQ AX, AX
	MOVQ CX, DX
	ANDQ $-16, DX
	JZ   dot8
dot16:
	VMOVUPS     (SI)(AX*4), Y2
	VMOVUPS     32(SI)(AX*4), Y3
	VFMADD231PS (DI)(AX*4), Y2, Y0
	VFMADD231PS 32(DI)(AX*4), Y3, Y1
	ADDQ        $16, AX
	CMPQ        AX, DX
	JL          dot16
dot8:
	MOVQ CX, DX
	SUBQ AX, DX
	CMPQ DX, $8
	JL   dottail
	VMOVUPS     (SI)(AX*4), Y2
	VFMADD231PS (DI)(AX*4), Y2, Y0
	ADDQ        $8, AX
dottail:
	CMPQ AX, CX
	JGE  dotdone
	VMOVSS      (SI)(AX*4), X2
	VFMADD231SS (DI)(AX*4), X2, X4
	INCQ        AX
	JMP         dottail
dotdone:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VADDSS       X4, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+48(FP)
	RET

// func sgnsAVX2(neu, out, in []float32, ga float32)
TEXT ·sgnsAVX2(SB), NOSPLIT, $0-76
	MOVQ         neu_base+0(FP), R8
	MOVQ         out_base+24(FP), DI
	MOVQ         in_base+48(FP), SI
	MOVQ         in_len+56(FP), CX
	VBROADCASTSS ga+72(FP), Y0
	XORQ         AX, AX
	MOVQ         CX, DX
	ANDQ         $-8, DX
	JZ           sgnstail
sgns8:
	VMOVUPS     (DI)(AX*4), Y1       // out
	VMOVUPS     (R8)(AX*4), Y2       // neu
	VFMADD231PS Y1, Y0, Y2           // neu += g*out
	VFMADD231PS (SI)(AX*4), Y0, Y1   // out += g*in
	VMOVUPS     Y2, (R8)(AX*4)
	VMOVUPS     Y1, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, DX
	JL          sgns8
sgnstail:
	CMPQ AX, CX
	JGE  sgnsdone
	VMOVSS      (DI)(AX*4), X1
	VMOVSS      (R8)(AX*4), X2
	VFMADD231SS X1, X0, X2
	VFMADD231SS (SI)(AX*4), X0, X1
	VMOVSS      X2, (R8)(AX*4)
	VMOVSS      X1, (DI)(AX*4)
	INCQ        AX
	JMP         sgnstail
sgnsdone:
	VZEROUPPER
	RET

// func axpyAVX2(y []float32, a float32, x []float32)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	MOVQ         y_base+0(FP), DI
	VBROADCASTSS a+24(FP), Y0
	MOVQ         x_base+32(FP), SI
	MOVQ         x_len+40(FP), CX
	XORQ         AX, AX
	MOVQ         CX, DX
	ANDQ         $-8, DX
	JZ           axpytail
axpy8:
	VMOVUPS     (SI)(AX*4), Y1
	VFMADD213PS (DI)(AX*4), Y0, Y1   // Y1 = a*x + y
	VMOVUPS     Y1, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, DX
	JL          axpy8
axpytail:
	CMPQ AX, CX
	JGE  axpydone
	VMOVSS      (SI)(AX*4), X1
	VFMADD213SS (DI)(AX*4), X0, X1
	VMOVSS      X1, (DI)(AX*4)
	INCQ        AX
	JMP         axpytail
axpydone:
	VZEROUPPER
	RET
