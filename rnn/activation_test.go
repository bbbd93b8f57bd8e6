package rnn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFastActivationsMatchReference compares expf, sigmoid and tanh with
// their float64 math counterparts over the whole useful range.
func TestFastActivationsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var worstExp, worstSig, worstTanh float64
	check := func(x float32) {
		if x > -87 && x < 88 {
			want := float64(expfRef(x))
			worstExp = math.Max(worstExp, math.Abs(float64(expf(x))-want)/want)
		}
		worstSig = math.Max(worstSig, math.Abs(float64(sigmoid(x))-1/(1+math.Exp(-float64(x)))))
		worstTanh = math.Max(worstTanh, math.Abs(float64(tanh(x))-math.Tanh(float64(x))))
	}
	for i := 0; i < 200000; i++ {
		check(float32(rng.Float64()*200 - 100))
		check(float32(rng.NormFloat64() * 3))
		check(float32(rng.NormFloat64() * 1e-3))
	}
	for _, x := range []float32{0, -0.0625, 0.0625, 9.1, -9.1, 88, -87, 1e-30} {
		check(x)
	}
	if worstExp > 3e-7 || worstSig > 2e-7 || worstTanh > 3e-7 {
		t.Fatalf("worst errors: exp rel %.2g, sigmoid abs %.2g, tanh abs %.2g", worstExp, worstSig, worstTanh)
	}
	if !math.IsInf(float64(expf(100)), 1) || expf(-100) != 0 || tanh(50) != 1 || tanh(-50) != -1 || sigmoid(-200) != 0 {
		t.Fatal("saturation is wrong")
	}
}

func BenchmarkSigmoid(b *testing.B) {
	xs := randomProbe(rand.New(rand.NewPCG(1, 1)), 1024)
	var s float32
	for i := 0; i < b.N; i++ {
		for _, x := range xs {
			s += sigmoid(x)
		}
	}
	_ = s
}

// TestVectorActivations checks the block (AVX2 on amd64) sigmoid and tanh
// against float64 math, including lengths that leave a scalar tail,
// saturation, and NaN, which must propagate (a NaN turned into a finite
// number would hide a numerical fault from training's checks).
func TestVectorActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 1003} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 6)
		}
		if n > 3 {
			x[0], x[1], x[2] = 100, -100, 0
		}
		s, th := append([]float32(nil), x...), append([]float32(nil), x...)
		sigmoidVec(s)
		tanhVec(th)
		for i, v := range x {
			if d := math.Abs(float64(s[i]) - 1/(1+math.Exp(-float64(v)))); d > 1e-6 {
				t.Fatalf("n=%d sigmoid(%v) = %v, error %g", n, v, s[i], d)
			}
			if d := math.Abs(float64(th[i]) - math.Tanh(float64(v))); d > 1e-6 {
				t.Fatalf("n=%d tanh(%v) = %v, error %g", n, v, th[i], d)
			}
		}
	}
	nan := float32(math.NaN())
	for _, f := range []func([]float32){sigmoidVec, tanhVec} {
		x := []float32{1, 2, nan, 4, 5, 6, 7, 8, nan}
		f(x)
		if !math.IsNaN(float64(x[2])) || !math.IsNaN(float64(x[8])) {
			t.Fatalf("NaN did not propagate: %v", x)
		}
	}
}

func BenchmarkSigmoidVec(b *testing.B) {
	xs := randomProbe(rand.New(rand.NewPCG(1, 1)), 1024)
	for i := 0; i < b.N; i++ {
		sigmoidVec(xs)
	}
}
