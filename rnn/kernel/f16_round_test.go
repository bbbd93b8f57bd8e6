package kernel

import (
	"math"
	"math/rand/v2"
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
