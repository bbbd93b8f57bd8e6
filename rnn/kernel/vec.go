package kernel

// Axpy computes y += alpha*x. x, y: (n); len(y) must equal len(x).
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(ErrLength)
	}
	axpy(alpha, x, y)
}

// AxpyNaive is the reference loop for Axpy.
func AxpyNaive(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(ErrLength)
	}
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Dot returns x·y. x, y: (n); len(y) must equal len(x).
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(ErrLength)
	}
	return dot(x, y)
}

// DotNaive is the reference loop for Dot.
func DotNaive(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(ErrLength)
	}
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// gemv handles Sgemm with m == 1 or n == 1 (matrix-vector products) with
// Dot and Axpy. Arguments are checked; k > 0, alpha != 0.
func gemv(aT, bT bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 1 {
		// c: (n) = alpha * x(k) · op(B)(k, n) + beta*c.
		bufs := bufPool.Get().(*packBufs)
		x := a[:k]
		if aT && lda != 1 {
			// A stored (k, 1): gather the column.
			bufs.a = grow(bufs.a, k)
			for p := range bufs.a {
				bufs.a[p] = a[p*lda]
			}
			x = bufs.a
		}
		cv := c[:n]
		if bT {
			// B stored (n, k): one dot per output, four rows at a time. It
			// stays on one goroutine: handing half to another core cost more
			// than it saved (W2 sampling: 8.9k vs 13.8k chars/s on an idle
			// 2-core machine).
			gemvRows(n, alpha, x, b, ldb, beta, cv)
		} else {
			// B stored (k, n): c += (alpha*x[p]) * B[p, :].
			scaleC(1, n, beta, cv, n)
			for p, v := range x {
				axpy(alpha*v, b[p*ldb:p*ldb+n], cv)
			}
		}
		bufPool.Put(bufs)
		return
	}
	// n == 1: c: (m) with stride ldc = alpha * op(A)(m, k) · y(k) + beta*c.
	bufs := bufPool.Get().(*packBufs)
	y := b[:k]
	if !bT && ldb != 1 {
		// B stored (k, 1): gather the column.
		bufs.b = grow(bufs.b, k)
		for p := range bufs.b {
			bufs.b[p] = b[p*ldb]
		}
		y = bufs.b
	}
	if !aT {
		// A stored (m, k): one dot per output, four rows at a time.
		var t [64]float32
		for i0 := 0; i0 < m; i0 += len(t) {
			o := t[:min(len(t), m-i0)]
			dotRows(o, y, a[i0*lda:], lda)
			for i, v := range o {
				ci := (i0 + i) * ldc
				if beta == 0 {
					c[ci] = alpha * v
				} else {
					c[ci] = alpha*v + beta*c[ci]
				}
			}
		}
	} else {
		// A stored (k, m): t = sum_p (alpha*y[p]) * A[p, :], then c = t + beta*c.
		bufs.tile = grow(bufs.tile, m)
		t := bufs.tile
		clear(t)
		for p, v := range y {
			axpy(alpha*v, a[p*lda:p*lda+m], t)
		}
		for i, v := range t {
			if beta == 0 {
				c[i*ldc] = v
			} else {
				c[i*ldc] = v + beta*c[i*ldc]
			}
		}
	}
	bufPool.Put(bufs)
}
