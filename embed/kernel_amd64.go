//go:build amd64 && !purego

package embed

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// sgnsAVX2 is the negative-sampling update of one sample, over len(in):
// neu[i] += g*out[i]; out[i] += g*in[i] (out read before it is written).
//
//go:noescape
func sgnsAVX2(neu, out, in []float32, ga float32)
