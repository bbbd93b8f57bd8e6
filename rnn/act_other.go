//go:build !amd64

package rnn

// sigmoidVec replaces each x[i] with sigmoid(x[i]).
func sigmoidVec(x []float32) {
	for i, v := range x {
		x[i] = sigmoid(v)
	}
}

// tanhVec replaces each x[i] with tanh(x[i]).
func tanhVec(x []float32) {
	for i, v := range x {
		x[i] = tanh(v)
	}
}

// expShiftSum writes dst[i] = exp(src[i] - shift) and returns their sum,
// accumulated in float64. dst may alias src; len(dst) >= len(src), or dst
// is nil: only the sum is computed.
func expShiftSum(dst, src []float32, shift float32) float64 {
	var s float64
	for i, v := range src {
		e := expf(v - shift)
		if dst != nil {
			dst[i] = e
		}
		s += float64(e)
	}
	return s
}

// maxOf returns the largest element of x (len(x) >= 1).
func maxOf(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	return m
}

// addTanh writes dst[i] = tanh(a[i] + b[i]); a, b and dst have the same length.
func addTanh(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = tanh(a[i] + b[i])
	}
}

// sumSquares returns Σ x[i]², each square in float64, added in order.
func sumSquares(x []float32) float64 {
	var s float64
	for _, g := range x {
		s += float64(g) * float64(g)
	}
	return s
}

// attnScoreGrad is, for j < len(th), dv[j] += g*th[j]; d := g*v[j]*(1 -
// th[j]²); dqp[j] += d; dkp[j] += d.
func attnScoreGrad(g float32, th, v, dv, dqp, dkp []float32) {
	attnScoreGradGo(g, th, v, dv, dqp, dkp)
}
