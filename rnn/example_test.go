package rnn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
)

// model is a recurrent layer with a Linear head: the building block of every
// example below.
type model struct {
	ps   *rnn.Params
	rnn  *rnn.Layer
	head *rnn.Linear
	seq  *rnn.Seq
}

func newModel(cell rnn.Cell, in, hidden, out int, bidir bool, seed uint64) *model {
	ps := rnn.NewParams()
	m := &model{ps: ps}
	m.rnn = rnn.NewLayer(ps, "rnn.", rnn.Config{Cell: cell, InputSize: in, HiddenSize: hidden, Bidirectional: bidir})
	m.head = rnn.NewLinear(ps, "fc.", m.rnn.OutputSize(), out, true)
	rng := rand.New(rand.NewPCG(seed, 1))
	m.rnn.Init(rng)
	m.head.Init(rng)
	m.seq = m.rnn.NewSeq()
	return m
}

// Build an LSTM, train it a few steps on a toy task (is the sum of a
// sequence positive?), save it, reload it and print its loss.
func ExampleLayer() {
	const T, B = 8, 16
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, T*B) // (T, B, 1), time-major
	y := make([]int32, B)
	for b := 0; b < B; b++ {
		var s float32
		for t := 0; t < T; t++ {
			v := float32(rng.NormFloat64())
			x[t*B+b] = v
			s += v
		}
		if s > 0 {
			y[b] = 1
		}
	}
	m := newModel(rnn.LSTM, 1, 16, 2, false, 3)
	opt := optim.NewAdam(optim.AdamOptions{LR: 0.02})
	logits, dlogits, dh := make([]float32, B*2), make([]float32, B*2), make([]float32, B*16)
	lossOf := func(m *model, train bool) float64 {
		m.seq.Forward(x, T, B, nil, nil, false, nil)
		h := m.seq.Final().H // many-to-one: the last hidden state (1, B, H)
		m.head.Forward(logits, h, B)
		d := dlogits
		if !train {
			d = nil
		}
		loss, _ := rnn.SoftmaxCrossEntropy(d, logits, y, B, 2, rnn.CrossEntropyOptions{})
		return loss
	}
	for step := 0; step < 60; step++ {
		lossOf(m, true)
		m.ps.ZeroGrad()
		m.head.Backward(dh, dlogits, m.seq.Final().H, B)
		m.seq.Backward(nil, &rnn.State{H: dh})
		m.ps.ClipGradNorm(5)
		opt.Step(m.ps)
	}
	path := filepath.Join(os.TempDir(), "rnnkit-example-lstm.safetensors")
	defer os.Remove(path)
	if err := rnn.SaveModel(path, rnn.ModelInfo{Kind: "example", Config: []byte(`{}`)}, m.ps, rnn.F32); err != nil {
		panic(err)
	}
	_, tensors, err := rnn.LoadModel(path, "example")
	if err != nil {
		panic(err)
	}
	m2 := newModel(rnn.LSTM, 1, 16, 2, false, 99)
	if err := m2.ps.SetFromTensors(tensors); err != nil {
		panic(err)
	}
	fmt.Printf("trained loss below 0.1: %v; reloaded model gives the same loss: %v\n",
		lossOf(m, false) < 0.1, lossOf(m, false) == lossOf(m2, false))
	// Output: trained loss below 0.1: true; reloaded model gives the same loss: true
}

// One-to-one: a recurrent layer run for a single step is a feed-forward
// layer. Here it learns XOR.
func Example_oneToOne() {
	xs := []float32{0, 0, 0, 1, 1, 0, 1, 1} // (T=1, B=4, 2)
	ys := []int32{0, 1, 1, 0}
	m := newModel(rnn.Tanh, 2, 8, 2, false, 1)
	opt := optim.NewAdam(optim.AdamOptions{LR: 0.05})
	logits, dlogits := make([]float32, 8), make([]float32, 8)
	dh := make([]float32, 4*8)
	for step := 0; step < 300; step++ {
		h := m.seq.Forward(xs, 1, 4, nil, nil, false, nil)
		m.head.Forward(logits, h, 4)
		rnn.SoftmaxCrossEntropy(dlogits, logits, ys, 4, 2, rnn.CrossEntropyOptions{})
		m.ps.ZeroGrad()
		m.head.Backward(dh, dlogits, h, 4)
		m.seq.Backward(dh, nil)
		opt.Step(m.ps)
	}
	h := m.seq.Forward(xs, 1, 4, nil, nil, false, nil)
	m.head.Forward(logits, h, 4)
	fmt.Println("XOR:", argmax(logits, 2))
	// Output: XOR: [0 1 1 0]
}

// One-to-many: one input (a digit d, one-hot, at the first step only)
// produces a sequence: d, d+1, d+2, d+3 (mod 4).
func Example_oneToMany() {
	const T, B, V = 4, 4, 4
	x := make([]float32, T*B*V) // only step 0 carries the input; later steps are zero
	y := make([]int32, T*B)
	for b := 0; b < B; b++ {
		x[b*V+b] = 1
		for t := 0; t < T; t++ {
			y[t*B+b] = int32((b + t) % V)
		}
	}
	m := newModel(rnn.GRU, V, 16, V, false, 2)
	opt := optim.NewAdam(optim.AdamOptions{LR: 0.03})
	logits, dlogits := make([]float32, T*B*V), make([]float32, T*B*V)
	dh := make([]float32, T*B*16)
	for step := 0; step < 200; step++ {
		h := m.seq.Forward(x, T, B, nil, nil, false, nil)
		m.head.Forward(logits, h, T*B)
		rnn.SoftmaxCrossEntropy(dlogits, logits, y, T*B, V, rnn.CrossEntropyOptions{})
		m.ps.ZeroGrad()
		m.head.Backward(dh, dlogits, h, T*B)
		m.seq.Backward(dh, nil)
		opt.Step(m.ps)
	}
	h := m.seq.Forward(x, T, B, nil, nil, false, nil)
	m.head.Forward(logits, h, T*B)
	pred := argmax(logits, V)
	for b := 0; b < B; b++ {
		fmt.Print(b, " ->")
		for t := 0; t < T; t++ {
			fmt.Print(" ", pred[t*B+b])
		}
		fmt.Println()
	}
	// Output:
	// 0 -> 0 1 2 3
	// 1 -> 1 2 3 0
	// 2 -> 2 3 0 1
	// 3 -> 3 0 1 2
}

// Many-to-one with a real-valued target: forecast the next value of a noisy
// sine wave from the previous 12, trained with mean squared error.
func Example_manyToOne() {
	const T, B = 12, 32
	rng := rand.New(rand.NewPCG(4, 4))
	series := func(t float64) float32 { return float32(math.Sin(t * 0.3)) }
	x, y := make([]float32, T*B), make([]float32, B)
	batch := func() {
		for b := 0; b < B; b++ {
			t0 := rng.Float64() * 100
			for t := 0; t < T; t++ {
				x[t*B+b] = series(t0+float64(t)) + float32(rng.NormFloat64()*0.01)
			}
			y[b] = series(t0 + T)
		}
	}
	m := newModel(rnn.LSTM, 1, 16, 1, false, 5)
	opt := optim.NewAdam(optim.AdamOptions{LR: 0.01})
	pred, dpred, dh := make([]float32, B), make([]float32, B), make([]float32, B*16)
	var mse float64
	for step := 0; step < 300; step++ {
		batch()
		m.seq.Forward(x, T, B, nil, nil, false, nil)
		m.head.Forward(pred, m.seq.Final().H, B)
		mse = rnn.MSE(dpred, pred, y)
		m.ps.ZeroGrad()
		m.head.Backward(dh, dpred, m.seq.Final().H, B)
		m.seq.Backward(nil, &rnn.State{H: dh, C: nil})
		opt.Step(m.ps)
	}
	fmt.Printf("forecast MSE below 0.005: %v\n", mse < 0.005)
	// Output: forecast MSE below 0.005: true
}

// Many-to-many: label every step of a bit sequence with the parity of the
// bits so far (a running XOR), over ragged sequences of length 3 to 10.
func Example_manyToMany() {
	const T, B, H = 10, 32, 24
	rng := rand.New(rand.NewPCG(6, 6))
	x, y := make([]float32, T*B), make([]int32, T*B)
	lengths := make([]int, B)
	batch := func() {
		for b := 0; b < B; b++ {
			lengths[b] = 3 + rng.IntN(T-2)
			p := int32(0)
			for t := 0; t < T; t++ {
				bit := int32(rng.IntN(2))
				x[t*B+b] = float32(bit)
				p ^= bit
				y[t*B+b] = p
				if t >= lengths[b] {
					x[t*B+b], y[t*B+b] = 0, -1 // padding: ignored by the loss
				}
			}
		}
	}
	m := newModel(rnn.GRU, 1, H, 2, false, 7)
	opt := optim.NewAdam(optim.AdamOptions{LR: 0.01})
	logits, dlogits, dh := make([]float32, T*B*2), make([]float32, T*B*2), make([]float32, T*B*H)
	for step := 0; step < 400; step++ {
		batch()
		h := m.seq.Forward(x, T, B, lengths, nil, false, nil)
		m.head.Forward(logits, h, T*B)
		rnn.SoftmaxCrossEntropy(dlogits, logits, y, T*B, 2, rnn.CrossEntropyOptions{})
		m.ps.ZeroGrad()
		m.head.Backward(dh, dlogits, h, T*B)
		m.seq.Backward(dh, nil)
		m.ps.ClipGradNorm(5)
		opt.Step(m.ps)
	}
	batch()
	h := m.seq.Forward(x, T, B, lengths, nil, false, nil)
	m.head.Forward(logits, h, T*B)
	right, total := 0, 0
	for i, p := range argmax(logits, 2) {
		if y[i] >= 0 {
			total++
			if int32(p) == y[i] {
				right++
			}
		}
	}
	fmt.Printf("running parity accuracy above 95%%: %v\n", float64(right)/float64(total) > 0.95)
	// Output: running parity accuracy above 95%: true
}

func argmax(logits []float32, classes int) []int {
	out := make([]int, len(logits)/classes)
	for i := range out {
		row := logits[i*classes : (i+1)*classes]
		for j, v := range row {
			if v > row[out[i]] {
				out[i] = j
			}
		}
	}
	return out
}
