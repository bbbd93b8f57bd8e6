//go:build !amd64 || purego

package embed

const useAVX2 = false

func dotAVX2(x, y []float32) float32               { return dotGo(x, y) }
func sgnsAVX2(neu, out, in []float32, g float32)   { sgnsGo(neu, out, in, g) }
func axpyAVX2(y []float32, a float32, x []float32) { axpyGo(y, a, x) }
