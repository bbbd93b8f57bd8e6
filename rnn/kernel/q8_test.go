package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
)

// q8Shapes cover full and edge tiles (rows not a multiple of 4, columns not
// of 16 or 64, k not of 4 or 8) and the single-row path.
var q8Shapes = []struct{ m, n, k int }{
	{1, 1, 1}, {1, 17, 3}, {1, 64, 64}, {1, 100, 33}, {1, 1024, 256}, {1, 600, 520},
	{2, 16, 8}, {3, 15, 7}, {4, 16, 4}, {5, 65, 9}, {8, 48, 128}, {13, 100, 33},
	{64, 512, 128}, {130, 70, 20}, {300, 40, 17},
}

func randQ8(rng *rand.Rand, n int, shift float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64()) + shift
	}
	return x
}

// q8Paths are the kernel forms this CPU can run: pure Go, AVX2 and (with
// AVX-512 VNNI) VNNI. set selects one; the returned func restores them.
func q8Paths() (names []string, set func(string), restore func()) {
	asm, vnni := useAsm, useVNNI
	names = []string{"go"}
	if asm {
		names = append(names, "avx2")
	}
	if vnni {
		names = append(names, "vnni")
	}
	set = func(p string) { useAsm, useVNNI = p != "go", p == "vnni" }
	return names, set, func() { useAsm, useVNNI = asm, vnni }
}

// TestQ8MulAddPathsAgree: the VNNI, AVX2 and pure-Go kernels, one and two
// threads, and the naive loop give the same bits.
func TestQ8MulAddPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range q8Shapes {
		t.Run(fmt.Sprintf("%dx%dx%d", sh.m, sh.n, sh.k), func(t *testing.T) {
			ldx, ldc, ldw := sh.k+3, sh.n+5, sh.k+1
			x := randQ8(rng, sh.m*ldx, 0.3)
			w := randQ8(rng, sh.n*ldw, 0)
			c0 := randQ8(rng, sh.m*ldc, 0)
			q := QuantizeWeights(sh.n, sh.k, w, ldw)
			want := append([]float32(nil), c0...)
			Q8MulAddNaive(q, sh.m, x, ldx, want, ldc)
			paths, set, restore := q8Paths()
			defer restore()
			for _, asm := range paths {
				set(asm)
				for _, threads := range []int{1, 2} {
					SetThreads(threads)
					got := append([]float32(nil), c0...)
					var buf QBuf
					q.MulAdd(sh.m, x, ldx, got, ldc, &buf)
					q.MulAdd(0, x, ldx, got, ldc, &buf) // no rows: no change
					for i := range got {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]),
							"path %s threads %d element %d: %v, naive %v", asm, threads, i, got[i], want[i])
					}
					// Mul overwrites: the same bits as MulAdd onto zeros.
					set := append([]float32(nil), c0...)
					q.Mul(sh.m, x, ldx, set, ldc, &buf)
					zero := make([]float32, len(c0))
					q.MulAdd(sh.m, x, ldx, zero, ldc, &buf)
					for i := 0; i < sh.m; i++ {
						require.Equal(t, zero[i*ldc:i*ldc+sh.n], set[i*ldc:i*ldc+sh.n], "Mul, path %s threads %d row %d", asm, threads, i)
						require.Equal(t, c0[i*ldc+sh.n:(i+1)*ldc], set[i*ldc+sh.n:(i+1)*ldc], "Mul wrote outside its columns")
					}
				}
			}
			SetThreads(0)
		})
	}
}

// TestQ8KernelsExact compares the AVX2 and VNNI kernels with their Go
// twins on extreme values (every activation 127 against weights ±127, where
// a saturating 16-bit sum would show) and on random bytes.
func TestQ8KernelsExact(t *testing.T) {
	if !useAsm {
		t.Skip("no AVX2")
	}
	paths, set, restore := q8Paths()
	defer restore()
	for _, p := range paths[1:] {
		t.Run(p, func(t *testing.T) {
			set(p)
			testQ8KernelsExact(t)
		})
	}
}

func testQ8KernelsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, kq := range []int{1, 2, 7, 64, 200} {
		lda := kq * 4
		a := make([]uint8, 4*lda)
		w := make([]int8, 4*kq*q8nr*4)
		for trial := 0; trial < 3; trial++ {
			for i := range a {
				a[i] = uint8(rng.IntN(128))
				if trial == 0 {
					a[i] = 127
				}
			}
			for i := range w {
				w[i] = int8(rng.IntN(255) - 127)
				if trial == 0 {
					w[i] = int8(127 - 254*(i/(kq*q8nr*4)%2)) // panels alternate +127, -127
				}
			}
			zp := []int32{0, 5, 64, 127}
			sa := []float32{0.01, 0.5, 1, 3}
			colsum, sw := make([]int32, q8nr), make([]float32, q8nr)
			for j := range colsum {
				colsum[j] = int32(rng.IntN(1000) - 500)
				sw[j] = float32(rng.Float64())
			}
			c1 := randQ8(rng, 4*q8nr, 0)
			c2 := append([]float32(nil), c1...)
			for _, add := range []bool{true, false} {
				c1 := append([]float32(nil), c1...)
				c2 := append([]float32(nil), c2...)
				q8TileGo(kq, a, lda, w, zp, colsum, sa, sw, c1, q8nr, add)
				q8Tile(kq, a, lda, w, zp, colsum, sa, sw, c2, q8nr, add)
				assert.Equal(t, c1, c2, "4x16 kernel, kq %d trial %d add %v", kq, trial, add)
			}
			acc1, acc2 := make([]int32, 64), make([]int32, 64)
			q8RowGo(kq, a, w, kq*q8nr*4, acc1)
			q8Row(kq, a, w, kq*q8nr*4, acc2)
			assert.Equal(t, acc1, acc2, "1x64 kernel, kq %d trial %d", kq, trial)
			if trial == 0 {
				assert.Equal(t, int32(kq*4*127*127), acc1[0], "no saturation at the extremes")
				assert.Equal(t, int32(-kq*4*127*127), acc1[q8nr], "no saturation at the extremes")
			}
		}
	}
	x := randQ8(rng, 203, 0.2)
	lo1, hi1 := minMaxGo(x)
	lo2, hi2 := minMax(x)
	assert.Equal(t, [2]float32{lo1, hi1}, [2]float32{lo2, hi2})
	for _, inv := range []float32{0.5, 3.7, 100} {
		d1, d2 := make([]uint8, len(x)), make([]uint8, len(x))
		quantRowGo(d1, x, inv, 40)
		quantRow(d2, x, inv, 40)
		assert.Equal(t, d1, d2, "inv %v", inv)
	}
	// Ties round to even on both paths.
	ties := []float32{0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 4.5}
	d := make([]uint8, 8)
	quantRow(d, ties, 1, 10)
	assert.Equal(t, []uint8{10, 12, 12, 10, 8, 8, 14, 14}, d)
}

// TestQ8MulAddErrorBound: the int8 product is within the bound that the
// two roundings allow of the float32 product, and far inside it on average.
func TestQ8MulAddErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range q8Shapes {
		x := randQ8(rng, sh.m*sh.k, 0.5)
		w := randQ8(rng, sh.n*sh.k, 0)
		q := QuantizeWeights(sh.n, sh.k, w, sh.k)
		got := make([]float32, sh.m*sh.n)
		var buf QBuf
		q.MulAdd(sh.m, x, sh.k, got, sh.n, &buf)
		want := make([]float32, sh.m*sh.n)
		Sgemm(blas.NoTrans, blas.Trans, sh.m, sh.n, sh.k, 1, x, sh.k, w, sh.k, 0, want, sh.n)
		for i := 0; i < sh.m; i++ {
			row := x[i*sh.k : (i+1)*sh.k]
			lo, hi := minMaxGo(row)
			sa := (max(hi, 0) - min(lo, 0)) / 127
			for j := 0; j < sh.n; j++ {
				wr := w[j*sh.k : (j+1)*sh.k]
				var mw float64
				for _, v := range wr {
					mw = max(mw, math.Abs(float64(v)))
				}
				sw := mw / 127
				var bound float64
				for k := range wr {
					bound += math.Abs(float64(row[k]))*sw/2 + math.Abs(float64(wr[k]))*float64(sa)/2 + sw*float64(sa)/4
				}
				bound = bound*1.001 + 1e-5
				e := math.Abs(float64(got[i*sh.n+j] - want[i*sh.n+j]))
				require.LessOrEqual(t, e, bound, "shape %v (%d,%d)", sh, i, j)
			}
		}
		// The dequantized weights are within half a step of the originals.
		for j := 0; j < sh.n; j++ {
			for k := 0; k < sh.k; k++ {
				assert.InDelta(t, w[j*sh.k+k], q.Weight(j, k), float64(q.scale[j])/2*1.0001+1e-7)
			}
		}
	}
}

func TestQ8SpecialRows(t *testing.T) {
	// A zero row and a zero weight row give exactly zero; a constant
	// positive row keeps its value to within a step.
	w := []float32{0, 0, 0, 0, 1, 2, 3, 4}
	q := QuantizeWeights(2, 4, w, 4)
	x := []float32{0, 0, 0, 0, 1, 1, 1, 1}
	c := make([]float32, 4)
	var buf QBuf
	q.MulAdd(2, x, 4, c, 2, &buf)
	assert.Equal(t, []float32{0, 0, 0}, c[:3])
	assert.InDelta(t, 10, c[3], 0.1)
	dst := make([]uint8, 4)
	s, zp := QuantizeRow(dst, []float32{-1, 0, 0.5, 1})
	assert.Equal(t, int32(64), zp)
	assert.InDelta(t, 2.0/127, s, 1e-7)
	assert.Equal(t, []uint8{0, 64, 96, 127}, dst)
	assert.Panics(t, func() { q.MulAdd(2, x[:5], 4, c, 2, &buf) })
}

// TestQ8SteadyStateAllocs: once its buffer has grown, MulAdd allocates nothing.
func TestQ8SteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, m := range []int{1, 64} {
		q := QuantizeWeights(512, 128, randQ8(rng, 512*128, 0), 128)
		x := randQ8(rng, m*128, 0)
		c := make([]float32, m*512)
		var buf QBuf
		q.MulAdd(m, x, 128, c, 512, &buf)
		allocs := testing.AllocsPerRun(20, func() { q.MulAdd(m, x, 128, c, 512, &buf) })
		assert.Zero(t, allocs, "m=%d", m)
	}
}

// BenchmarkQ8MulAdd compares the int8 product with float32 Sgemm on the
// shapes of the inference workloads, in multiply-adds per second:
// W3's input projection and recurrent step, W4's decoder output layer, the
// W2 recurrent matrix-vector product.
func BenchmarkQ8MulAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, sh := range []struct {
		name    string
		m, n, k int
	}{
		{"W3-input-4096x512x128", 4096, 512, 128},
		{"W3-step-64x512x128", 64, 512, 128},
		{"W4-out-64x8000x256", 64, 8000, 256},
		{"W4-gru-64x768x256", 64, 768, 256},
		{"W2-gemv-1x1024x256", 1, 1024, 256},
	} {
		x := randQ8(rng, sh.m*sh.k, 0)
		w := randQ8(rng, sh.n*sh.k, 0)
		c := make([]float32, sh.m*sh.n)
		macs := float64(sh.m * sh.n * sh.k)
		b.Run(sh.name+"/f32", func(b *testing.B) {
			for b.Loop() {
				Sgemm(blas.NoTrans, blas.Trans, sh.m, sh.n, sh.k, 1, x, sh.k, w, sh.k, 0, c, sh.n)
			}
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
		q := QuantizeWeights(sh.n, sh.k, w, sh.k)
		var buf QBuf
		paths, set, restore := q8Paths()
		for _, p := range paths {
			name := sh.name + "/int8"
			if p != paths[len(paths)-1] {
				name += "-" + p // the fastest form is plain int8
			}
			b.Run(name, func(b *testing.B) {
				set(p)
				defer restore()
				for b.Loop() {
					q.MulAdd(sh.m, x, sh.k, c, sh.n, &buf)
				}
				b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// TestQuantizeWeightsExact: QuantizeWeights (float32 rounding, rows split
// over the pool) builds the same matrix as the direct float64 reference,
// on random rows, rows of ties (x.5 after scaling), subnormal, zero,
// infinite and NaN rows, with one thread and two.
func TestQuantizeWeightsExact(t *testing.T) {
	ref := func(n, k int, w []float32, ldw int) *QMatrix {
		kq := ceilDiv(k, 4)
		np := ceilDiv(n, q8nr) * q8nr
		q := &QMatrix{N: n, K: k, kq: kq, w: make([]int8, np*kq*4), scale: make([]float32, np), colsum: make([]int32, np)}
		for j := 0; j < n; j++ {
			row := w[j*ldw : j*ldw+k]
			var mx float32
			for _, v := range row {
				mx = max(mx, float32(math.Abs(float64(v))))
			}
			if mx == 0 {
				continue
			}
			s := mx / 127
			q.scale[j] = s
			inv := 1 / s
			base := (j/q8nr)*kq*q8nr*4 + (j%q8nr)*4
			var sum int32
			for p, v := range row {
				r := int32(math.RoundToEven(float64(float32(v * inv))))
				r = max(-127, min(127, r))
				q.w[base+(p/4)*q8nr*4+p%4] = int8(r)
				sum += r
			}
			q.colsum[j] = sum
		}
		return q
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, sh := range []struct{ n, k int }{{1, 1}, {3, 5}, {17, 33}, {300, 256}, {1024, 130}} {
		ldw := sh.k + 2
		w := randQ8(rng, sh.n*ldw, 0)
		for j := 0; j < sh.n; j++ {
			row := w[j*ldw : j*ldw+sh.k]
			switch j % 7 {
			case 1: // ties: max 127, the others k + 0.5
				for p := range row {
					row[p] = float32(p%255-127) + 0.5
				}
				row[0] = 127
			case 2:
				clear(row)
			case 3:
				for p := range row {
					row[p] *= 1e-42 // subnormal
				}
			case 4:
				row[len(row)/2] = float32(math.Inf(1 - 2*(j%2)))
			case 5:
				row[0] = float32(math.NaN())
			}
		}
		want := ref(sh.n, sh.k, w, ldw)
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			got := QuantizeWeights(sh.n, sh.k, w, ldw)
			require.Equal(t, want.w, got.w, "%dx%d threads %d", sh.n, sh.k, threads)
			require.Equal(t, want.colsum, got.colsum)
			for j := range want.scale {
				if w := want.scale[j]; w != w { // a row with NaN: any NaN
					require.True(t, got.scale[j] != got.scale[j], "scale %d is %v, want NaN", j, got.scale[j])
					continue
				}
				require.Equal(t, math.Float32bits(want.scale[j]), math.Float32bits(got.scale[j]), "scale %d", j)
			}
		}
		SetThreads(0)
	}
}

// TestNewQMatrixPacksStored: NewQMatrix from the int8 values and scales of
// a quantized matrix is that matrix, and holds the stored values exactly.
func TestNewQMatrixPacksStored(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range []struct{ n, k int }{{1, 1}, {3, 5}, {17, 33}, {40, 64}} {
		w := randQ8(rng, sh.n*sh.k, 0)
		want := QuantizeWeights(sh.n, sh.k, w, sh.k)
		q := make([]int8, sh.n*sh.k)
		for j := range sh.n {
			for p := range sh.k {
				q[j*sh.k+p] = want.qw(j, p)
			}
		}
		got := NewQMatrix(sh.n, sh.k, q, want.scale[:sh.n])
		assert.Equal(t, want, got, "%dx%d", sh.n, sh.k)
		assert.Equal(t, float32(q[sh.k-1])*want.scale[0], got.Weight(0, sh.k-1))
	}
	assert.Panics(t, func() { NewQMatrix(2, 2, make([]int8, 3), make([]float32, 2)) })
}
