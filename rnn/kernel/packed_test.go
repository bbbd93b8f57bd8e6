package kernel

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// sgemmViaPacked is Sgemm by way of PackB and SgemmPacked.
func sgemmViaPacked(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	SgemmPacked(tA, m, alpha, a, lda, PackB(nil, tB, k, n, b, ldb), beta, c, ldc)
}

func TestSgemmPackedRandom(t *testing.T) {
	for _, th := range []int{1, 2, 3} {
		SetThreads(th)
		rng := rand.New(rand.NewPCG(uint64(th), 9))
		for _, tc := range randomCases(uint64(th)+40, 150) {
			checkGemmCase(t, rng, sgemmViaPacked, tc)
		}
	}
	SetThreads(0)
}

// TestSgemmPackedEqualsSgemm checks bit equality with Sgemm on decoder-like
// shapes: few rows (skinny path), many rows, k over several cache blocks,
// n with a partial last panel.
func TestSgemmPackedEqualsSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, s := range []struct{ m, n, k int }{{2, 300, 40}, {5, 1003, 600}, {64, 520, 300}, {300, 700, 520}} {
		for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			a, b := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n)
			ldb := s.n
			if tB == blas.Trans {
				ldb = s.k
			}
			want, got := randSlice(rng, s.m*s.n), make([]float32, s.m*s.n)
			copy(got, want)
			Sgemm(blas.NoTrans, tB, s.m, s.n, s.k, 1, a, s.k, b, ldb, 0.5, want, s.n)
			pb := PackB(nil, tB, s.k, s.n, b, ldb)
			SgemmPacked(blas.NoTrans, s.m, 1, a, s.k, pb, 0.5, got, s.n)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("m=%d n=%d k=%d tB=%v: C[%d] = %g, Sgemm gives %g", s.m, s.n, s.k, tB, i, got[i], want[i])
				}
			}
			if !pb.SameAsSgemm() {
				t.Fatalf("n=%d: SameAsSgemm false", s.n)
			}
			if pb.K() != s.k || pb.N() != s.n {
				t.Fatalf("PackedB shape (%d, %d), want (%d, %d)", pb.K(), pb.N(), s.k, s.n)
			}
		}
	}
}

func TestPackBPanics(t *testing.T) {
	b := make([]float32, 12)
	for name, f := range map[string]func(){
		"shape":     func() { PackB(nil, blas.NoTrans, 0, 3, b, 3) },
		"stride":    func() { PackB(nil, blas.NoTrans, 4, 3, b, 2) },
		"short":     func() { PackB(nil, blas.NoTrans, 5, 3, b, 3) },
		"transpose": func() { PackB(nil, blas.Transpose(7), 4, 3, b, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestParallelForCovers checks that every index is visited exactly once for
// many n, grains and thread counts, and that bodies which themselves call
// Sgemm and ParallelFor do not deadlock.
func TestParallelForCovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	a, b := randSlice(rng, 96*96), randSlice(rng, 96*96)
	for _, th := range []int{1, 2, 4} {
		SetThreads(th)
		for _, n := range []int{1, 2, 7, 64, 1000} {
			for _, grain := range []int{0, 1, 3, 100} {
				seen := make([]atomic.Int32, n)
				ParallelFor(n, grain, func(lo, hi int) {
					if lo >= hi {
						t.Errorf("empty range [%d, %d)", lo, hi)
					}
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				})
				for i := range seen {
					if v := seen[i].Load(); v != 1 {
						t.Fatalf("threads=%d n=%d grain=%d: index %d visited %d times", th, n, grain, i, v)
					}
				}
			}
		}
		ParallelFor(8, 1, func(lo, hi int) {
			c := make([]float32, 96*96)
			Sgemm(blas.NoTrans, blas.NoTrans, 96, 96, 96, 1, a, 96, b, 96, 0, c, 96)
			ParallelFor(4, 1, func(int, int) {})
		})
	}
	SetThreads(0)
}

type countRanger struct{ n atomic.Int64 }

func (c *countRanger) Range(lo, hi int) { c.n.Add(int64(hi - lo)) }

// TestPackedAndParallelAllocs checks that repacking into an existing
// PackedB, SgemmPacked and Parallel with a long-lived body allocate nothing.
func TestPackedAndParallelAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	const m, n, k = 32, 1024, 600
	a, b, c := randSlice(rng, m*k), randSlice(rng, n*k), make([]float32, m*n)
	pb := PackB(nil, blas.Trans, k, n, b, k)
	var r countRanger
	for _, th := range []int{1, 2} {
		SetThreads(th)
		run := func() {
			PackB(pb, blas.Trans, k, n, b, k)
			SgemmPacked(blas.NoTrans, m, 1, a, k, pb, 0, c, n)
			Parallel(1000, 10, &r)
		}
		run()
		if got := testing.AllocsPerRun(5, run); got != 0 {
			t.Errorf("threads=%d: %v allocs per run, want 0", th, got)
		}
	}
	SetThreads(0)
	if r.n.Load() != 2*7*1000 { // per thread setting: one run, then AllocsPerRun's warm-up and five
		t.Errorf("Parallel covered %d items in 14 runs, want 14000", r.n.Load())
	}
}

// TestPackAMatchesNaive checks packA (the assembly six-row transpose, its
// Go tail and the transposed-A paths) element by element against the
// panel layout, and that nothing is written past the packed panels.
func TestPackAMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const mr = 6
	for _, aT := range []bool{false, true} {
		for mb := 1; mb <= 14; mb++ {
			for _, kb := range []int{1, 2, 7, 8, 9, 15, 16, 17, 24, 25, 40, 256} {
				rows, cols := mb+3, kb+5 // A larger than the block: i0 = 2, p0 = 3
				if aT {
					rows, cols = kb+5, mb+3
				}
				lda := cols + 1
				a := randSlice(rng, rows*lda)
				size := roundUp(mb, mr) * kb
				dst := make([]float32, size+16)
				for i := range dst {
					dst[i] = -999
				}
				packA(aT, a, lda, 2, 3, mb, kb, mr, dst)
				for ir := 0; ir < mb; ir += mr {
					for p := 0; p < kb; p++ {
						for i := 0; i < mr; i++ {
							want := float32(0)
							if ir+i < mb {
								if aT {
									want = a[(3+p)*lda+2+ir+i]
								} else {
									want = a[(2+ir+i)*lda+3+p]
								}
							}
							if got := dst[ir*kb+p*mr+i]; got != want {
								t.Fatalf("aT=%v mb=%d kb=%d: panel %d, p=%d, i=%d: %g, want %g", aT, mb, kb, ir/mr, p, i, got, want)
							}
						}
					}
				}
				for i := size; i < len(dst); i++ {
					if dst[i] != -999 {
						t.Fatalf("aT=%v mb=%d kb=%d: wrote past the panels at %d", aT, mb, kb, i)
					}
				}
			}
		}
	}
}

// TestPackedSameAsSgemm: a last panel of one or two columns is where
// Sgemm switches to matrix-vector products and SgemmPacked does not.
func TestPackedSameAsSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, n := range []int{17, 18, 19, 33, 48} {
		b := randSlice(rng, n*8)
		if got, want := PackB(nil, blas.Trans, 8, n, b, 8).SameAsSgemm(), n%16 == 0 || n%16 > 2; got != want {
			t.Errorf("n=%d: SameAsSgemm %v, want %v", n, got, want)
		}
	}
}

// TestPackBMatchesNaive checks packB (the assembly panel copies and
// transposes and their Go tails) element by element against the panel
// layout, and that nothing is written past the packed panels.
func TestPackBMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	const nr = 16
	for _, bT := range []bool{false, true} {
		for _, nb := range []int{1, 2, 15, 16, 17, 31, 32, 33, 48, 50} {
			for _, kb := range []int{1, 2, 7, 8, 9, 17, 40, 256} {
				rows, cols := kb+3, nb+5 // B larger than the block: p0 = 3, j0 = 2
				if bT {
					rows, cols = nb+5, kb+3
				}
				ldb := cols + 1
				b := randSlice(rng, rows*ldb)
				size := roundUp(nb, nr) * kb
				dst := make([]float32, size+16)
				for i := range dst {
					dst[i] = -999
				}
				packB(bT, b, ldb, 3, 2, kb, nb, nr, dst)
				for jr := 0; jr < nb; jr += nr {
					for p := 0; p < kb; p++ {
						for j := 0; j < nr; j++ {
							want := float32(0)
							if jr+j < nb {
								if bT {
									want = b[(2+jr+j)*ldb+3+p]
								} else {
									want = b[(3+p)*ldb+2+jr+j]
								}
							}
							if got := dst[jr*kb+p*nr+j]; got != want {
								t.Fatalf("bT=%v nb=%d kb=%d: panel %d, p=%d, j=%d: %g, want %g", bT, nb, kb, jr/nr, p, j, got, want)
							}
						}
					}
				}
				for i := size; i < len(dst); i++ {
					if dst[i] != -999 {
						t.Fatalf("bT=%v nb=%d kb=%d: wrote past the panels at %d", bT, nb, kb, i)
					}
				}
			}
		}
	}
}
