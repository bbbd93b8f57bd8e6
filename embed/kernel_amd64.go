//go:build amd64 && !purego

package embed

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotAVX2 returns sum_i x[i]*y[i] over len(x); len(y) >= len(x).
//
//go:noescape
func dotAVX2(x, y []float32) float32

// sgnsAVX2 is the negative-sampling update of one sample, over len(in):
// neu[i] += g*out[i]; out[i] += g*in[i] (out read before it is written).
//
//go:noescape
func sgnsAVX2(neu, out, in []float32, ga float32)

// axpyAVX2 computes y += a*x over len(x); len(y) >= len(x).
//
//go:noescape
func axpyAVX2(y []float32, a float32, x []float32)
