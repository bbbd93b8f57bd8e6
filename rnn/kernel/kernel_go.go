package kernel

// The pure-Go micro-kernel and vector loops: the fallback on CPUs without
// AVX2/FMA and on other architectures, and the twins the tests call directly.

var genericKernel = microKernel{mr: 4, nr: 4, mc: 128, kc: 256, nc: 1024, ncSkinny: 128, fn: kern4x4Go}

// kern4x4Go computes C[0:4, 0:4] += alpha * pa(kc, 4)^T * pb(kc, 4), pb
// with row stride ldb.
func kern4x4Go(kc int, alpha float32, pa, pb []float32, ldb int, c []float32, ldc int) {
	if ldb != 4 {
		kern4x4GoStrided(kc, alpha, pa, pb, ldb, c, ldc)
		return
	}
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	pa = pa[:4*kc]
	pb = pb[:4*kc]
	for p := 0; p < len(pa); p += 4 {
		a := pa[p : p+4 : p+4]
		b := pb[p : p+4 : p+4]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		a0 := a[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := a[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := a[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := a[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r := c[0:4:4]
	r[0] += alpha * c00
	r[1] += alpha * c01
	r[2] += alpha * c02
	r[3] += alpha * c03
	r = c[ldc : ldc+4 : ldc+4]
	r[0] += alpha * c10
	r[1] += alpha * c11
	r[2] += alpha * c12
	r[3] += alpha * c13
	r = c[2*ldc : 2*ldc+4 : 2*ldc+4]
	r[0] += alpha * c20
	r[1] += alpha * c21
	r[2] += alpha * c22
	r[3] += alpha * c23
	r = c[3*ldc : 3*ldc+4 : 3*ldc+4]
	r[0] += alpha * c30
	r[1] += alpha * c31
	r[2] += alpha * c32
	r[3] += alpha * c33
}

// kern4x4GoStrided is kern4x4Go reading B rows of stride ldb in place.
func kern4x4GoStrided(kc int, alpha float32, pa, pb []float32, ldb int, c []float32, ldc int) {
	var acc [16]float32
	for p := 0; p < kc; p++ {
		a := pa[4*p : 4*p+4 : 4*p+4]
		b := pb[p*ldb : p*ldb+4 : p*ldb+4]
		for i, av := range a {
			acc[4*i] += av * b[0]
			acc[4*i+1] += av * b[1]
			acc[4*i+2] += av * b[2]
			acc[4*i+3] += av * b[3]
		}
	}
	for i := 0; i < 4; i++ {
		r := c[i*ldc : i*ldc+4 : i*ldc+4]
		for j := range r {
			r[j] += alpha * acc[4*i+j]
		}
	}
}

// dotGo returns x·y, unrolled by 4. len(y) >= len(x).
func dotGo(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyGo computes y += alpha*x, unrolled by 4. len(y) >= len(x).
func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += alpha * x[i]
		y[i+1] += alpha * x[i+1]
		y[i+2] += alpha * x[i+2]
		y[i+3] += alpha * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// dotRowsGo computes out[r] = x · b[r*ldb : r*ldb+len(x)] for r < len(out).
func dotRowsGo(out, x, b []float32, ldb int) {
	k := len(x)
	for r := range out {
		out[r] = dotGo(x, b[r*ldb:r*ldb+k])
	}
}
