package rnn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampledFixture is a small output layer with random weights and inputs.
type sampledFixture struct {
	ps      *Params
	w, b    *Param
	h       []float32
	targets []int32
}

func newSampledFixture(V, D, n int, bias bool, seed uint64) *sampledFixture {
	rng := rand.New(rand.NewPCG(seed, 3))
	f := &sampledFixture{ps: NewParams()}
	f.w = f.ps.Add("decoder.weight", V, D)
	if bias {
		f.b = f.ps.Add("decoder.bias", V)
		fillNormal32(rng, f.b.W, 0.5)
	}
	fillNormal32(rng, f.w.W, 0.7)
	f.h = make([]float32, n*D)
	fillNormal32(rng, f.h, 1)
	f.targets = make([]int32, n)
	for i := range f.targets {
		f.targets[i] = int32(rng.IntN(V))
	}
	return f
}

// sampledReference evaluates the sampled softmax loss of the doc comment
// directly in float64.
func sampledReference(f *sampledFixture, q func(int32) float64, draws []int32) float64 {
	D := f.w.Shape[1]
	S := float64(len(draws))
	counts := map[int32]int{}
	var order []int32
	for _, c := range draws {
		if counts[c] == 0 {
			order = append(order, c)
		}
		counts[c]++
	}
	logit := func(i int, c int32) float64 {
		z := dot64(f.h[i*D:(i+1)*D], f.w.W[int(c)*D:(int(c)+1)*D])
		if f.b != nil {
			z += float64(f.b.W[c])
		}
		return z
	}
	var total float64
	n := 0
	for i, t := range f.targets {
		if t < 0 {
			continue
		}
		n++
		zt := logit(i, t)
		sum := math.Exp(zt)
		for _, c := range order {
			if c == t {
				continue
			}
			sum += math.Exp(logit(i, c) + math.Log(float64(counts[c])) - math.Log(S*q(c)))
		}
		total += math.Log(sum) - zt
	}
	return total / float64(n)
}

func TestSampledSoftmaxGradients(t *testing.T) {
	const V, D, n = 13, 5, 7
	for _, tc := range []struct {
		name    string
		bias    bool
		sampler func() *Sampler
		draws   []int32
	}{
		// Draws with duplicates (3, 7) and accidental hits: the targets are drawn below.
		{"unigram with bias", true, func() *Sampler {
			w := make([]float64, V)
			for k := range w {
				w[k] = math.Pow(float64(V-k), 0.75)
			}
			return NewUnigramSampler(w)
		}, []int32{3, 7, 3, 0, 12, 7, 7, 5}},
		{"log-uniform without bias", false, func() *Sampler { return NewLogUniformSampler(V) }, []int32{1, 1, 2, 9, 4}},
		{"one draw", true, func() *Sampler { return NewLogUniformSampler(V) }, []int32{6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSampledFixture(V, D, n, tc.bias, 11)
			f.targets[1] = -1          // ignored row
			f.targets[2] = tc.draws[0] // accidental hit
			f.targets[4] = tc.draws[len(tc.draws)-1]
			sm := NewSampledSoftmax(f.w, f.b, tc.sampler(), len(tc.draws))
			dh := make([]float32, n*D)
			f.ps.ZeroGrad()
			loss, count := sm.LossWith(dh, f.h, n, f.targets, tc.draws)
			require.Equal(t, n-1, count)
			assert.InDelta(t, sampledReference(f, sm.Sampler.Prob, tc.draws), loss, 1e-5)
			l2, c2 := sm.LossWith(nil, f.h, n, f.targets, tc.draws)
			assert.Equal(t, loss, l2, "evaluation gives the training loss")
			assert.Equal(t, count, c2)
			assert.Equal(t, make([]float32, D), dh[1*D:2*D], "an ignored row gets no gradient")

			lossOf := func() float64 {
				l, _ := sm.LossWith(nil, f.h, n, f.targets, tc.draws)
				return l
			}
			fdCheckSlice(t, "dh", f.h, dh, lossOf, 1e-3, 1e-2, 1e-4)
			dw := append([]float32(nil), f.w.G...)
			fdCheckSlice(t, "dW", f.w.W, dw, lossOf, 1e-3, 1e-2, 1e-4)
			if f.b != nil {
				db := append([]float32(nil), f.b.G...)
				fdCheckSlice(t, "db", f.b.W, db, lossOf, 1e-3, 1e-2, 1e-4)
			}
			// Only candidate and target rows of W are touched.
			touched := map[int32]bool{}
			for _, c := range tc.draws {
				touched[c] = true
			}
			for _, c := range f.targets {
				if c >= 0 {
					touched[c] = true
				}
			}
			for c := int32(0); c < V; c++ {
				if !touched[c] {
					assert.Equal(t, make([]float32, D), dw[int(c)*D:(int(c)+1)*D], "row %d", c)
				}
			}
			// Gradients accumulate.
			sm.LossWith(dh, f.h, n, f.targets, tc.draws)
			for i := range dw {
				assert.InDelta(t, 2*dw[i], f.w.G[i], 1e-6)
			}
		})
	}
}

func TestSampledSoftmaxAllIgnored(t *testing.T) {
	f := newSampledFixture(6, 3, 2, true, 1)
	f.targets[0], f.targets[1] = -1, -100
	sm := NewSampledSoftmax(f.w, f.b, NewLogUniformSampler(6), 4)
	dh := []float32{9, 9, 9, 9, 9, 9}
	loss, count := sm.LossWith(dh, f.h, 2, f.targets, []int32{0, 1, 2, 3})
	assert.Equal(t, 0.0, loss)
	assert.Equal(t, 0, count)
	assert.Equal(t, make([]float32, 6), dh)
	loss, count = sm.FullLoss(dh, f.h, 2, f.targets)
	assert.Equal(t, 0.0, loss)
	assert.Equal(t, 0, count)
}

// TestFullLossMatchesCrossEntropy: FullLoss is SoftmaxCrossEntropy of the
// layer's logits, also when computed in several blocks of rows, and its
// gradients pass a finite-difference check.
func TestFullLossMatchesCrossEntropy(t *testing.T) {
	const V, D, n = 9, 4, 7
	defer func(c int) { fullChunk = c }(fullChunk)
	for _, chunk := range []int{1 << 21, 2 * V, V} { // one block, blocks of 2 rows, blocks of 1
		fullChunk = chunk
		f := newSampledFixture(V, D, n, true, 5)
		f.targets[3] = -1
		sm := NewSampledSoftmax(f.w, f.b, nil, 0)
		logits := make([]float32, n*V)
		sm.Logits(logits, f.h, n)
		for i := 0; i < n; i++ {
			for c := 0; c < V; c++ {
				want := dot64(f.h[i*D:(i+1)*D], f.w.W[c*D:(c+1)*D]) + float64(f.b.W[c])
				require.InDelta(t, want, logits[i*V+c], 1e-5)
			}
		}
		want, wantN := SoftmaxCrossEntropy(nil, logits, f.targets, n, V, CrossEntropyOptions{})
		dh := make([]float32, n*D)
		f.ps.ZeroGrad()
		loss, count := sm.FullLoss(dh, f.h, n, f.targets)
		require.Equal(t, wantN, count)
		require.InDelta(t, want, loss, 1e-6, "chunk %d", chunk)
		lossOf := func() float64 {
			l, _ := sm.FullLoss(nil, f.h, n, f.targets)
			return l
		}
		fdCheckSlice(t, "dh", f.h, dh, lossOf, 1e-3, 1e-2, 1e-4)
		fdCheckSlice(t, "dW", f.w.W, append([]float32(nil), f.w.G...), lossOf, 1e-3, 1e-2, 1e-4)
		fdCheckSlice(t, "db", f.b.W, append([]float32(nil), f.b.G...), lossOf, 1e-3, 1e-2, 1e-4)
	}
}

// TestSampledSoftmaxApproachesFull: with a uniform proposal and S ≫ V every
// class is a candidate with the right weight, so the sampled loss is the
// full loss up to sampling noise.
func TestSampledSoftmaxApproachesFull(t *testing.T) {
	const V, D, n = 40, 6, 30
	f := newSampledFixture(V, D, n, true, 8)
	w := make([]float64, V)
	for k := range w {
		w[k] = 1
	}
	sm := NewSampledSoftmax(f.w, f.b, NewUnigramSampler(w), 200*V)
	full, _ := sm.FullLoss(nil, f.h, n, f.targets)
	sampled, _ := sm.Loss(nil, f.h, n, f.targets, rand.New(rand.NewPCG(1, 2)))
	assert.InDelta(t, full, sampled, 0.02*full)
	// With a few samples the loss is far below the full one (the estimate of
	// the partition function misses most classes), which is why evaluation
	// uses FullLoss.
	sm.Samples = 3
	few, _ := sm.Loss(nil, f.h, n, f.targets, rand.New(rand.NewPCG(1, 2)))
	assert.Less(t, few, full)
}

func TestSamplerFrequencies(t *testing.T) {
	const V, draws = 12, 240000
	w := make([]float64, V)
	for k := range w {
		w[k] = float64((k*7)%5) + 0.5
	}
	w[4] = 0 // never drawn
	for name, s := range map[string]*Sampler{"unigram": NewUnigramSampler(w), "log-uniform": NewLogUniformSampler(V)} {
		t.Run(name, func(t *testing.T) {
			var sum float64
			for k := int32(0); k < V; k++ {
				sum += s.Prob(k)
			}
			require.InDelta(t, 1, sum, 1e-12)
			got := make([]int32, draws)
			s.Sample(got, rand.New(rand.NewPCG(3, 4)))
			counts := make([]float64, V)
			for _, k := range got {
				counts[k]++
			}
			for k := int32(0); k < V; k++ {
				p := s.Prob(k)
				sd := math.Sqrt(p * (1 - p) / draws)
				assert.InDelta(t, p, counts[k]/draws, 5*sd+1e-9, "class %d", k)
			}
		})
	}
	assert.Equal(t, 0.0, NewUnigramSampler(w).Prob(4))
	assert.InDelta(t, math.Log(2)/math.Log(V+1), NewLogUniformSampler(V).Prob(0), 1e-15)
}

func TestSampledSoftmaxSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const V, D, n = 500, 16, 64
	f := newSampledFixture(V, D, n, true, 2)
	sm := NewSampledSoftmax(f.w, f.b, NewLogUniformSampler(V), 64)
	rng := rand.New(rand.NewPCG(1, 1))
	dh := make([]float32, n*D)
	sm.Loss(dh, f.h, n, f.targets, rng)
	sm.FullLoss(dh, f.h, n, f.targets)
	allocs := testing.AllocsPerRun(20, func() {
		sm.Loss(dh, f.h, n, f.targets, rng)
	})
	assert.Equal(t, 0.0, allocs, "Loss allocates in steady state")
	allocs = testing.AllocsPerRun(5, func() {
		sm.FullLoss(dh, f.h, n, f.targets)
	})
	assert.LessOrEqual(t, allocs, 2.0, "FullLoss allocates in steady state")
}

func TestSampledSoftmaxPanics(t *testing.T) {
	f := newSampledFixture(5, 2, 1, false, 1)
	assert.Panics(t, func() { NewSampledSoftmax(f.w, nil, NewLogUniformSampler(4), 2) })
	assert.Panics(t, func() { NewSampledSoftmax(f.w, nil, nil, 2) })
	sm := NewSampledSoftmax(f.w, nil, NewUnigramSampler([]float64{1, 1, 0, 1, 1}), 2)
	assert.Panics(t, func() { sm.LossWith(nil, f.h, 1, f.targets, []int32{0, 2}) }, "a draw of probability 0")
	f.targets[0] = 5
	assert.Panics(t, func() { sm.LossWith(nil, f.h, 1, f.targets, []int32{0, 1}) }, "a target out of range")
}
