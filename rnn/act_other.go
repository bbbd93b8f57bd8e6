//go:build !amd64

package rnn

// sigmoidVec replaces each x[i] with sigmoid(x[i]).
func sigmoidVec(x []float32) {
	for i, v := range x {
		x[i] = sigmoid(v)
	}
}

// tanhVec replaces each x[i] with tanh(x[i]).
func tanhVec(x []float32) {
	for i, v := range x {
		x[i] = tanh(v)
	}
}
