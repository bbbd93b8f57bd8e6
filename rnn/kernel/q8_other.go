//go:build !amd64

package kernel

func q8Tile(kq int, a []uint8, lda int, w []int8, zp, colsum []int32, sa, sw []float32, c []float32, ldc int, add bool) {
	q8TileGo(kq, a, lda, w, zp, colsum, sa, sw, c, ldc, add)
}

func q8Row(kq int, a []uint8, w []int8, pstride int, acc []int32) {
	q8RowGo(kq, a, w, pstride, acc)
}

func minMax(x []float32) (lo, hi float32) { return minMaxGo(x) }

func quantRow(dst []uint8, x []float32, inv float32, zp int32) { quantRowGo(dst, x, inv, zp) }

// useAsm is false: no assembly on this architecture (tests toggle it on amd64).
var useAsm = false

// useVNNI is false: no assembly on this architecture.
var useVNNI = false
