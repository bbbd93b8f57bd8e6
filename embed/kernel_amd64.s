//go:build amd64 && !purego

#include "textflag.h"

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
