package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSchedules(t *testing.T) {
	cos := CosineWarmup{Base: 1, Min: 0.1, Warmup: 10, Total: 110}
	for _, tc := range []struct {
		name  string
		s     Schedule
		steps []int
		want  []float64
	}{
		{"constant", Constant{Base: 3e-4}, []int{0, 1, 1000}, []float64{3e-4, 3e-4, 3e-4}},
		{"step decay", StepDecay{Base: 1, Gamma: 0.5, Every: 10},
			[]int{0, 9, 10, 19, 20, 25, 35}, []float64{1, 1, 0.5, 0.5, 0.25, 0.25, 0.125}},
		{"step decay default gamma 0.1", StepDecay{Base: 2, Every: 3}, []int{2, 3, 6}, []float64{2, 0.2, 0.02}},
		{"step decay never", StepDecay{Base: 2, Gamma: 0.5}, []int{0, 100}, []float64{2, 2}},
		// warmup: (step+1)/10; cosine: 0.1 + 0.45·(1 + cos(π·(step-10)/100));
		// step 35: 0.1 + 0.45·(1 + cos(π/4)) = 0.86819805; step 60: 0.55; step 85: 0.23180195
		{"cosine warmup", cos,
			[]int{0, 4, 9, 10, 35, 60, 85, 110, 500},
			[]float64{0.1, 0.5, 1, 1, 0.86819805, 0.55, 0.23180195, 0.1, 0.1}},
		{"cosine without warmup", CosineWarmup{Base: 1, Total: 4},
			[]int{0, 1, 2, 4}, []float64{1, 0.85355339, 0.5, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, step := range tc.steps {
				assert.InDelta(t, tc.want[i], tc.s.LR(step), 1e-8, "step %d", step)
			}
		})
	}
}

func TestCosineWarmupMonotone(t *testing.T) {
	s := CosineWarmup{Base: 3e-3, Min: 1e-4, Warmup: 100, Total: 2000}
	prev := 0.0
	for step := 0; step < 100; step++ {
		lr := s.LR(step)
		assert.Greater(t, lr, prev)
		prev = lr
	}
	for step := 100; step <= 2100; step++ {
		lr := s.LR(step)
		assert.LessOrEqual(t, lr, prev)
		assert.GreaterOrEqual(t, lr, s.Min)
		prev = lr
	}
}

func TestReduceOnPlateau(t *testing.T) {
	t.Run("patience 2", func(t *testing.T) {
		r := &ReduceOnPlateau{Factor: 0.5, Patience: 2}
		lr := 1.0
		// An improvement must beat best·(1 - 1e-4): after best 9, 8.9995 is not one.
		metrics := []float64{10, 9, 9, 9, 9, 8.9995, 8, 8.5, 8.5, 8.5, 8.5}
		want := []float64{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25}
		for i, m := range metrics {
			lr = r.Observe(m, lr)
			assert.Equal(t, want[i], lr, "observation %d (metric %v)", i, m)
		}
		assert.Equal(t, 8.0, r.Best)
	})
	t.Run("defaults: patience 10, factor 0.1", func(t *testing.T) {
		r := &ReduceOnPlateau{}
		lr := 1.0
		lr = r.Observe(1, lr)
		for i := 0; i < 10; i++ {
			lr = r.Observe(1, lr)
			assert.Equal(t, 1.0, lr, "bad observation %d", i+1)
		}
		lr = r.Observe(1, lr)
		assert.InDelta(t, 0.1, lr, 1e-15)
	})
	t.Run("patience 0 via -1, min, cooldown", func(t *testing.T) {
		r := &ReduceOnPlateau{Factor: 0.1, Patience: -1, Min: 0.005, Cooldown: 1}
		lr := 1.0
		lr = r.Observe(5, lr) // best
		lr = r.Observe(5, lr) // bad → 0.1, cooldown 1
		assert.InDelta(t, 0.1, lr, 1e-15)
		lr = r.Observe(5, lr) // in cooldown: not counted
		assert.InDelta(t, 0.1, lr, 1e-15)
		lr = r.Observe(5, lr) // bad → max(0.01, 0.005)
		assert.InDelta(t, 0.01, lr, 1e-15)
		lr = r.Observe(5, lr) // cooldown
		lr = r.Observe(5, lr) // → clamped at Min
		assert.Equal(t, 0.005, lr)
		lr = r.Observe(5, lr)
		lr = r.Observe(5, lr) // no change below Min
		assert.Equal(t, 0.005, lr)
	})
	t.Run("NaN never improves", func(t *testing.T) {
		r := &ReduceOnPlateau{Patience: 1}
		lr := r.Observe(math.NaN(), 1)
		assert.True(t, math.IsInf(r.Best, 1))
		lr = r.Observe(3, lr)
		assert.Equal(t, 3.0, r.Best)
		assert.Equal(t, 1.0, lr)
	})
}
