package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
)

// withKernel runs f with kern as the default micro-kernel.
func withKernel(kern *microKernel, f func()) {
	saved := defaultKernel
	defaultKernel = kern
	defer func() { defaultKernel = saved }()
	f()
}

// TestSgemmWideKernelExact checks that the AVX-512 kernel for pairs of
// tiles gives exactly the bits of the AVX2 6x16 kernel, for every
// transpose, alpha and beta, shapes with partial row and column panels,
// several cache blocks of k, in-place and packed B, on 1 and 2 threads.
func TestSgemmWideKernelExact(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512F on this CPU")
	}
	rng := rand.New(rand.NewPCG(11, 3))
	shapes := [][3]int{{6, 32, 1}, {7, 33, 5}, {12, 64, 256}, {13, 47, 257}, {64, 8000 / 16, 896}, {150, 96, 300},
		{1280 / 8, 1000, 600}, {200, 1030, 520}, {5, 48, 40}, {64, 768, 256}, {300, 17, 70}}
	for _, th := range []int{1, 2} {
		SetThreads(th)
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for _, tA := range transposes {
				for _, tB := range transposes {
					for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -0.3}} {
						lda, ldb := k+1, n+3
						if tA != blas.NoTrans {
							lda = m + 2
						}
						if tB != blas.NoTrans {
							ldb = k
						}
						a, b := randSlice(rng, max(m, k)*lda), randSlice(rng, max(n, k)*ldb)
						c0 := randSlice(rng, m*(n+1))
						want := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						packed := append([]float32(nil), c0...)
						packedWant := append([]float32(nil), c0...)
						withKernel(&avxKernel, func() {
							Sgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], want, n+1)
							SgemmPacked(tA, m, ab[0], a, lda, PackB(nil, tB, k, n, b, ldb), ab[1], packedWant, n+1)
						})
						withKernel(&avx512Kernel, func() {
							Sgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], got, n+1)
							SgemmPacked(tA, m, ab[0], a, lda, PackB(nil, tB, k, n, b, ldb), ab[1], packed, n+1)
						})
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("threads %d, %v%v m=%d n=%d k=%d alpha=%g beta=%g: C[%d] = %g, the 6x16 kernel gives %g",
									th, tA, tB, m, n, k, ab[0], ab[1], i, got[i], want[i])
							}
						}
						for i := range want {
							if math.Float32bits(packed[i]) != math.Float32bits(packedWant[i]) {
								t.Fatalf("packed, threads %d, %v%v m=%d n=%d k=%d alpha=%g beta=%g: C[%d] = %g, the 6x16 kernel gives %g",
									th, tA, tB, m, n, k, ab[0], ab[1], i, packed[i], packedWant[i])
							}
						}
					}
				}
			}
		}
	}
	SetThreads(0)
}

// TestDot4F16AVX512Exact: the ZMM form of the half-precision dot product
// gives dot4F16AVX's bits for odd and even block counts.
func TestDot4F16AVX512Exact(t *testing.T) {
	if !useF16AVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, k8 := range []int{1, 2, 3, 8, 31, 32, 33} {
		ldb := 8*k8 + 5
		x := make([]float32, 8*k8)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		b := make([]uint16, 4*ldb)
		for i := range b {
			b[i], _ = F32ToF16Exact(float32(rng.IntN(2048)-1024) / 512)
		}
		var want, got [4]float32
		dot4F16AVX(k8, &x[0], &b[0], ldb, &want[0])
		dot4F16AVX512(k8, &x[0], &b[0], ldb, &got[0])
		for r := range want {
			require.Equal(t, math.Float32bits(want[r]), math.Float32bits(got[r]), "k8 %d row %d: %v, AVX2 %v", k8, r, got[r], want[r])
		}
	}
}
