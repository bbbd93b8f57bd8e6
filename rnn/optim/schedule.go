package optim

import "math"

// Schedule gives the learning rate of each optimizer step; step counts from 0
// (the first update), as the last_epoch of a torch scheduler.
type Schedule interface {
	LR(step int) float64
}

// Constant is a fixed learning rate.
type Constant struct {
	Base float64
}

// LR returns Base.
func (c Constant) LR(step int) float64 { return c.Base }

// StepDecay multiplies the rate by Gamma every Every steps, as
// torch.optim.lr_scheduler.StepLR: Base·Gamma^⌊step/Every⌋.
// Gamma 0 means torch's default 0.1; Every ≤ 0 means never.
type StepDecay struct {
	Base  float64
	Gamma float64
	Every int
}

// LR returns the rate at step.
func (s StepDecay) LR(step int) float64 {
	if s.Every <= 0 || step < s.Every {
		return s.Base
	}
	g := s.Gamma
	if g == 0 {
		g = 0.1
	}
	return s.Base * math.Pow(g, float64(step/s.Every))
}

// CosineWarmup warms up linearly from Base/Warmup to Base over the first
// Warmup steps, then follows a half cosine from Base down to Min at step
// Total, and stays at Min after it:
//
//	step < Warmup:          Base·(step+1)/Warmup
//	Warmup ≤ step ≤ Total:  Min + (Base-Min)·(1 + cos(π·(step-Warmup)/(Total-Warmup)))/2
//	step > Total:           Min
type CosineWarmup struct {
	Base, Min     float64
	Warmup, Total int
}

// LR returns the rate at step.
func (c CosineWarmup) LR(step int) float64 {
	if step < c.Warmup {
		return c.Base * float64(step+1) / float64(c.Warmup)
	}
	if step >= c.Total {
		if c.Total <= c.Warmup {
			return c.Base // no decay phase
		}
		return c.Min
	}
	progress := float64(step-c.Warmup) / float64(c.Total-c.Warmup)
	return c.Min + (c.Base-c.Min)*0.5*(1+math.Cos(math.Pi*progress))
}

// ReduceOnPlateau lowers the learning rate when a metric to be minimized
// (validation loss) stops improving, as torch.optim.lr_scheduler.
// ReduceLROnPlateau with mode "min" and threshold_mode "rel": a value is an
// improvement when it is below Best·(1 - Threshold); after more than Patience
// observations in a row without one, the rate becomes max(lr·Factor, Min)
// (the change is skipped when smaller than 1e-8), followed by Cooldown
// observations during which bad ones are not counted.
//
// Zero values mean torch's defaults (Factor 0.1, Patience 10, Threshold 1e-4,
// Cooldown 0, Min 0); a negative Patience or Threshold asks for exactly 0.
// The exported state fields (Best, Bad, CooldownLeft, Started) are what a
// checkpoint must save to resume exactly.
type ReduceOnPlateau struct {
	Factor    float64
	Patience  int
	Min       float64
	Threshold float64
	Cooldown  int

	// State.
	Best         float64 // best metric so far (+Inf once Started, before any improvement)
	Bad          int     // observations since the last improvement
	CooldownLeft int     // observations left in the cooldown
	Started      bool    // whether any metric has been observed
}

// Observe records the metric of one evaluation and returns the learning rate
// to use from now on, given the current one.
func (r *ReduceOnPlateau) Observe(metric float64, lr float64) (newLR float64) {
	factor := r.Factor
	if factor == 0 {
		factor = 0.1
	}
	patience := r.Patience
	switch {
	case patience == 0:
		patience = 10
	case patience < 0:
		patience = 0
	}
	threshold := optDefault(r.Threshold, 1e-4)

	if !r.Started {
		r.Best, r.Started = math.Inf(1), true // torch's initial best; a NaN metric never improves
	}
	if metric < r.Best*(1-threshold) {
		r.Best, r.Bad = metric, 0
	} else {
		r.Bad++
	}
	if r.CooldownLeft > 0 {
		r.CooldownLeft--
		r.Bad = 0
	}
	if r.Bad > patience {
		newLR = math.Max(lr*factor, r.Min)
		if lr-newLR <= 1e-8 {
			newLR = lr
		}
		r.CooldownLeft = r.Cooldown
		r.Bad = 0
		return newLR
	}
	return lr
}
