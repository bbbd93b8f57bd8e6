package rnn

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2+FMA activation kernels (act_amd64.s).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func sigmoidAVX(x *float32, n8 int)

//go:noescape
func tanhAVX(x *float32, n8 int)

// sigmoidVec replaces each x[i] with sigmoid(x[i]), eight at a time.
func sigmoidVec(x []float32) {
	n8 := len(x) / 8
	if !useAVX2 {
		n8 = 0
	}
	if n8 > 0 {
		sigmoidAVX(&x[0], n8)
	}
	for i := 8 * n8; i < len(x); i++ {
		x[i] = sigmoid(x[i])
	}
}

// tanhVec replaces each x[i] with tanh(x[i]), eight at a time.
func tanhVec(x []float32) {
	n8 := len(x) / 8
	if !useAVX2 {
		n8 = 0
	}
	if n8 > 0 {
		tanhAVX(&x[0], n8)
	}
	for i := 8 * n8; i < len(x); i++ {
		x[i] = tanh(x[i])
	}
}
