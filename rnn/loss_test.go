package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// The 2x3 example worked by hand:
//
//	logits = [[1, 2, 3], [1, 1, 1]], targets = [2, 0]
//
// Row 0: lse = 3 + log(1 + e⁻¹ + e⁻²) = 3 + log(1.50321472) = 3.40760596,
// so -log p = lse - z = [2.40760596, 1.40760596, 0.40760596] and
// p = [e⁻², e⁻¹, 1]/1.50321472 = [0.09003057, 0.24472847, 0.66524096].
// Row 1: -log p = log 3 = 1.09861229 for every class, p = 1/3.
//
//	plain:      (0.40760596 + 1.09861229)/2 = 0.75310912
//	            grad row 0 = (p - e₂)/2 = [0.04501529, 0.12236424, -0.16737952]
//	            grad row 1 = (1/3 - e₀)/2 = [-0.33333333, 0.16666667, 0.16666667]
//	ignore row 1 (target -1 or IgnoreClass 0): loss 0.40760596, count 1,
//	            grad row 0 = p - e₂ = [0.09003057, 0.24472847, -0.33475904], row 1 = 0
//	weights [2, 1, 0.5]: (0.5·0.40760596 + 2·1.09861229)/(0.5 + 2) = 2.40102756/2.5 = 0.96041102
//	smoothing ε = 0.3: row 0 = 0.7·0.40760596 + 0.1·(2.40760596 + 1.40760596 + 0.40760596)
//	            = 0.28532417 + 0.42228179 = 0.70760596; row 1 = 1.09861229 (uniform);
//	            mean = 0.90310912
func TestSoftmaxCrossEntropyByHand(t *testing.T) {
	logits := []float32{1, 2, 3, 1, 1, 1}
	third := float32(1.0 / 3)
	for _, tc := range []struct {
		name    string
		targets []int32
		opt     CrossEntropyOptions
		loss    float64
		count   int
		grad    []float32 // nil: not checked
	}{
		{"plain", []int32{2, 0}, CrossEntropyOptions{}, 0.75310912, 2,
			[]float32{0.04501529, 0.12236424, -0.16737952, (third - 1) / 2, third / 2, third / 2}},
		{"ignore negative", []int32{2, -1}, CrossEntropyOptions{}, 0.40760596, 1,
			[]float32{0.09003057, 0.24472847, -0.33475904, 0, 0, 0}},
		{"ignore -100", []int32{2, -100}, CrossEntropyOptions{}, 0.40760596, 1,
			[]float32{0.09003057, 0.24472847, -0.33475904, 0, 0, 0}},
		{"ignore class", []int32{2, 0}, CrossEntropyOptions{IgnoreIndex: 0, IgnoreClass: true}, 0.40760596, 1,
			[]float32{0.09003057, 0.24472847, -0.33475904, 0, 0, 0}},
		{"IgnoreIndex without IgnoreClass", []int32{2, 0}, CrossEntropyOptions{IgnoreIndex: 0}, 0.75310912, 2, nil},
		{"class weights", []int32{2, 0}, CrossEntropyOptions{ClassWeights: []float32{2, 1, 0.5}}, 0.96041102, 2, nil},
		{"label smoothing", []int32{2, 0}, CrossEntropyOptions{LabelSmoothing: 0.3}, 0.90310912, 2, nil},
		{"all ignored", []int32{-1, -1}, CrossEntropyOptions{}, 0, 0, make([]float32, 6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := make([]float32, 6)
			for i := range d {
				d[i] = 99 // written, never read
			}
			loss, count := SoftmaxCrossEntropy(d, logits, tc.targets, 2, 3, tc.opt)
			assert.InDelta(t, tc.loss, loss, 1e-7)
			assert.Equal(t, tc.count, count)
			if tc.grad != nil {
				assert.InDeltaSlice(t, tc.grad, d, 1e-6)
			}
			// Evaluation (nil gradient) gives the same loss.
			loss2, count2 := SoftmaxCrossEntropy(nil, logits, tc.targets, 2, 3, tc.opt)
			assert.Equal(t, loss, loss2)
			assert.Equal(t, count, count2)
		})
	}
}

func TestSoftmaxCrossEntropyGradients(t *testing.T) {
	const n, classes = 5, 4
	for _, tc := range []struct {
		name    string
		targets []int32
		opt     CrossEntropyOptions
	}{
		{"plain", []int32{0, 3, 1, 2, 2}, CrossEntropyOptions{}},
		{"ignore index", []int32{0, -1, 1, 3, -100}, CrossEntropyOptions{}},
		{"ignore class", []int32{0, 2, 1, 3, 2}, CrossEntropyOptions{IgnoreIndex: 2, IgnoreClass: true}},
		{"label smoothing", []int32{0, 3, 1, 2, 2}, CrossEntropyOptions{LabelSmoothing: 0.1}},
		{"class weights", []int32{0, 3, 1, 2, 2}, CrossEntropyOptions{ClassWeights: []float32{0.5, 2, 1, 3}}},
		{"everything", []int32{0, -1, 1, 3, 2}, CrossEntropyOptions{
			IgnoreIndex: 1, IgnoreClass: true, LabelSmoothing: 0.2, ClassWeights: []float32{0.5, 2, 1, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			logits := make([]float32, n*classes)
			fillNormal32(rng, logits, 2)
			d := make([]float32, n*classes)
			SoftmaxCrossEntropy(d, logits, tc.targets, n, classes, tc.opt)
			loss := func() float64 {
				l, _ := SoftmaxCrossEntropy(nil, logits, tc.targets, n, classes, tc.opt)
				return l
			}
			fdCheckSlice(t, "dlogits", logits, d, loss, 1e-3, 1e-2, 1e-4)
			for i, tg := range tc.targets {
				if tc.opt.ignored(tg) {
					assert.Equal(t, make([]float32, classes), d[i*classes:(i+1)*classes], "ignored row %d", i)
				}
			}
		})
	}
}

// TestSoftmaxCrossEntropyMatchesDefinition compares against a direct float64
// evaluation of torch's formula with everything switched on.
func TestSoftmaxCrossEntropyMatchesDefinition(t *testing.T) {
	const n, classes = 6, 5
	rng := rand.New(rand.NewPCG(9, 10))
	logits := make([]float32, n*classes)
	fillNormal32(rng, logits, 3)
	targets := []int32{4, 0, -1, 2, 2, 1}
	w := []float32{1, 0.5, 2, 1.5, 0.25}
	eps := float64(float32(0.15))
	opt := CrossEntropyOptions{LabelSmoothing: 0.15, ClassWeights: w, IgnoreIndex: 1, IgnoreClass: true}

	var nll, smooth, wsum float64
	for i, tg := range targets {
		if tg < 0 || tg == 1 {
			continue
		}
		z := logits[i*classes : (i+1)*classes]
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v))
		}
		logp := func(c int) float64 { return float64(z[c]) - math.Log(s) }
		nll += -float64(w[tg]) * logp(int(tg))
		for c := 0; c < classes; c++ {
			smooth += -float64(w[c]) * logp(c)
		}
		wsum += float64(w[tg])
	}
	want := (1-eps)*nll/wsum + eps/classes*smooth/wsum
	got, count := SoftmaxCrossEntropy(nil, logits, targets, n, classes, opt)
	// exp is float32 (relative error < 3e-7, as torch on float32 logits);
	// the sums and the log are float64.
	assert.InEpsilon(t, want, got, 1e-6)
	assert.Equal(t, 4, count)
}

func TestSoftmaxCrossEntropyStableAndAliasing(t *testing.T) {
	logits := []float32{1000, 0, -1000, 50, 50, 50}
	targets := []int32{0, 1}
	d := make([]float32, 6)
	loss, _ := SoftmaxCrossEntropy(d, logits, targets, 2, 3, CrossEntropyOptions{})
	assert.InDelta(t, math.Log(3)/2, loss, 1e-9)
	for _, v := range d {
		assert.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
	}
	// dlogits may be the logits themselves.
	inPlace := append([]float32(nil), logits...)
	loss2, _ := SoftmaxCrossEntropy(inPlace, inPlace, targets, 2, 3, CrossEntropyOptions{})
	assert.Equal(t, loss, loss2)
	assert.Equal(t, d, inPlace)
}

func TestSoftmaxCrossEntropyPanics(t *testing.T) {
	logits := make([]float32, 6)
	assert.Panics(t, func() { SoftmaxCrossEntropy(nil, logits, []int32{0, 3}, 2, 3, CrossEntropyOptions{}) })
	assert.Panics(t, func() { SoftmaxCrossEntropy(nil, logits, []int32{0}, 2, 3, CrossEntropyOptions{}) })
	assert.Panics(t, func() {
		SoftmaxCrossEntropy(nil, logits, []int32{0, 1}, 2, 3, CrossEntropyOptions{ClassWeights: []float32{1}})
	})
	assert.Panics(t, func() { SoftmaxCrossEntropy(make([]float32, 5), logits, []int32{0, 1}, 2, 3, CrossEntropyOptions{}) })
}

func TestSoftmaxCrossEntropyNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so the rows' scratch is allocated again")
	}
	logits := make([]float32, 8*10)
	d := make([]float32, 8*10)
	targets := []int32{0, 1, 2, 3, -1, 5, 6, 7}
	opt := CrossEntropyOptions{LabelSmoothing: 0.1, ClassWeights: make([]float32, 10)}
	for i := range opt.ClassWeights {
		opt.ClassWeights[i] = 1
	}
	assert.Zero(t, testing.AllocsPerRun(10, func() {
		SoftmaxCrossEntropy(d, logits, targets, 8, 10, opt)
	}))
}

func TestSoftmaxAndLogSoftmax(t *testing.T) {
	logits := []float32{1, 2, 3, 1000, 1001, 999, -5, -5, -5}
	p := make([]float32, 9)
	lp := make([]float32, 9)
	Softmax(p, logits, 3, 3)
	LogSoftmax(lp, logits, 3, 3)
	want := []float64{0.09003057, 0.24472847, 0.66524096, 0.24472847, 0.66524096, 0.09003057, 1.0 / 3, 1.0 / 3, 1.0 / 3}
	for i := range want {
		assert.InDelta(t, want[i], float64(p[i]), 1e-6, "softmax %d", i)
		assert.InDelta(t, math.Log(want[i]), float64(lp[i]), 1e-5, "log-softmax %d", i)
	}
	// In place.
	q := append([]float32(nil), logits...)
	Softmax(q, q, 3, 3)
	assert.Equal(t, p, q)
	q = append(q[:0], logits...)
	LogSoftmax(q, q, 3, 3)
	assert.Equal(t, lp, q)
	assert.Panics(t, func() { Softmax(make([]float32, 8), logits, 3, 3) })
}

func TestBCEWithLogits(t *testing.T) {
	t.Run("by hand", func(t *testing.T) {
		// x=0, y=1: log 2. x=2, y=0: log(1+e²) = 2.12692801.
		// x=-1, y=0.25: max(-1,0) + 0.25 + log(1+e⁻¹) = 0.25 + 0.31326169 = 0.56326169.
		// mean = (0.69314718 + 2.12692801 + 0.56326169)/3 = 1.12777896
		// grad = (σ(x) - y)/3 = [(0.5-1)/3, (0.88079708-0)/3, (0.26894142-0.25)/3]
		d := make([]float32, 3)
		loss := BCEWithLogits(d, []float32{0, 2, -1}, []float32{1, 0, 0.25})
		assert.InDelta(t, 1.12777896, loss, 1e-7)
		assert.InDeltaSlice(t, []float32{-0.5 / 3, 0.88079708 / 3, 0.01894142 / 3}, d, 1e-7)
	})
	t.Run("stable", func(t *testing.T) {
		d := make([]float32, 4)
		loss := BCEWithLogits(d, []float32{100, -100, 100, -100}, []float32{0, 1, 1, 0})
		assert.InDelta(t, 50, loss, 1e-9) // (100 + 100 + 0 + 0)/4
		assert.InDeltaSlice(t, []float32{0.25, -0.25, 0, 0}, d, 1e-9)
	})
	t.Run("finite differences", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		x := make([]float32, 7)
		fillNormal32(rng, x, 2)
		y := []float32{0, 1, 1, 0, 0.3, 0.9, 1}
		d := make([]float32, 7)
		BCEWithLogits(d, x, y)
		fdCheckSlice(t, "d", x, d, func() float64 { return BCEWithLogits(nil, x, y) }, 1e-3, 1e-2, 1e-5)
	})
	assert.Panics(t, func() { BCEWithLogits(nil, make([]float32, 2), make([]float32, 3)) })
}

func TestMSE(t *testing.T) {
	d := make([]float32, 3)
	// ((1-0)² + (2-4)² + (-1-(-1))²)/3 = 5/3, grad = 2(p-t)/3 = [2/3, -4/3, 0]
	loss := MSE(d, []float32{1, 2, -1}, []float32{0, 4, -1})
	assert.InDelta(t, 5.0/3, loss, 1e-12)
	assert.InDeltaSlice(t, []float32{2.0 / 3, -4.0 / 3, 0}, d, 1e-7)

	rng := rand.New(rand.NewPCG(13, 14))
	p := make([]float32, 6)
	tg := make([]float32, 6)
	fillNormal32(rng, p, 1)
	fillNormal32(rng, tg, 1)
	MSE(d[:0], nil, nil) // empty is fine
	d = make([]float32, 6)
	MSE(d, p, tg)
	fdCheckSlice(t, "d", p, d, func() float64 { return MSE(nil, p, tg) }, 1e-3, 1e-2, 1e-5)
	require.Panics(t, func() { MSE(nil, make([]float32, 2), make([]float32, 3)) })
}

func BenchmarkSoftmaxCrossEntropy(b *testing.B) {
	for _, sz := range []struct{ n, classes int }{{2048, 65}, {1280, 8000}} {
		b.Run(fmt.Sprintf("n=%d,classes=%d", sz.n, sz.classes), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			logits := make([]float32, sz.n*sz.classes)
			fillNormal32(rng, logits, 2)
			d := make([]float32, len(logits))
			targets := make([]int32, sz.n)
			for i := range targets {
				targets[i] = int32(rng.IntN(sz.classes))
			}
			b.ReportAllocs()
			b.SetBytes(int64(4 * len(logits)))
			for b.Loop() {
				SoftmaxCrossEntropy(d, logits, targets, sz.n, sz.classes, CrossEntropyOptions{})
			}
		})
	}
}

// TestSoftmaxCrossEntropyThreadsDeterministic checks that a problem large
// enough to be split over goroutines gives the same loss and gradient bits
// on 1, 2 and 3 threads.
func TestSoftmaxCrossEntropyThreadsDeterministic(t *testing.T) {
	const n, classes = 97, 1500
	rng := rand.New(rand.NewPCG(8, 8))
	logits := make([]float32, n*classes)
	fillNormal32(rng, logits, 3)
	targets := make([]int32, n)
	for i := range targets {
		targets[i] = int32(rng.IntN(classes))
	}
	targets[5] = -1
	var losses []float64
	var grads [][]float32
	for _, th := range []int{1, 2, 3} {
		kernel.SetThreads(th)
		d := make([]float32, n*classes)
		l, _ := SoftmaxCrossEntropy(d, logits, targets, n, classes, CrossEntropyOptions{LabelSmoothing: 0.1})
		losses = append(losses, l)
		grads = append(grads, d)
	}
	kernel.SetThreads(0)
	for i := 1; i < len(losses); i++ {
		require.Equal(t, losses[0], losses[i])
		require.Equal(t, grads[0], grads[i])
	}
}
