package rnn

import "math"

// expf is a float32 e^x for the cell nonlinearities: Cody-Waite range
// reduction x = n·ln2 + r, |r| ≤ ln2/2, a degree-6 polynomial for e^r (the
// Cephes expf coefficients), and 2^n applied through the exponent bits.
// Relative error is below 2e-7 on [-87, 88]; beyond that it saturates to 0
// or +Inf like math.Exp. expfRef is its reference.
func expf(x float32) float32 {
	if x > 88.3762626647949 {
		return float32(math.Inf(1))
	}
	if x < -87.33654475 {
		return 0
	}
	if x != x {
		return x
	}
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*c1 - n*c2
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

func expfRef(x float32) float32 { return float32(math.Exp(float64(x))) }

// sigmoid is 1/(1+e^-x) in float32.
func sigmoid(x float32) float32 {
	if x < -80 {
		return 0
	}
	return 1 / (1 + expf(-x))
}

// tanh is float32 tanh: 1 - 2/(e^{2x}+1), with the odd-series form near 0
// to keep relative accuracy for small |x|.
func tanh(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < 0.0625 {
		x2 := x * x
		return x * (1 + x2*(-1.0/3+x2*(2.0/15-x2*17.0/315)))
	}
	if a > 9.1 {
		if x > 0 {
			return 1
		}
		return -1
	}
	return 1 - 2/(expf(2*x)+1)
}
