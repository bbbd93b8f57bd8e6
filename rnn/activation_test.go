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

// TestExpShiftSumAndMax checks the vector exp-and-sum and max (the softmax
// kernels) against float64 references for every tail length, and that a
// NaN reaches the sum.
func TestExpShiftSumAndMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 64, 1001, 8000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 6)
		}
		want := x[0]
		for _, v := range x {
			want = max(want, v)
		}
		m := maxOf(x)
		if m != want {
			t.Fatalf("n=%d: maxOf = %g, want %g", n, m, want)
		}
		dst := make([]float32, n)
		s := expShiftSum(dst, x, m)
		var ref float64
		for i, v := range x {
			e := math.Exp(float64(v - m)) // the subtraction is float32 in both
			ref += e
			if d := math.Abs(float64(dst[i]) - e); d > 3e-7*e+1e-37 {
				t.Fatalf("n=%d: exp(x[%d]-m) = %g, want %g", n, i, dst[i], e)
			}
		}
		if math.Abs(s-ref) > 1e-6*ref {
			t.Fatalf("n=%d: sum %g, want %g", n, s, ref)
		}
		// in place
		s2 := expShiftSum(x, x, m)
		if s2 != s {
			t.Fatalf("n=%d: in-place sum %g differs from %g", n, s2, s)
		}
	}
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for i := range x {
		y := append([]float32(nil), x...)
		y[i] = float32(math.NaN())
		if s := expShiftSum(make([]float32, len(y)), y, 9); !math.IsNaN(s) {
			t.Fatalf("NaN at %d: sum %g, want NaN", i, s)
		}
	}
}

func TestExpShiftSumNilDst(t *testing.T) {
	x := make([]float32, 37)
	for i := range x {
		x[i] = float32(i) / 7
	}
	want := expShiftSum(make([]float32, len(x)), x, 2)
	if got := expShiftSum(nil, x, 2); got != want {
		t.Fatalf("sum without dst %g, with dst %g", got, want)
	}
}

func TestAddTanh(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 8, 13, 256} {
		a, b, got := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()*2), float32(rng.NormFloat64()*2)
		}
		addTanh(got, a, b)
		for i := range got {
			if d := math.Abs(float64(got[i]) - math.Tanh(float64(a[i]+b[i]))); d > 3e-7 {
				t.Fatalf("n=%d: tanh(%g+%g) = %g, off by %g", n, a[i], b[i], got[i], d)
			}
		}
	}
}

// TestSumSquaresIsTheLoop: GradNorm's sum is the plain float64 loop, bit
// for bit, at every length around the 16-float blocks, with wide ranges,
// denormals and infinities.
func TestSumSquaresIsTheLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 1000, 4099, 100003} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10)))
			if rng.IntN(500) == 0 {
				x[i] = math.Float32frombits(rng.Uint32() & 0x807fffff) // denormal
			}
		}
		var want float64
		for _, g := range x {
			want += float64(g) * float64(g)
		}
		if got := sumSquares(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("n=%d: %v, the loop gives %v", n, got, want)
		}
	}
	x := []float32{1, float32(math.Inf(1)), 2}
	if got := sumSquares(x); !math.IsInf(got, 1) {
		t.Fatalf("with +Inf: %v", got)
	}
}

// TestAttnScoreGradIsTheLoop: the vector score gradient of the additive
// attention gives the Go loop's bits at every length around 8.
func TestAttnScoreGradIsTheLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 7, 8, 9, 16, 23, 128, 256, 261} {
		r := func() []float32 { return randomProbe(rng, n) }
		th, v := r(), r()
		dv, dqp, dkp := r(), r(), r()
		wdv, wdqp, wdkp := append([]float32(nil), dv...), append([]float32(nil), dqp...), append([]float32(nil), dkp...)
		g := float32(rng.NormFloat64())
		attnScoreGrad(g, th, v, dv, dqp, dkp)
		attnScoreGradGo(g, th, v, wdv, wdqp, wdkp)
		for j := 0; j < n; j++ {
			if math.Float32bits(dv[j]) != math.Float32bits(wdv[j]) || math.Float32bits(dqp[j]) != math.Float32bits(wdqp[j]) || math.Float32bits(dkp[j]) != math.Float32bits(wdkp[j]) {
				t.Fatalf("n=%d, j=%d: %v %v %v, the loop gives %v %v %v", n, j, dv[j], dqp[j], dkp[j], wdv[j], wdqp[j], wdkp[j])
			}
		}
	}
}
