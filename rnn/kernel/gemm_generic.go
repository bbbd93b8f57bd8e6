//go:build !amd64

package kernel

// No assembly on this architecture: the pure-Go kernels everywhere.

var defaultKernel = &genericKernel

func packBTransFast(b []float32, ldb, kb, nr int, dst []float32) bool { return false }

func packA6Fast(a []float32, lda, kb int, dst []float32) bool { return false }

func packBFast(b []float32, ldb, kb, nr int, dst []float32) bool { return false }

func packATFast(a []float32, lda, kb, panels int, dst []float32) bool { return false }

func dot(x, y []float32) float32 { return dotGo(x, y) }

func axpy(alpha float32, x, y []float32) { axpyGo(alpha, x, y) }

func dotRows(out, x, b []float32, ldb int) { dotRowsGo(out, x, b, ldb) }

func dotRowsF16(out, x []float32, b []uint16, ldb int) { dotRowsF16Go(out, x, b, ldb) }
