//go:build !amd64

package optim

const useAVX = false

func adamAVX(p, g, m, v *float32, n8 int, k *adamConsts) { panic("unreachable") }
