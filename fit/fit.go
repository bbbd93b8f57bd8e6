// Package fit is the one training loop of rnnkit's applications (charrnn,
// sentiment and its language model, seq2seq).
//
// The loop owns what every training run shares: the optimizer (Adam unless
// the application brings its own), the cosine schedule with linear warm-up,
// gradient clipping, the evaluation and checkpoint cadence, keep-best (the
// best weights are held in memory, written to Options.BestPath on every
// improvement and put back into the model on every exit, error or not),
// early stopping, exact resume through rnn.SaveRun and rnn.LoadRun,
// non-finite handling (rnn.ErrNonFinite), progress reports and the history
// of evaluations.
//
// An application supplies only what is its own, in a Run: the step (forward
// and backward pass for one batch), the evaluation and how to compare two
// evaluations, its random source and any state it carries between steps
// (charrnn's recurrent state), which goes into the checkpoint beside the
// weights.
//
// Options start from DefaultOptions, so that a zero means zero: Warmup 0 is
// no warm-up, Clip 0 no clipping, Seed 0 a seed like any other.
package fit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
)

// Options are the settings every training run shares. Start from
// DefaultOptions (or an application's DefaultTrainOptions): a zero Warmup,
// Clip, WeightDecay, Patience or Seed means exactly that. Epochs and LR
// must be positive; a zero MinLR, EvalEvery or CheckpointEvery, which is
// never meaningful, takes its default.
type Options struct {
	Epochs      float64 // passes over the training data
	LR          float64 // peak Adam learning rate
	MinLR       float64 // final learning rate of the cosine schedule; 0: LR/20
	Warmup      int     // linear warm-up steps; 0: none
	Clip        float64 // global gradient-norm clip; 0 or negative: none
	WeightDecay float64 // Adam L2 weight decay
	EvalEvery   int     // steps between evaluations; 0: the application's cadence
	Patience    int     // stop after this many evaluations without improvement; 0: never
	Seed        uint64  // seeds the randomness of training (order, dropout, draws)

	// CheckpointPath, if set, receives a checkpoint every CheckpointEvery
	// steps (0: at each evaluation), at the end and when ctx is cancelled.
	CheckpointPath  string
	CheckpointEvery int
	// BestPath, if set, receives the best model each time it improves, in
	// BestDType ("": F32).
	BestPath  string
	BestDType rnn.DType
	// SkipNonFinite skips a step whose loss or gradient is NaN or Inf
	// (counting it in Result.Skipped) instead of stopping with an error.
	SkipNonFinite bool
}

// DefaultOptions are the settings the applications share by default: 10
// epochs, Adam at 2e-3 decaying to LR/20 after 100 warm-up steps, clipping
// at norm 5, seed 1, best models in F32.
func DefaultOptions() Options {
	return Options{Epochs: 10, LR: 2e-3, Warmup: 100, Clip: 5, Seed: 1, BestDType: rnn.F32}
}

// Validate reports options that no run can use. The application's own
// prefix (such as "charrnn: ") is added by the caller.
func (o Options) Validate() error {
	switch {
	case !(o.Epochs > 0) || math.IsInf(o.Epochs, 0):
		return fmt.Errorf("%v epochs: want a positive number", o.Epochs)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("learning rate %v: want a positive number", o.LR)
	case o.MinLR < 0 || math.IsNaN(o.MinLR):
		return fmt.Errorf("final learning rate %v must not be negative", o.MinLR)
	case o.Warmup < 0:
		return fmt.Errorf("%d warm-up steps must not be negative", o.Warmup)
	case o.WeightDecay < 0 || math.IsNaN(o.WeightDecay):
		return fmt.Errorf("weight decay %v must not be negative", o.WeightDecay)
	case o.Patience < 0:
		return fmt.Errorf("patience %d must not be negative", o.Patience)
	}
	return nil
}

// Default gives a zero or negative Epochs or LR, which no run can use, the
// application's default.
func (o *Options) Default(epochs, lr float64) {
	if o.Epochs <= 0 {
		o.Epochs = epochs
	}
	if o.LR <= 0 {
		o.LR = lr
	}
}

func (o *Options) fill(evalEvery int) {
	if o.MinLR <= 0 {
		o.MinLR = o.LR / 20
	}
	if o.EvalEvery <= 0 {
		o.EvalEvery = max(evalEvery, 1)
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = o.EvalEvery
	}
	if o.BestDType == "" {
		o.BestDType = rnn.F32
	}
}

// Metrics are named figures of an evaluation ("val_loss", "val_acc",
// "val_bleu", ...), as the checkpoint stores them (rnn.RunState.Metrics).
type Metrics = map[string]float64

// Progress is reported after every completed step.
type Progress struct {
	Step, Steps int
	Epoch       float64
	Loss        float64 // the step's training loss
	LR          float64
	Work        int           // units of work (Run.Step's second result) done since this call of Train started
	Elapsed     time.Duration // since this call of Train started
	EvalTime    time.Duration // of Elapsed, the time spent evaluating
	Evaluated   bool          // this report follows an evaluation
	Val         Metrics       // the latest evaluation (on resume: the best so far); nil before the first
	Best        Metrics       // the best evaluation so far (Run.Metrics before the first)
	BestStep    int           // the step after which Best was measured (0: none yet)
}

// Value returns the named figure of the latest evaluation, NaN when there
// is none.
func (p Progress) Value(name string) float64 {
	if v, ok := p.Val[name]; ok {
		return v
	}
	return math.NaN()
}

// Result summarizes a run.
type Result struct {
	Steps    int // steps completed, skipped ones included
	BestStep int
	Best     Metrics // the best evaluation (Run.Metrics if none improved on it)
	History  []rnn.RunPoint
	Stopped  string // why training ended: "done", "early stopping", "interrupted"
	Skipped  int    // non-finite steps skipped
}

// Run is what an application supplies to Train.
type Run struct {
	// Name prefixes errors ("charrnn", "sentiment: LM").
	Name string
	// Params are the trained parameters; Optimizer updates them (nil:
	// Adam with Options.LR and WeightDecay).
	Params    *rnn.Params
	Optimizer optim.Optimizer
	// Steps is the length of the run, StepsPerEpoch the steps of one pass
	// over the data, EvalEvery the evaluation cadence when
	// Options.EvalEvery is 0.
	Steps, StepsPerEpoch, EvalEvery int
	// RNG is the application's random source, saved in checkpoints and
	// restored on resume; nil if the application derives its randomness
	// from the seed and the step.
	RNG *rand.PCG
	// Metrics are the best figures before any evaluation (such as
	// val_loss +Inf), as checkpoints store them. Better reports whether an
	// evaluation improves on the best; keep-best and early stopping follow
	// it. The figures of an improvement replace the best ones by name.
	Metrics Metrics
	Better  func(val, best Metrics) bool
	// Record names the figures of an evaluation kept in the history
	// besides "loss" (the mean training loss since the previous point);
	// nil: all of them.
	Record []string

	// Step runs the forward and backward pass of the step's batch, leaving
	// the gradient in Params.Grads, and returns the mean loss and the
	// units of work done (characters, tokens, pairs). With a non-finite
	// loss it may skip the backward pass; no update is made then.
	Step func(step int) (loss float64, work int)
	// AfterUpdate, if set, runs after each optimizer update (carrying a
	// recurrent state, re-zeroing a padding row).
	AfterUpdate func(step int)
	// Skipped, if set, runs after a non-finite step is skipped.
	Skipped func(step int)
	// Evaluate measures the current weights on the validation data. An
	// error while ctx is cancelled ends the run as interrupted.
	Evaluate func(ctx context.Context) (Metrics, error)
	// Save writes the model to path (Options.BestPath).
	Save func(path string, dtype rnn.DType) error
	// Checkpoint writes st with the model and the optimizer to path
	// (rnn.SaveRun with the model's info); before it, SaveState (if set)
	// adds the application's tensors to st.Tensors.
	Checkpoint func(path string, opt optim.Optimizer, st *rnn.RunState) error
	SaveState  func(st *rnn.RunState)
	// Restore, if set, checks a checkpoint's run state on resume and loads
	// the application's tensors from it; it may fill metrics that older
	// checkpoints lack.
	Restore func(st *rnn.RunState) error
}

// Checkpoint is a run state read from a checkpoint file (rnn.LoadRun) to
// resume from.
type Checkpoint struct {
	Run   *rnn.RunState
	Optim []rnn.Tensor
}

// ErrOtherRun is wrapped by the error of a checkpoint that does not fit
// the run resuming from it.
var ErrOtherRun = errors.New("checkpoint: it was written with other options (batch size, model size); resume with the options of the original run")

// Train runs r with opt from its first step, or from ck when resuming, and
// returns the result so far. On every exit r.Params holds the best weights
// seen. Cancelling ctx writes a checkpoint (if CheckpointPath is set) and
// returns ctx.Err() with Stopped "interrupted"; a non-finite step returns
// an error wrapping rnn.ErrNonFinite unless SkipNonFinite.
func Train(ctx context.Context, r *Run, ck *Checkpoint, opt Options, progress func(Progress)) (res Result, err error) {
	if err := opt.Validate(); err != nil {
		return res, fmt.Errorf("%s: %v", r.Name, err)
	}
	opt.fill(r.EvalEvery)
	ps := r.Params
	optimizer := r.Optimizer
	if optimizer == nil {
		optimizer = optim.NewAdam(optim.AdamOptions{LR: opt.LR, WeightDecay: opt.WeightDecay})
	}
	sched := optim.CosineWarmup{Base: opt.LR, Min: opt.MinLR, Warmup: opt.Warmup, Total: r.Steps}
	st := &rnn.RunState{Best: slices.Clone(ps.Values), Metrics: maps.Clone(r.Metrics), RNG: r.RNG}
	if st.Metrics == nil {
		st.Metrics = Metrics{}
	}
	var val Metrics
	if ck != nil {
		if err := restore(r, ck, st, optimizer); err != nil {
			return res, err
		}
		val = maps.Clone(st.Metrics)
	}
	res.Stopped = "done"
	defer func() {
		res.Steps, res.BestStep, res.Skipped = st.Step, st.BestStep, st.Skipped
		res.Best, res.History = st.Metrics, st.History
		copy(ps.Values, st.Best)
	}()
	checkpoint := func() error {
		if r.SaveState != nil {
			r.SaveState(st)
		}
		return r.Checkpoint(opt.CheckpointPath, optimizer, st)
	}
	start := time.Now()
	var evalTime time.Duration
	work := 0
	var lossSum float64
	var lossN int
	for ; st.Step < r.Steps; st.Step++ {
		step := st.Step
		if ctx.Err() != nil {
			res.Stopped = "interrupted"
			if opt.CheckpointPath != "" {
				if err := checkpoint(); err != nil {
					return res, err
				}
			}
			return res, ctx.Err()
		}
		lr := sched.LR(step)
		optimizer.SetLR(lr)
		loss, n := r.Step(step)
		if !update(ps, optimizer, loss, opt.Clip) {
			if !opt.SkipNonFinite {
				return res, fmt.Errorf("%s step %d: %w (loss %v); lower the learning rate, or skip such steps", r.Name, step, rnn.ErrNonFinite, loss)
			}
			st.Skipped++
			if r.Skipped != nil {
				r.Skipped(step)
			}
			continue
		}
		if r.AfterUpdate != nil {
			r.AfterUpdate(step)
		}
		work += n
		lossSum += loss
		lossN++
		evaluated := false
		if (step+1)%opt.EvalEvery == 0 || step+1 == r.Steps {
			t0 := time.Now()
			ev, err := r.Evaluate(ctx)
			evalTime += time.Since(t0)
			if err != nil {
				if ctx.Err() != nil {
					continue // checkpointed at the top of the loop
				}
				return res, err
			}
			pt := rnn.RunPoint{Step: step + 1, Values: Metrics{"loss": lossSum / float64(max(lossN, 1))}}
			if r.Record == nil {
				maps.Copy(pt.Values, ev)
			}
			for _, k := range r.Record {
				pt.Values[k] = ev[k]
			}
			st.History = append(st.History, pt)
			lossSum, lossN = 0, 0
			evaluated, val = true, ev
			if r.Better(ev, st.Metrics) {
				maps.Copy(st.Metrics, ev)
				st.BestStep, st.SinceBest = step+1, 0
				copy(st.Best, ps.Values)
				if opt.BestPath != "" {
					if err := r.Save(opt.BestPath, opt.BestDType); err != nil {
						return res, err
					}
				}
			} else {
				st.SinceBest++
			}
		}
		stopping := evaluated && opt.Patience > 0 && st.SinceBest >= opt.Patience
		// A checkpoint every CheckpointEvery steps and at the end, so that a
		// finished run can be resumed for more epochs.
		if opt.CheckpointPath != "" && ((step+1)%opt.CheckpointEvery == 0 || step+1 == r.Steps || stopping) {
			st.Step++ // the checkpoint resumes after this step
			err := checkpoint()
			st.Step--
			if err != nil {
				return res, err
			}
		}
		if progress != nil {
			progress(Progress{Step: step + 1, Steps: r.Steps, Epoch: float64(step+1) / float64(max(r.StepsPerEpoch, 1)),
				Loss: loss, LR: lr, Work: work, Elapsed: time.Since(start), EvalTime: evalTime, Evaluated: evaluated,
				Val: val, Best: st.Metrics, BestStep: st.BestStep})
		}
		if stopping {
			res.Stopped = "early stopping"
			st.Step++
			break
		}
	}
	return res, nil
}

// update clips the gradient and steps the optimizer; it reports false (and
// makes no update) when the loss or the gradient is not finite.
func update(ps *rnn.Params, optimizer optim.Optimizer, loss, clip float64) bool {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return false
	}
	if clip > 0 {
		if norm := ps.ClipGradNorm(clip); math.IsNaN(norm) || math.IsInf(norm, 0) {
			return false
		}
	} else if !ps.GradsFinite() {
		return false
	}
	optimizer.Step(ps)
	return true
}

// restore loads a checkpoint's run state into st, the run's random source
// and the optimizer.
func restore(r *Run, ck *Checkpoint, st *rnn.RunState, optimizer optim.Optimizer) error {
	run := ck.Run
	if len(run.Best) != len(st.Best) || (r.RNG != nil && run.RNG == nil) {
		return ErrOtherRun
	}
	if run.Metrics == nil {
		run.Metrics = Metrics{}
	}
	if r.Restore != nil {
		if err := r.Restore(run); err != nil {
			return err
		}
	}
	if err := optimizer.SetState(ck.Optim); err != nil {
		return fmt.Errorf("checkpoint: %v", err)
	}
	*st = *run
	if r.RNG != nil {
		*r.RNG = *run.RNG
		st.RNG = r.RNG
	}
	return nil
}

// Load reads a checkpoint written by Train for a model of kind: the model
// info and tensors to rebuild the model from, and the run state to pass to
// Train.
func Load(path, kind string) (rnn.ModelInfo, []rnn.Tensor, *Checkpoint, error) {
	info, params, run, optState, err := rnn.LoadRun(path, kind)
	if err != nil {
		return rnn.ModelInfo{}, nil, nil, err
	}
	return info, params, &Checkpoint{Run: run, Optim: optState}, nil
}

// Resume reads the checkpoint at path (Load), rebuilds its model with
// load and continues the run with train: the body of every application's
// Resume.
func Resume[M, R any](path, kind string, load func(path string, info rnn.ModelInfo, params []rnn.Tensor) (M, error),
	train func(m M, ck *Checkpoint) (R, error)) (m M, res R, err error) {
	info, params, ck, err := Load(path, kind)
	if err != nil {
		return m, res, err
	}
	if m, err = load(path, info, params); err != nil {
		return m, res, err
	}
	res, err = train(m, ck)
	return m, res, err
}

// SaveRun returns a Run.Checkpoint that writes ps with the model info
// that info returns (rnn.SaveRun).
func SaveRun(info func() (rnn.ModelInfo, error), ps *rnn.Params) func(path string, opt optim.Optimizer, st *rnn.RunState) error {
	return func(path string, opt optim.Optimizer, st *rnn.RunState) error {
		mi, err := info()
		if err != nil {
			return err
		}
		return rnn.SaveRun(path, mi, ps, opt.State(), st)
	}
}
