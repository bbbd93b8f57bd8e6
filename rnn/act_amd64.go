package rnn

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2+FMA activation kernels (act_amd64.s).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func sigmoidAVX(x *float32, n8 int)

//go:noescape
func tanhAVX(x *float32, n8 int)

// useAVX512 selects the 16-lane forms of sigmoid and tanh
// (act_amd64.s), which give the AVX2 kernels' bits.
var useAVX512 = useAVX2 && cpu.X86.HasAVX512F

//go:noescape
func sigmoidAVX512(x *float32, n16 int)

//go:noescape
func tanhAVX512(x *float32, n16 int)

// sigmoidVec replaces each x[i] with sigmoid(x[i]), sixteen or eight at a
// time.
func sigmoidVec(x []float32) {
	if useAVX512 && len(x) >= 16 {
		n16 := len(x) / 16
		sigmoidAVX512(&x[0], n16)
		x = x[16*n16:]
	}
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

// tanhVec replaces each x[i] with tanh(x[i]), sixteen or eight at a time.
func tanhVec(x []float32) {
	if useAVX512 && len(x) >= 16 {
		n16 := len(x) / 16
		tanhAVX512(&x[0], n16)
		x = x[16*n16:]
	}
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

//go:noescape
func expShiftSumAVX(dst, src *float32, n8 int, shift float32) float64

//go:noescape
func maxAVX(x *float32, n8 int) float32

// expShiftSum writes dst[i] = exp(src[i] - shift) and returns their sum,
// accumulated in float64. dst may alias src; len(dst) >= len(src), or dst
// is nil: only the sum is computed.
func expShiftSum(dst, src []float32, shift float32) float64 {
	n8 := len(src) / 8
	if !useAVX2 {
		n8 = 0
	}
	var s float64
	if n8 > 0 {
		var d *float32
		if dst != nil {
			_ = dst[len(src)-1]
			d = &dst[0]
		}
		s = expShiftSumAVX(d, &src[0], n8, shift)
	}
	for i := 8 * n8; i < len(src); i++ {
		e := expf(src[i] - shift)
		if dst != nil {
			dst[i] = e
		}
		s += float64(e)
	}
	return s
}

// maxOf returns the largest element of x (len(x) >= 1).
func maxOf(x []float32) float32 {
	n8 := len(x) / 8
	if !useAVX2 {
		n8 = 0
	}
	m := x[0]
	if n8 > 0 {
		m = maxAVX(&x[0], n8)
	}
	for _, v := range x[8*n8:] {
		m = max(m, v)
	}
	return m
}

//go:noescape
func addTanhAVX(dst, a, b *float32, n8 int)

// addTanh writes dst[i] = tanh(a[i] + b[i]); a, b and dst have the same length.
func addTanh(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	n8 := n / 8
	if !useAVX2 {
		n8 = 0
	}
	if n8 > 0 {
		addTanhAVX(&dst[0], &a[0], &b[0], n8)
	}
	for i := 8 * n8; i < n; i++ {
		dst[i] = tanh(a[i] + b[i])
	}
}

// sumSquares16 returns s + Σ x[i]² over 16*n16 floats (n16 >= 1), in
// float64 and in order.
//
//go:noescape
func sumSquares16(x *float32, n16 int, s float64) float64

// sumSquares returns Σ x[i]², each square in float64, added in order from
// 0: the same bits as the plain loop, with the data fetched ahead.
func sumSquares(x []float32) float64 {
	var s float64
	n16 := len(x) / 16
	if n16 > 0 {
		s = sumSquares16(&x[0], n16, s)
	}
	for _, g := range x[16*n16:] {
		s += float64(g) * float64(g)
	}
	return s
}

//go:noescape
func attnScoreGradAVX(gs float32, th, v, dv, dqp, dkp *float32, n8 int)

// attnScoreGrad is, for j < len(th), dv[j] += g*th[j]; d := g*v[j]*(1 -
// th[j]²); dqp[j] += d; dkp[j] += d: one key's share of the additive
// attention's score gradient. All slices have th's length.
func attnScoreGrad(g float32, th, v, dv, dqp, dkp []float32) {
	n := len(th)
	v, dv, dqp, dkp = v[:n], dv[:n], dqp[:n], dkp[:n]
	n8 := n / 8
	if !useAVX2 {
		n8 = 0
	}
	if n8 > 0 {
		attnScoreGradAVX(g, &th[0], &v[0], &dv[0], &dqp[0], &dkp[0], n8)
	}
	attnScoreGradGo(g, th[8*n8:], v[8*n8:], dv[8*n8:], dqp[8*n8:], dkp[8*n8:])
}
