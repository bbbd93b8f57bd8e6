package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The blocked driver (Goto/BLIS): C is updated in mr x nr tiles by a
// micro-kernel reading a packed A panel, (kc, mr) k-major, and a packed B
// panel, (kc, nr) k-major. Loops, outermost first:
//
//	jc over n by nc   (B block of kc x nc packed once, lives in L2/L3)
//	pc over k by kc
//	ic over m by mc   (A block of mc x kc packed, lives in L2)
//	jr over nc by nr, ir over mc by mr: micro-kernel on one C tile.
//
// When all of m fits one A block, pc is the outer loop and A is packed once
// per pc, so skinny problems (m = batch) pack A once and stream B.

// microKernel describes one register tile. fn computes
// C[0:mr, 0:nr] += alpha * pa(kc, mr)^T * pb(kc, nr), pb with row stride ldb
// (nr when packed), C with stride ldc; kc >= 1.
type microKernel struct {
	mr, nr     int
	mc, kc, nc int // cache blocks; mc is a multiple of mr, nc of nr
	ncSkinny   int // nc when all of m fits one A block: B block stays in L2
	fn         func(kc int, alpha float32, pa, pb []float32, ldb int, c []float32, ldc int)
	// wide, if not nil, computes two full tiles side by side, C[0:mr,
	// 0:2nr]: the left with B panel pb0, the right with pb1 (both with row
	// stride ldb), each element exactly as fn computes it. macro uses it
	// wherever two adjacent tiles are full. If pf is not nil, it also
	// prefetches pf[:4*kc] (for the next panels).
	wide func(kc int, alpha float32, pa, pb0, pb1 []float32, ldb int, c []float32, ldc int, pf []float32)
}

// packBufs are one goroutine's packing buffers.
type packBufs struct {
	a, b []float32
	tile []float32
}

var bufPool = sync.Pool{New: func() any { return new(packBufs) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// gemmSerial computes C = alpha*op(A)*op(B) + beta*C on one goroutine.
// C: (m, n); m, n, k > 0.
// bufs is the goroutine's packing buffers, nil to take some from bufPool.
// When pb is not nil, op(B) is read from it instead (b and ldb unused):
// columns [pbCol, pbCol+n) of the packed matrix.
func gemmSerial(bufs *packBufs, kern *microKernel, aT, bT bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pb *PackedB, pbCol int, beta float32, c []float32, ldc int) {
	scaleC(m, n, beta, c, ldc)
	pooled := bufs == nil
	if pooled {
		bufs = bufPool.Get().(*packBufs)
	}
	mr, nr := kern.mr, kern.nr
	mc, kc, nc := kern.mc, kern.kc, kern.nc
	if m <= mc {
		nc = kern.ncSkinny
	}
	kcMax := min(k, kc)
	bufs.a = grow(bufs.a, roundUp(min(m, mc), mr)*kcMax)
	bufs.b = grow(bufs.b, roundUp(min(n, nc), nr)*kcMax)
	bufs.tile = grow(bufs.tile, 2*mr*nr) // two tiles for kern.wide
	if m <= mc {
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			packA(aT, a, lda, 0, pc, m, kb, mr, bufs.a)
			if pb != nil {
				for jc := 0; jc < n; jc += nc {
					nb := min(nc, n-jc)
					macro(kern, m, nb, kb, alpha, bufs, pb.block(pc, pbCol+jc), true, nil, 0, c[jc:], ldc)
				}
				continue
			}
			if !bT {
				// Few row panels reuse each B panel: read B in place
				// (its rows are already k-major) instead of packing.
				macro(kern, m, n, kb, alpha, bufs, nil, false, b[pc*ldb:], ldb, c, ldc)
				continue
			}
			for jc := 0; jc < n; jc += nc {
				nb := min(nc, n-jc)
				packB(bT, b, ldb, pc, jc, kb, nb, nr, bufs.b)
				macro(kern, m, nb, kb, alpha, bufs, bufs.b, false, nil, 0, c[jc:], ldc)
			}
		}
	} else {
		for jc := 0; jc < n; jc += nc {
			nb := min(nc, n-jc)
			for pc := 0; pc < k; pc += kc {
				kb := min(kc, k-pc)
				bp := bufs.b
				if pb != nil {
					bp = pb.block(pc, pbCol+jc)
				} else {
					packB(bT, b, ldb, pc, jc, kb, nb, nr, bufs.b)
				}
				for ic := 0; ic < m; ic += mc {
					mb := min(mc, m-ic)
					packA(aT, a, lda, ic, pc, mb, kb, mr, bufs.a)
					macro(kern, mb, nb, kb, alpha, bufs, bp, pb != nil, nil, 0, c[ic*ldc+jc:], ldc)
				}
			}
		}
	}
	if pooled {
		bufPool.Put(bufs)
	}
}

// macro runs the micro-kernel over a packed (mb, kb) A block and a (kb, nb)
// B block into C: (mb, nb) with stride ldc. The B block is bp, packed,
// or, if bd != nil, op(B) read in place from bd: (kb, nb) with stride ldbd
// (only its last, partial panel is packed, into bufs.b). With prefetch, bp
// is part of a PackedB, which comes from memory rather than from a cache:
// the wide kernel then fetches the next pair of panels (which follow in
// bp) while it works on the current one.
func macro(kern *microKernel, mb, nb, kb int, alpha float32, bufs *packBufs, bp []float32, prefetch bool, bd []float32, ldbd int, c []float32, ldc int) {
	mr, nr := kern.mr, kern.nr
	for jr := 0; jr < nb; jr += nr {
		nn := min(nr, nb-jr)
		var pb []float32
		ldb := nr
		if bd == nil {
			pb = bp[jr*kb:]
		} else {
			if nn == nr {
				pb, ldb = bd[jr:], ldbd
			} else {
				packB(false, bd, ldbd, 0, jr, kb, nn, nr, bufs.b)
				pb = bufs.b
			}
		}
		if kern.wide != nil && jr+2*nr <= nb {
			// Two full column panels: the wide kernel on both at once.
			var pb1 []float32
			if bd == nil {
				pb1 = bp[(jr+nr)*kb:]
			} else {
				pb1 = bd[jr+nr:]
			}
			for ir := 0; ir < mb; ir += mr {
				pa := bufs.a[ir*kb:]
				cij := c[ir*ldc+jr:]
				// Each call fetches 4*kb floats (a line per four k):
				// the first eight row panels cover the next pair.
				var pf []float32
				if o := (jr+2*nr)*kb + (ir/mr)*4*kb; prefetch && o+4*kb <= min((jr+4*nr)*kb, len(bp)) {
					pf = bp[o:]
				}
				if mb-ir >= mr {
					kern.wide(kb, alpha, pa, pb, pb1, ldb, cij, ldc, pf)
					continue
				}
				// A partial row panel: both tiles into the buffer, which
				// then holds what fn would have put in two tile buffers.
				tile := bufs.tile[:2*mr*nr]
				clear(tile)
				kern.wide(kb, alpha, pa, pb, pb1, ldb, tile, 2*nr, nil)
				for i := 0; i < mb-ir; i++ {
					row := cij[i*ldc : i*ldc+2*nr]
					t := tile[i*2*nr : (i+1)*2*nr]
					for j := range row {
						row[j] += t[j]
					}
				}
			}
			jr += nr
			continue
		}
		for ir := 0; ir < mb; ir += mr {
			pa := bufs.a[ir*kb:]
			mm := min(mr, mb-ir)
			cij := c[ir*ldc+jr:]
			if mm == mr && nn == nr {
				kern.fn(kb, alpha, pa, pb, ldb, cij, ldc)
				continue
			}
			partialTile(kern, mm, nn, kb, alpha, pa, pb, ldb, bufs.tile[:mr*nr], cij, ldc)
		}
	}
}

// partialTile adds the (mm, nn) corner of a tile to C by way of the
// (mr, nr) buffer tile.
func partialTile(kern *microKernel, mm, nn, kb int, alpha float32, pa, pb []float32, ldb int, tile, c []float32, ldc int) {
	nr := kern.nr
	clear(tile)
	kern.fn(kb, alpha, pa, pb, ldb, tile, nr)
	for i := 0; i < mm; i++ {
		row := c[i*ldc : i*ldc+nn]
		t := tile[i*nr : i*nr+nn]
		for j := range row {
			row[j] += t[j]
		}
	}
}

func roundUp(x, r int) int { return (x + r - 1) / r * r }

// packA packs op(A)[i0:i0+mb, p0:p0+kb] into panels of mr rows, each (kb, mr)
// k-major, zero-padding the last panel. dst: (roundUp(mb, mr) * kb).
func packA(aT bool, a []float32, lda, i0, p0, mb, kb, mr int, dst []float32) {
	if aT && mr == 6 && mb >= 6 {
		// A stored (k, m): walk its rows once, in order, scattering each
		// into the full panels (column-panel order would stride through
		// all kb rows once per panel); the partial panel, if any, below.
		full := mb / 6 * 6
		if packATFast(a[p0*lda+i0:], lda, kb, full/6, dst) {
			if full < mb {
				packA(aT, a, lda, i0+full, p0, mb-full, kb, mr, dst[full*kb:])
			}
			return
		}
		for p := 0; p < kb; p++ {
			row := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+full]
			for ir := 0; ir < full; ir += 6 {
				q, r := (*[6]float32)(dst[ir*kb+p*6:]), (*[6]float32)(row[ir:])
				q[0], q[1], q[2], q[3], q[4], q[5] = r[0], r[1], r[2], r[3], r[4], r[5]
			}
		}
		if full == mb {
			return
		}
		packA(aT, a, lda, i0+full, p0, mb-full, kb, mr, dst[full*kb:])
		return
	}
	for ir := 0; ir < mb; ir += mr {
		mm := min(mr, mb-ir)
		d := dst[ir*kb : ir*kb+kb*mr]
		if aT {
			// A stored (k, m): row p of A holds op(A)[:, p].
			off := (p0)*lda + i0 + ir
			switch {
			case mm == 6 && mr == 6:
				for p := 0; p < kb; p++ {
					q, r := (*[6]float32)(d[p*6:]), (*[6]float32)(a[off+p*lda:])
					q[0], q[1], q[2], q[3], q[4], q[5] = r[0], r[1], r[2], r[3], r[4], r[5]
				}
			case mm == 4 && mr == 4:
				for p := 0; p < kb; p++ {
					q, r := (*[4]float32)(d[p*4:]), (*[4]float32)(a[off+p*lda:])
					q[0], q[1], q[2], q[3] = r[0], r[1], r[2], r[3]
				}
			default:
				for p := 0; p < kb; p++ {
					dp := d[p*mr : p*mr+mr]
					copy(dp[:mm], a[off+p*lda:off+p*lda+mm])
					clear(dp[mm:])
				}
			}
			continue
		}
		// A stored (m, k): gather mr rows.
		if mm == 6 && mr == 6 && packA6Fast(a[(i0+ir)*lda+p0:], lda, kb, d) {
			continue
		}
		if mm == 6 && mr == 6 {
			base := (i0+ir)*lda + p0
			r0, r1, r2 := a[base:base+kb], a[base+lda:base+lda+kb], a[base+2*lda:base+2*lda+kb]
			r3, r4, r5 := a[base+3*lda:base+3*lda+kb], a[base+4*lda:base+4*lda+kb], a[base+5*lda:base+5*lda+kb]
			for p := range r0 {
				q := (*[6]float32)(d[p*6 : p*6+6])
				q[0], q[1], q[2], q[3], q[4], q[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		for i := 0; i < mm; i++ {
			src := a[(i0+ir+i)*lda+p0:]
			src = src[:kb]
			for p, v := range src {
				d[p*mr+i] = v
			}
		}
		for i := mm; i < mr; i++ {
			for p := 0; p < kb; p++ {
				d[p*mr+i] = 0
			}
		}
	}
}

// packB packs op(B)[p0:p0+kb, j0:j0+nb] into panels of nr columns, each
// (kb, nr) k-major, zero-padding the last panel. dst: (roundUp(nb, nr) * kb).
func packB(bT bool, b []float32, ldb, p0, j0, kb, nb, nr int, dst []float32) {
	for jr := 0; jr < nb; jr += nr {
		nn := min(nr, nb-jr)
		d := dst[jr*kb : jr*kb+kb*nr]
		if !bT {
			// B stored (k, n): copy nr-wide row pieces.
			off := p0*ldb + j0 + jr
			switch {
			case nn == 16 && nr == 16 && packBFast(b[off:], ldb, kb, nr, d):
			case nn == 16 && nr == 16:
				for p := 0; p < kb; p++ {
					*(*[16]float32)(d[p*16:]) = *(*[16]float32)(b[off+p*ldb:])
				}
			case nn == 4 && nr == 4:
				for p := 0; p < kb; p++ {
					q, r := (*[4]float32)(d[p*4:]), (*[4]float32)(b[off+p*ldb:])
					q[0], q[1], q[2], q[3] = r[0], r[1], r[2], r[3]
				}
			default:
				for p := 0; p < kb; p++ {
					dp := d[p*nr : p*nr+nr]
					copy(dp[:nn], b[off+p*ldb:off+p*ldb+nn])
					clear(dp[nn:])
				}
			}
			continue
		}
		// B stored (n, k): row j of B is column j of op(B).
		if nn == nr && packBTransFast(b[(j0+jr)*ldb+p0:], ldb, kb, nr, d) {
			continue
		}
		for j := 0; j < nn; j++ {
			src := b[(j0+jr+j)*ldb+p0:]
			src = src[:kb]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		for j := nn; j < nr; j++ {
			for p := 0; p < kb; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}

// Threading.

var threads atomic.Int32

// SetThreads sets how many goroutines Sgemm may use for one large product:
// n <= 0 restores the default, GOMAXPROCS. n == 1 keeps every call on the
// caller's goroutine. Results do not depend on this setting.
func SetThreads(n int) {
	threads.Store(int32(max(n, 0)))
}

func numThreads() int {
	if t := int(threads.Load()); t > 0 {
		return t
	}
	return runtime.GOMAXPROCS(0)
}

// parFlops is the product size (2mnk) below which Sgemm stays on the
// caller's goroutine: handing work to another goroutine costs a few µs.
const parFlops = 2 << 20

// gemmParallel splits C into up to numThreads() blocks of whole tiles, along
// n or m, whichever has more tiles, and runs gemmSerial on each.
func gemmParallel(j gemmJob) {
	t := numThreads()
	if t <= 1 || 2*j.m*j.n*j.k < parFlops {
		j.run(nil)
		return
	}
	mr, nr := j.kern.mr, j.kern.nr
	mt, nt := ceilDiv(j.m, mr), ceilDiv(j.n, nr)
	splitN := nt >= mt
	tiles := mt
	if splitN {
		tiles = nt
	}
	t = min(t, tiles, 64)
	if t <= 1 {
		j.run(nil)
		return
	}
	g := getGroup()
	var first gemmJob
	for w := 0; w < t; w++ {
		lo, hi := w*tiles/t, (w+1)*tiles/t
		p := j
		if splitN {
			j0, j1 := lo*nr, min(hi*nr, j.n)
			p.n = j1 - j0
			p.c = j.c[j0:]
			switch {
			case j.pb != nil:
				p.pbCol = j.pbCol + j0
			case j.bT:
				p.b = j.b[j0*j.ldb:]
			default:
				p.b = j.b[j0:]
			}
		} else {
			i0, i1 := lo*mr, min(hi*mr, j.m)
			p.m = i1 - i0
			p.c = j.c[i0*j.ldc:]
			if j.aT {
				p.a = j.a[i0:]
			} else {
				p.a = j.a[i0*j.lda:]
			}
		}
		if w == 0 {
			first = p
			continue
		}
		if !g.spawn(task{gemm: p}) {
			p.run(nil)
		}
	}
	first.run(nil)
	g.wait()
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemvRows is c[:n] = alpha·x·B[:n]ᵀ + beta·c[:n] on the calling goroutine.
func gemvRows(n int, alpha float32, x, b []float32, ldb int, beta float32, c []float32) {
	var t [64]float32
	for j0 := 0; j0 < n; j0 += len(t) {
		o := t[:min(len(t), n-j0)]
		dotRows(o, x, b[j0*ldb:], ldb)
		for j, v := range o {
			if beta == 0 {
				c[j0+j] = alpha * v
			} else {
				c[j0+j] = alpha*v + beta*c[j0+j]
			}
		}
	}
}
