package optim

import "golang.org/x/sys/cpu"

// useAVX selects the vector Adam update (adam_amd64.s), which needs AVX
// (it uses no fused multiply-adds, so its results are the Go loop's bits).
// It follows the rest of rnnkit in asking for AVX2 and FMA.
var useAVX = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// adamAVX is eight lanes of adamUpdate.Range, n8 times.
//
//go:noescape
func adamAVX(pp, gp, mp, vp *float32, n8 int, k *adamConsts)
