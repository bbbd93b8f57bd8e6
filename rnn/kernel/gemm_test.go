package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

type gemmFunc func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

type gemmCase struct {
	tA, tB           blas.Transpose
	m, n, k          int
	alpha, beta      float32
	padA, padB, padC int
}

func (tc gemmCase) String() string {
	t := func(x blas.Transpose) string {
		if x == blas.NoTrans {
			return "N"
		}
		return "T"
	}
	return fmt.Sprintf("%s%s/m=%d/n=%d/k=%d/alpha=%g/beta=%g/pad=%d,%d,%d", t(tA(tc)), t(tc.tB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC)
}

func tA(tc gemmCase) blas.Transpose { return tc.tA }

// checkGemmCase runs f and the naive reference on the same random data and
// compares with relative tolerance 1e-5*(k+1). Small problems are compared
// whole against SgemmNaive; large ones on the border rows and columns and a
// random sample of elements, each computed like SgemmNaive does.
func checkGemmCase(t *testing.T, rng *rand.Rand, f gemmFunc, tc gemmCase) {
	t.Helper()
	aRows, aCols := tc.m, tc.k
	if tc.tA != blas.NoTrans {
		aRows, aCols = tc.k, tc.m
	}
	bRows, bCols := tc.k, tc.n
	if tc.tB != blas.NoTrans {
		bRows, bCols = tc.n, tc.k
	}
	lda, ldb, ldc := max(1, aCols)+tc.padA, max(1, bCols)+tc.padB, tc.n+tc.padC
	a := randSlice(rng, max(1, aRows*lda))
	b := randSlice(rng, max(1, bRows*ldb))
	c := randSlice(rng, tc.m*ldc)
	got := append([]float32(nil), c...)
	f(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
	tol := 1e-5 * float64(tc.k+1)
	check := func(i, j int, w float32) {
		g := got[i*ldc+j]
		if d := math.Abs(float64(g - w)); d > tol*math.Max(1, math.Abs(float64(w))) || math.IsNaN(float64(g)) {
			t.Fatalf("%v: C[%d,%d] = %g, want %g (diff %g)", tc, i, j, g, w, d)
		}
	}
	for i := 0; i < tc.m; i++ {
		for j := tc.n; j < ldc; j++ {
			if got[i*ldc+j] != c[i*ldc+j] {
				t.Fatalf("%v: padding C[%d,%d] written: %g", tc, i, j, got[i*ldc+j])
			}
		}
	}
	if tc.m*tc.n*tc.k <= 1<<20 {
		want := append([]float32(nil), c...)
		SgemmNaive(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				check(i, j, want[i*ldc+j])
			}
		}
		return
	}
	elem := func(i, j int) float32 {
		var s float32
		for p := 0; p < tc.k; p++ {
			var av, bv float32
			if tc.tA == blas.NoTrans {
				av = a[i*lda+p]
			} else {
				av = a[p*lda+i]
			}
			if tc.tB == blas.NoTrans {
				bv = b[p*ldb+j]
			} else {
				bv = b[j*ldb+p]
			}
			s += av * bv
		}
		if tc.beta == 0 {
			return tc.alpha * s
		}
		return tc.alpha*s + tc.beta*c[i*ldc+j]
	}
	for i := 0; i < tc.m; i++ {
		check(i, 0, elem(i, 0))
		check(i, tc.n-1, elem(i, tc.n-1))
	}
	for j := 0; j < tc.n; j++ {
		check(0, j, elem(0, j))
		check(tc.m-1, j, elem(tc.m-1, j))
	}
	for range 2000 {
		i, j := rng.IntN(tc.m), rng.IntN(tc.n)
		check(i, j, elem(i, j))
	}
}

var testDims = []int{1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 64, 100, 257}

var transposes = []blas.Transpose{blas.NoTrans, blas.Trans}

func randomCases(seed uint64, count int) []gemmCase {
	rng := rand.New(rand.NewPCG(seed, 1))
	alphas := []float32{1, 0.5}
	betas := []float32{0, 1, -0.3}
	var cases []gemmCase
	// Every (m, n) pair with every transpose combination, k drawn from the
	// same set; then random triples.
	for _, ta := range transposes {
		for _, tb := range transposes {
			for _, m := range testDims {
				for _, n := range testDims {
					cases = append(cases, gemmCase{ta, tb, m, n, testDims[rng.IntN(len(testDims))],
						alphas[rng.IntN(2)], betas[rng.IntN(3)], rng.IntN(3), rng.IntN(3), rng.IntN(3)})
				}
			}
		}
	}
	for range count {
		cases = append(cases, gemmCase{transposes[rng.IntN(2)], transposes[rng.IntN(2)],
			testDims[rng.IntN(len(testDims))], testDims[rng.IntN(len(testDims))], testDims[rng.IntN(len(testDims))],
			alphas[rng.IntN(2)], betas[rng.IntN(3)], rng.IntN(5), rng.IntN(5), rng.IntN(5)})
	}
	return cases
}

func TestSgemmRandom(t *testing.T) {
	impls := []struct {
		name    string
		f       gemmFunc
		threads int
	}{
		{"Sgemm", Sgemm, 0},
		{"Sgemm/1thread", Sgemm, 1},
		{"Sgemm/3threads", Sgemm, 3},
		{"SgemmGeneric", SgemmGeneric, 0},
	}
	for i, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			SetThreads(impl.threads)
			defer SetThreads(0)
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			for _, tc := range randomCases(uint64(i), 200) {
				checkGemmCase(t, rng, impl.f, tc)
			}
		})
	}
}

// lstmShapes are the products of LSTM training and sampling (B=32, H=256,
// 4H=1024, T=64, embedding 64, vocab 65).
var lstmShapes = []struct {
	name    string
	tA, tB  blas.Transpose
	m, n, k int
	beta    float32
}{
	{"fwd_hh_32x1024x256", blas.NoTrans, blas.Trans, 32, 1024, 256, 1},
	{"fwd_ih_2048x1024x64", blas.NoTrans, blas.Trans, 2048, 1024, 64, 0},
	{"fwd_ih_2048x1024x256", blas.NoTrans, blas.Trans, 2048, 1024, 256, 0},
	{"bwd_dW_1024x256x2048", blas.Trans, blas.NoTrans, 1024, 256, 2048, 1},
	{"bwd_dW_1024x256x32", blas.Trans, blas.NoTrans, 1024, 256, 32, 1},
	{"bwd_dh_32x256x1024", blas.NoTrans, blas.NoTrans, 32, 256, 1024, 0},
	{"out_2048x65x256", blas.NoTrans, blas.Trans, 2048, 65, 256, 0},
	{"gemv_1x1024x256", blas.NoTrans, blas.Trans, 1, 1024, 256, 1},
	{"gemv_1024x1x256", blas.NoTrans, blas.NoTrans, 1024, 1, 256, 1},
}

func TestSgemmLSTMShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, s := range lstmShapes {
		t.Run(s.name, func(t *testing.T) {
			tc := gemmCase{tA: s.tA, tB: s.tB, m: s.m, n: s.n, k: s.k, alpha: 1, beta: s.beta}
			checkGemmCase(t, rng, Sgemm, tc)
			tc.alpha, tc.padA, tc.padB, tc.padC = 0.5, 3, 1, 2
			checkGemmCase(t, rng, Sgemm, tc)
			checkGemmCase(t, rng, SgemmGeneric, tc)
		})
	}
}

// Edge paths: transposed vector operands of the m == 1 / n == 1 paths.
func TestSgemmVectorShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, ta := range transposes {
		for _, tb := range transposes {
			for _, d := range []int{1, 7, 64, 100} {
				for _, k := range []int{1, 9, 256} {
					for _, beta := range []float32{0, 1, -0.3} {
						checkGemmCase(t, rng, Sgemm, gemmCase{ta, tb, 1, d, k, 0.5, beta, 2, 3, 1})
						checkGemmCase(t, rng, Sgemm, gemmCase{ta, tb, d, 1, k, 0.5, beta, 2, 3, 1})
					}
				}
			}
		}
	}
}

func TestSgemmBetaZeroOverwritesNaN(t *testing.T) {
	nan := float32(math.NaN())
	for _, f := range []gemmFunc{Sgemm, SgemmGeneric} {
		for _, sh := range [][3]int{{1, 5, 3}, {5, 1, 3}, {7, 19, 5}, {64, 64, 64}, {40, 40, 0}} {
			m, n, k := sh[0], sh[1], sh[2]
			a := make([]float32, m*max(1, k))
			b := make([]float32, max(1, k*n))
			for i := range a {
				a[i] = 1
			}
			for i := range b {
				b[i] = 2
			}
			c := make([]float32, m*n)
			for i := range c {
				c[i] = nan
			}
			f(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, max(1, k), b, n, 0, c, n)
			for i, v := range c {
				if v != float32(2*k) {
					t.Fatalf("m=%d n=%d k=%d: C[%d] = %g, want %d", m, n, k, i, v, 2*k)
				}
			}
		}
	}
}

func TestSgemmThreadsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	m, n, k := 200, 300, 129
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	c0 := randSlice(rng, m*n)
	var res [][]float32
	for _, th := range []int{1, 2, 3} {
		SetThreads(th)
		c := append([]float32(nil), c0...)
		Sgemm(blas.NoTrans, blas.Trans, m, n, k, 0.7, a, k, b, k, 0.2, c, n)
		res = append(res, c)
	}
	SetThreads(0)
	for i := 1; i < len(res); i++ {
		for j := range res[0] {
			if res[i][j] != res[0][j] {
				t.Fatalf("thread count changed C[%d]: %g vs %g", j, res[i][j], res[0][j])
			}
		}
	}
}

func TestSgemmAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for _, s := range lstmShapes {
		a := randSlice(rng, s.m*s.k)
		b := randSlice(rng, s.k*s.n)
		c := randSlice(rng, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.tA != blas.NoTrans {
			lda = s.m
		}
		if s.tB != blas.NoTrans {
			ldb = s.k
		}
		for _, th := range []int{1, 2} {
			SetThreads(th)
			run := func() { Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n) }
			run()
			if n := testing.AllocsPerRun(5, run); n != 0 {
				t.Errorf("%s threads=%d: %v allocs per call, want 0", s.name, th, n)
			}
		}
	}
	SetThreads(0)
	x, y := randSlice(rng, 300), randSlice(rng, 300)
	if n := testing.AllocsPerRun(10, func() { Axpy(0.5, x, y); _ = Dot(x, y) }); n != 0 {
		t.Errorf("Axpy+Dot: %v allocs, want 0", n)
	}
}

func TestSgemmPanics(t *testing.T) {
	a := make([]float32, 6)
	for _, tc := range []struct {
		name string
		want error
		f    func()
	}{
		{"transpose", ErrTranspose, func() { Sgemm('x', blas.NoTrans, 2, 3, 1, 1, a, 1, a, 3, 0, a, 3) }},
		{"negative", ErrShape, func() { Sgemm(blas.NoTrans, blas.NoTrans, -1, 3, 1, 1, a, 1, a, 3, 0, a, 3) }},
		{"lda", ErrStride, func() { Sgemm(blas.NoTrans, blas.NoTrans, 2, 3, 2, 1, a, 1, a, 3, 0, a, 3) }},
		{"short", ErrShort, func() { Sgemm(blas.NoTrans, blas.NoTrans, 2, 3, 4, 1, a, 4, a, 3, 0, a, 3) }},
		{"dot", ErrLength, func() { Dot(a, a[1:]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("panic %v, want %v", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestImplementation(t *testing.T) {
	var impl blas.Float32 = Implementation{}
	rng := rand.New(rand.NewPCG(5, 5))
	checkGemmCase(t, rng, impl.Sgemm, gemmCase{blas.Trans, blas.NoTrans, 20, 30, 40, 1, 0.5, 0, 0, 0})
	// The rest of the interface is gonum's.
	x := []float32{1, 2, 3}
	if got := impl.Sdot(3, x, 1, x, 1); got != 14 {
		t.Errorf("Sdot = %g", got)
	}
	_ = blas32.Implementation // blas32.Use(Implementation{}) is the intended use.
}

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for n := 0; n <= 100; n++ {
		x, y := randSlice(rng, n), randSlice(rng, n)
		got, want := Dot(x, y), DotNaive(x, y)
		if math.Abs(float64(got-want)) > 1e-5*float64(n+1) {
			t.Fatalf("Dot n=%d: %g, want %g", n, got, want)
		}
		if g := dotGo(x, y); math.Abs(float64(g-want)) > 1e-5*float64(n+1) {
			t.Fatalf("dotGo n=%d: %g, want %g", n, g, want)
		}
		y1, y2, y3 := append([]float32(nil), y...), append([]float32(nil), y...), append([]float32(nil), y...)
		Axpy(-0.7, x, y1)
		AxpyNaive(-0.7, x, y2)
		axpyGo(-0.7, x, y3)
		for i := range y1 {
			if math.Abs(float64(y1[i]-y2[i])) > 1e-6 || math.Abs(float64(y3[i]-y2[i])) > 1e-6 {
				t.Fatalf("Axpy n=%d [%d]: %g / %g, want %g", n, i, y1[i], y3[i], y2[i])
			}
		}
	}
}
