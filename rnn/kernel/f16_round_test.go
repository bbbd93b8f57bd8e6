package kernel

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// f16ToF32Ref is the half -> float32 conversion rnn's model reader had
// before F16ToF32 became the only one (subnormals by multiplication rather
// than normalization): an independent reference for F16ToF32.
func f16ToF32Ref(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f: // Inf, NaN (payload kept)
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero or subnormal: mant * 2^-24
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// TestF16ToF32MatchesReference compares F16ToF32 bit for bit with the
// reference on all 65,536 halves (NaN payloads and -0 included).
func TestF16ToF32MatchesReference(t *testing.T) {
	for h := range 1 << 16 {
		got, want := math.Float32bits(F16ToF32(uint16(h))), math.Float32bits(f16ToF32Ref(uint16(h)))
		if got != want {
			t.Fatalf("half %#04x: F16ToF32 %#08x, reference %#08x", h, got, want)
		}
	}
}

func TestF32ToF16(t *testing.T) {
	// Every half value survives half -> float32 -> half (NaNs stay NaN).
	for h := range 1 << 16 {
		f := F16ToF32(uint16(h))
		back, ok := F32ToF16(f)
		require.True(t, ok, "%#04x", h)
		if f != f {
			assert.True(t, F16ToF32(back) != F16ToF32(back), "%#04x NaN", h)
			continue
		}
		require.Equal(t, uint16(h), back, "%#04x -> %g", h, f)
	}
	// Rounding is to the nearest half, ties to even: compare against the
	// neighbours of the result, on values spread over the whole range.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		x := float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(44)-28))
		h, ok := F32ToF16(x)
		require.True(t, ok, "%g", x)
		got := float64(F16ToF32(h))
		d := math.Abs(got - float64(x))
		for _, nb := range []uint16{h + 1, h - 1} {
			if nb&0x7c00 == 0x7c00 || (h&0x7fff == 0 && nb == h-1) {
				continue
			}
			dn := math.Abs(float64(F16ToF32(nb)) - float64(x))
			require.LessOrEqual(t, d, dn, "x=%g got %g neighbour %g", x, got, F16ToF32(nb))
			if d == dn {
				require.Zero(t, h&1, "tie must round to even: x=%g", x)
			}
		}
	}
	exact := []struct {
		x  float32
		h  uint16
		ok bool
	}{
		{1, 0x3c00, true},
		{-2, 0xc000, true},
		{65504, 0x7bff, true},
		{65519, 0x7bff, true},  // below the halfway point to 65536
		{65520, 0x7c00, false}, // the halfway point rounds (to even) to Inf: overflow
		{-65520, 0xfc00, false},
		{math.MaxFloat32, 0x7c00, false},
		{float32(math.Ldexp(1, -24)), 0x0001, true},
		{float32(math.Ldexp(1, -25)), 0x0000, true},      // tie, to even (zero)
		{float32(math.Ldexp(3, -26)), 0x0001, true},      // 0.75 of the smallest subnormal
		{float32(math.Ldexp(3, -25)), 0x0002, true},      // 1.5 ulp, tie to even
		{float32(math.Ldexp(1023.5, -24)), 0x0400, true}, // rounds up into the smallest normal
		{float32(math.Inf(1)), 0x7c00, true},
		{float32(math.Inf(-1)), 0xfc00, true},
		{1e-30, 0, true},
		{math.SmallestNonzeroFloat32, 0, true},
		{-math.SmallestNonzeroFloat32, 0x8000, true},
		{float32(math.Copysign(0, -1)), 0x8000, true},
	}
	for _, c := range exact {
		h, ok := F32ToF16(c.x)
		assert.Equal(t, c.ok, ok, "%g", c.x)
		assert.Equal(t, c.h, h, "%g: got %#04x", c.x, h)
	}
	nan, ok := F32ToF16(float32(math.NaN()))
	assert.True(t, ok)
	assert.True(t, math.IsNaN(float64(F16ToF32(nan))))
	// A signalling NaN is quieted; the sign is kept.
	snan, ok := F32ToF16(math.Float32frombits(0xff800001))
	assert.True(t, ok)
	assert.Equal(t, uint16(0xfe00), snan)
}

// f32ToF16ExactRef is F32ToF16Exact as it was before it was written on top
// of F32ToF16: the reference it must match on every input.
func f32ToF16ExactRef(v float32) (uint16, bool) {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	man := b & 0x7fffff
	switch {
	case v == 0:
		return sign, true
	case math.IsInf(float64(v), 0):
		return sign | 0x7c00, true
	case exp >= 0x1f || v != v:
		return 0, false
	case exp <= 0: // subnormal half
		shift := uint(14 - exp)
		if shift > 24 {
			return 0, false
		}
		full := man | 0x800000
		if full&(1<<shift-1) != 0 {
			return 0, false
		}
		return sign | uint16(full>>shift), true
	}
	if man&0x1fff != 0 {
		return 0, false
	}
	return sign | uint16(exp)<<10 | uint16(man>>13), true
}

func checkExact(t *testing.T, b uint32) {
	v := math.Float32frombits(b)
	h, ok := F32ToF16Exact(v)
	wh, wok := f32ToF16ExactRef(v)
	if h != wh || ok != wok {
		t.Fatalf("F32ToF16Exact(%#08x = %g) = %#04x, %v; reference %#04x, %v", b, v, h, ok, wh, wok)
	}
}

// TestF32ToF16ExactMatchesReference checks F32ToF16Exact against its former
// implementation: on every half widened to float32 and the float32s one and
// two ulps either side, on edge cases (zeros, float32 and half subnormals,
// the largest finite half and the values that round to it, overflow,
// infinities, NaNs), on a million random bit patterns of each sign and on
// a million near the half range. RNNKIT_F16_EXHAUSTIVE=1 checks all 2^32
// float32 bit patterns instead (about a minute on one core).
func TestF32ToF16ExactMatchesReference(t *testing.T) {
	if os.Getenv("RNNKIT_F16_EXHAUSTIVE") == "1" {
		for b := uint64(0); b < 1<<32; b++ {
			checkExact(t, uint32(b))
		}
		return
	}
	for h := range 1 << 16 {
		b := math.Float32bits(F16ToF32(uint16(h)))
		for d := uint32(0); d <= 2; d++ {
			checkExact(t, b+d)
			checkExact(t, b-d)
		}
	}
	edges := []float32{
		0, float32(math.Copysign(0, -1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.Float32frombits(0x007fffff), math.Float32frombits(0x00800000), // float32 subnormal/normal boundary
		0x1p-24, 0x1p-25, 0x3p-26, 0x3p-25, 0x1p-14, 0x1.ff8p-15, 1023.5 * 0x1p-24,
		65504, -65504, 65505, 65519, 65519.996, 65520, -65520, 65536, 70000, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)),
		0.1, 1e-9, 1, -2,
	}
	for _, v := range edges {
		checkExact(t, math.Float32bits(v))
	}
	for _, b := range []uint32{0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x7fc02000} { // NaNs
		checkExact(t, b)
	}
	rng := rand.New(rand.NewPCG(13, 16))
	for range 1 << 20 {
		b := rng.Uint32()
		checkExact(t, b&0x7fffffff)
		checkExact(t, b|0x80000000)
		// Near the half range, with 0 to 23 low mantissa bits cleared, so
		// that exact subnormals and normals are drawn often.
		e := uint32(97 + rng.IntN(50))
		m := b & 0x7fffff &^ (1<<rng.IntN(24) - 1)
		checkExact(t, b&0x80000000|e<<23|m)
	}
}
