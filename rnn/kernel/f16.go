package kernel

import (
	"math"
	"sync"
)

// GemvF16 computes c[:n] = x(k) · B(n, k)ᵀ with B stored as IEEE half
// floats (row r at b[r*ldb:]), the matrix-vector product of batch-1
// inference. Half-precision weights halve the bytes streamed from cache,
// which bounds that product. A large B is split by rows over the pool's
// goroutines, so that each core streams, and keeps in its own L2, its part
// of the weights; every row is computed the same way whatever the split.
//
//	x: (k), b: (n, ldb) with ldb >= k, c: (n); c is overwritten.
func GemvF16(n, k int, x []float32, b []uint16, ldb int, c []float32) {
	if n == 0 {
		return
	}
	if len(x) < k || len(c) < n || ldb < k || len(b) < (n-1)*ldb+k {
		panic(ErrShort)
	}
	if n*k < parGemvF16 || numThreads() == 1 {
		gemvRowsF16(n, x[:k], b, ldb, c[:n])
		return
	}
	j := gemvF16Jobs.Get().(*gemvF16Job)
	*j = gemvF16Job{x: x[:k], b: b, ldb: ldb, c: c[:n]}
	Parallel(ceilDiv(n, 64), 1, j) // in blocks of 64 rows, as gemvRowsF16
	*j = gemvF16Job{}
	gemvF16Jobs.Put(j)
}

// parGemvF16 is the size (n·k weights) from which GemvF16 splits B. In
// the W2 model the 1024x256 recurrent and second-layer input products
// split; the first layer's 1024x64 input product does not.
const parGemvF16 = 1 << 17

// gemvF16Job is one GemvF16 call as a Ranger over blocks of 64 rows.
type gemvF16Job struct {
	x   []float32
	b   []uint16
	ldb int
	c   []float32
}

var gemvF16Jobs = sync.Pool{New: func() any { return new(gemvF16Job) }}

func (j *gemvF16Job) Range(lo, hi int) {
	r0, r1 := lo*64, min(hi*64, len(j.c))
	gemvRowsF16(r1-r0, j.x, j.b[r0*j.ldb:], j.ldb, j.c[r0:r1])
}

func gemvRowsF16(n int, x []float32, b []uint16, ldb int, c []float32) {
	for j0 := 0; j0 < n; j0 += 64 {
		dotRowsF16(c[j0:min(j0+64, n)], x, b[j0*ldb:], ldb)
	}
}

// GemvF16Naive is the reference for GemvF16.
func GemvF16Naive(n, k int, x []float32, b []uint16, ldb int, c []float32) {
	for r := 0; r < n; r++ {
		var s float32
		for p := 0; p < k; p++ {
			s += x[p] * F16ToF32(b[r*ldb+p])
		}
		c[r] = s
	}
}

func dotRowsF16Go(out, x []float32, b []uint16, ldb int) {
	for r := range out {
		var s float32
		row := b[r*ldb : r*ldb+len(x)]
		for p, v := range x {
			s += v * F16ToF32(row[p])
		}
		out[r] = s
	}
}

// F16ToF32 widens an IEEE 754 half float exactly.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalize
		e := uint32(127 - 15 + 1)
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// F32ToF16 rounds f to the nearest IEEE 754 half float, ties to even; the
// model-file writer stores F16 tensors with it. ok is false only when a
// finite f overflows: |f| >= 65520 rounds beyond the largest finite half,
// 65504, and h is then ±Inf. ±Inf stays ±Inf and a NaN becomes a quiet half
// NaN (sign and top payload bits kept), both with ok true. Magnitudes up to
// 2^-25, half the smallest subnormal (the tie goes to even), become a zero
// of f's sign, so float32 subnormals become ±0.
func F32ToF16(f float32) (h uint16, ok bool) {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00, true
		}
		return sign | 0x7e00 | uint16(mant>>13), true // quiet NaN
	}
	e := exp - 127 + 15 // biased half exponent
	if e <= 0 {
		// Subnormal half (or zero): value = m * 2^-24 with
		// m = full * 2^(exp-150) / 2^-24 = full >> (126-exp).
		shift := uint(14 - e)
		if shift > 24 {
			return sign, true // below half the smallest subnormal
		}
		full := mant | 0x800000
		m := full >> shift
		rem := full & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && m&1 == 1) {
			m++ // may carry into the smallest normal, which is correct
		}
		return sign | uint16(m), true
	}
	if e >= 0x1f {
		return sign | 0x7c00, false
	}
	v := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && v&1 == 1) {
		v++ // a carry into the exponent is correct rounding
	}
	if v >= 0x7c00 {
		return sign | 0x7c00, false
	}
	return sign | uint16(v), true
}

// F32ToF16Exact returns v as a half float and whether the conversion is
// exact (v is representable in half precision without rounding): ±0 and ±Inf
// are, a NaN, a finite value beyond 65504 and one that F32ToF16 would round
// are not, and then the half is 0.
func F32ToF16Exact(v float32) (uint16, bool) {
	h, ok := F32ToF16(v)
	if !ok || v != v || math.Float32bits(F16ToF32(h)) != math.Float32bits(v) {
		return 0, false
	}
	return h, true
}
