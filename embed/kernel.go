package embed

// The word2vec inner loop is a dot product (kernel.Dot), the fused double
// axpy sgns below, and a kernel.Axpy, each of length Dim per (context,
// target) sample. sgns exists only here: on amd64 with AVX2 and FMA it runs
// in assembly (kernel_amd64.s), otherwise in Go. sgnsNaive is the reference
// the tests compare against.

// sgns is one negative-sampling update: neu += g*out; out += g*in, reading
// out before writing it. neu, out, in: (Dim,).
func sgns(neu, out, in []float32, g float32) {
	neu, out = neu[:len(in)], out[:len(in)]
	if useAVX2 {
		sgnsAVX2(neu, out, in, g)
		return
	}
	sgnsGo(neu, out, in, g)
}

func sgnsGo(neu, out, in []float32, g float32) {
	neu, out = neu[:len(in)], out[:len(in)]
	for i, x := range in {
		o := out[i]
		neu[i] += g * o
		out[i] = o + g*x
	}
}

func sgnsNaive(neu, out, in []float32, g float32) {
	for i := range in {
		neu[i] += g * out[i]
		out[i] += g * in[i]
	}
}
