package embed

// The word2vec inner loop is a dot product and a fused double axpy (sgns) of
// length Dim per (context, target) sample. On amd64 with AVX2 and FMA they
// run in assembly (kernel_amd64.s); otherwise in the unrolled Go versions.
// The *Naive functions are the references the tests compare against.

// dot returns sum_i x[i]*y[i] over len(x). len(y) >= len(x).
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	if useAVX2 {
		return dotAVX2(x, y)
	}
	return dotGo(x, y)
}

// axpy computes y += a*x over len(x). len(y) >= len(x).
func axpy(y []float32, a float32, x []float32) {
	y = y[:len(x)]
	if useAVX2 {
		axpyAVX2(y, a, x)
		return
	}
	axpyGo(y, a, x)
}

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

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGo(y []float32, a float32, x []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

func dotNaive(x, y []float32) float32 {
	var s float32
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func axpyNaive(y []float32, a float32, x []float32) {
	for i := range x {
		y[i] += a * x[i]
	}
}

func sgnsNaive(neu, out, in []float32, g float32) {
	for i := range in {
		neu[i] += g * out[i]
		out[i] += g * in[i]
	}
}
