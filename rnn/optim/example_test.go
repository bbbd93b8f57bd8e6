package optim_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
)

// Fit y = 2x + 1 with a Linear(1→1), the mean squared error and Adam under a
// warmup-then-cosine schedule: zero the gradients, forward, loss, backward,
// step.
func ExampleNewAdam() {
	ps := rnn.NewParams()
	fc := rnn.NewLinear(ps, "fc.", 1, 1, true)
	fc.Init(rand.New(rand.NewPCG(1, 2)))

	x := []float32{-2, -1, 0, 1, 2, 3}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = 2*v + 1
	}
	pred := make([]float32, len(x))
	dpred := make([]float32, len(x))

	opt := optim.NewAdam(optim.AdamOptions{LR: 0.1})
	sched := optim.CosineWarmup{Base: 0.1, Min: 0.001, Warmup: 10, Total: 400}
	var loss float64
	for step := 0; step < 400; step++ {
		ps.ZeroGrad()
		fc.Forward(pred, x, len(x))
		loss = rnn.MSE(dpred, pred, y)
		fc.Backward(nil, dpred, x, len(x))
		opt.SetLR(sched.LR(step))
		opt.Step(ps)
	}
	fmt.Printf("weight %.3f, bias %.3f, loss < 1e-6: %v\n", fc.Weight.W[0], fc.Bias.W[0], loss < 1e-6)
	// Output: weight 2.000, bias 1.000, loss < 1e-6: true
}
