package charrnn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
)

// TrainOptions configure Train. Zero values mean the documented defaults.
type TrainOptions struct {
	SeqLen      int     // BPTT window (truncation length); default 64
	Batch       int     // parallel contiguous streams; default 32
	Epochs      float64 // passes over the training text; default 10
	LR          float64 // peak Adam learning rate; default 2e-3
	MinLR       float64 // final LR of the cosine schedule; default LR/20
	Warmup      int     // linear warm-up steps; default 100
	Clip        float64 // global gradient-norm clip; default 5, negative = off
	WeightDecay float64 // Adam L2 weight decay; default 0
	ValFrac     float64 // the last ValFrac of the text is validation; default 0.1
	EvalEvery   int     // steps between validation passes; default: 4 per epoch
	Patience    int     // stop after this many evaluations without improvement; 0 = never
	Seed        uint64  // seeds initialization-independent randomness (dropout); default 1

	// CheckpointPath, if set, receives a checkpoint every CheckpointEvery
	// steps (default: at each evaluation) and when ctx is cancelled.
	CheckpointPath  string
	CheckpointEvery int
	// BestPath, if set, receives the best model (by validation loss) each
	// time it improves, in BestDType (default F32).
	BestPath  string
	BestDType rnn.DType
	// SkipNonFinite skips a step whose loss or gradient is NaN or Inf
	// (counting it in Result.Skipped) instead of stopping with an error.
	SkipNonFinite bool
}

func (o *TrainOptions) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.SeqLen, 64)
	def(&o.Batch, 32)
	def(&o.Warmup, 100)
	if o.Epochs <= 0 {
		o.Epochs = 10
	}
	if o.LR <= 0 {
		o.LR = 2e-3
	}
	if o.MinLR <= 0 {
		o.MinLR = o.LR / 20
	}
	if o.Clip == 0 {
		o.Clip = 5
	}
	if o.ValFrac <= 0 || o.ValFrac >= 1 {
		o.ValFrac = 0.1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.BestDType == "" {
		o.BestDType = rnn.F32
	}
}

// Progress is reported to Train's callback after every step and evaluation.
type Progress struct {
	Step, Steps int
	Epoch       float64
	Loss        float64 // mean training loss of this step, nats/char
	ValLoss     float64 // latest validation loss (NaN before the first evaluation)
	BestValLoss float64
	LR          float64
	CharsPerSec float64
	Elapsed     time.Duration
	Evaluated   bool // this report follows a validation pass
}

// Point is one entry of the training history (for loss plots).
type Point struct {
	Step    int
	Loss    float64 // training loss (mean over the steps since the previous point)
	ValLoss float64
}

// Result summarizes a training run.
type Result struct {
	Steps       int
	BestValLoss float64
	BestStep    int
	History     []Point
	Stopped     string // why training ended: "done", "early stopping", "interrupted"
	Skipped     int    // non-finite steps skipped
}

// ErrNonFinite reports a NaN or Inf loss or gradient during training. It
// is rnn.ErrNonFinite, the same error for every application.
var ErrNonFinite = rnn.ErrNonFinite

// trainer holds the buffers of one training run; nothing is allocated per step.
type trainer struct {
	m                   *Model
	opt                 TrainOptions
	T, B                int
	seq                 *rnn.Seq
	state               *rnn.State
	ids, tgt            []int32   // (T, B) time-major window
	x, dxe              []float32 // (T*B, In)
	y, dy               []float32 // (T*B, H) after dropout
	logits, dlogits     []float32 // (T*B, V)
	embDrop, outDrop    rnn.Dropout
	whh                 []*rnn.Param // the weights weight drop applies to
	wdrop               rnn.WeightDrop
	rng                 *rand.Rand
	st                  *rnn.RunState
	adam                *rnn.Adam
	sched               rnn.CosineWarmup
	train, val          []int32
	streamLen, perEpoch int
}

// Train fits m to text with stateful truncated BPTT: the training part of
// the text (the first 1-ValFrac) is cut into Batch contiguous streams, each
// step advances every stream by SeqLen characters, and the recurrent state
// is carried from one window to the next (detached), reset at each epoch.
// Adam with a cosine schedule and gradient clipping updates the weights. The
// validation loss is measured on the held-out tail; at the end m holds the
// best weights seen. Cancelling ctx checkpoints (if CheckpointPath is set)
// and returns the result so far with Stopped "interrupted" and ctx.Err().
//
// To resume, pass the checkpoint to Resume before calling Train with the
// same text and options.
func Train(ctx context.Context, m *Model, text string, opt TrainOptions, progress func(Progress)) (Result, error) {
	return m.trainFrom(ctx, nil, text, opt, progress)
}

// Resume continues a run from a checkpoint written by Train, to the same
// result as an uninterrupted run with the same text and options.
func Resume(ctx context.Context, checkpoint string, text string, opt TrainOptions, progress func(Progress)) (*Model, Result, error) {
	info, params, st, optState, err := rnn.LoadRun(checkpoint, Kind)
	if err != nil {
		return nil, Result{}, err
	}
	m, err := fromFile(checkpoint, info, params)
	if err != nil {
		return nil, Result{}, err
	}
	res, err := m.trainFrom(ctx, &resumeState{st, optState}, text, opt, progress)
	return m, res, err
}

type resumeState struct {
	run      *rnn.RunState
	optState []rnn.Tensor
}

func (m *Model) trainFrom(ctx context.Context, ck *resumeState, text string, opt TrainOptions, progress func(Progress)) (res Result, err error) {
	opt.defaults()
	all := m.Tok.Encode(text)
	nVal := int(float64(len(all)) * opt.ValFrac)
	tr := &trainer{m: m, opt: opt, T: opt.SeqLen, B: opt.Batch, train: all[:len(all)-nVal], val: all[len(all)-nVal:]}
	tr.streamLen = len(tr.train) / tr.B
	tr.perEpoch = (tr.streamLen - 1) / tr.T
	if tr.perEpoch < 1 {
		return res, fmt.Errorf("charrnn: training text of %d characters is too short for %d streams of %d-character windows", len(tr.train), tr.B, tr.T)
	}
	if len(tr.val) < 2 {
		return res, fmt.Errorf("charrnn: validation split of %d characters is too short; use more text or a larger ValFrac", len(tr.val))
	}
	steps := int(opt.Epochs * float64(tr.perEpoch))
	if opt.EvalEvery <= 0 {
		opt.EvalEvery = max(tr.perEpoch/4, 1)
	}
	if opt.CheckpointEvery <= 0 {
		opt.CheckpointEvery = opt.EvalEvery
	}
	tr.opt = opt
	tr.alloc()
	tr.adam = rnn.NewAdam(rnn.AdamOptions{LR: opt.LR, WeightDecay: opt.WeightDecay})
	tr.sched = rnn.CosineWarmup{Base: opt.LR, Min: opt.MinLR, Warmup: opt.Warmup, Total: steps}
	st := &rnn.RunState{
		Best:    slices.Clone(m.Params.Values), // the best weights so far (flat, like Params.Values)
		Metrics: map[string]float64{"val_loss": math.Inf(1)},
		RNG:     rand.NewPCG(opt.Seed, 0x6368617272),
	}
	valLoss := math.NaN()
	if ck != nil {
		if err := tr.restore(ck, st); err != nil {
			return res, err
		}
		valLoss = st.Metrics["val_loss"]
	}
	tr.st = st
	tr.rng = rand.New(st.RNG)
	res = Result{Stopped: "done", History: historyFromRun(st.History)}
	defer func() {
		res.Steps, res.BestStep, res.Skipped = st.Step, st.BestStep, st.Skipped
		res.BestValLoss = st.Metrics["val_loss"]
		copy(m.Params.Values, st.Best)
	}()
	start := time.Now()
	chars := 0
	var lossSum float64
	var lossN int
	for ; st.Step < steps; st.Step++ {
		step := st.Step
		if ctx.Err() != nil {
			res.Stopped = "interrupted"
			if opt.CheckpointPath != "" {
				if cerr := tr.checkpoint(res.History); cerr != nil {
					return res, cerr
				}
			}
			return res, ctx.Err()
		}
		w := step % tr.perEpoch
		if w == 0 {
			tr.state.Zero()
		}
		lr := tr.sched.LR(step)
		tr.adam.SetLR(lr)
		loss, ok := tr.step(w)
		if !ok {
			if !opt.SkipNonFinite {
				return res, fmt.Errorf("charrnn: step %d: %w (loss %v); lower the learning rate, or skip such steps", step, ErrNonFinite, loss)
			}
			st.Skipped++
			tr.state.Zero()
			continue
		}
		chars += tr.T * tr.B
		lossSum += loss
		lossN++
		evaluated := false
		if (step+1)%opt.EvalEvery == 0 || step+1 == steps {
			valLoss, _ = m.evaluate(tr.val, 16, 256)
			res.History = append(res.History, Point{Step: step + 1, Loss: lossSum / float64(max(lossN, 1)), ValLoss: valLoss})
			lossSum, lossN = 0, 0
			evaluated = true
			if valLoss < st.Metrics["val_loss"] {
				st.Metrics["val_loss"], st.BestStep, st.SinceBest = valLoss, step+1, 0
				copy(st.Best, m.Params.Values)
				if opt.BestPath != "" {
					if err := m.Save(opt.BestPath, opt.BestDType); err != nil {
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
		if opt.CheckpointPath != "" && ((step+1)%opt.CheckpointEvery == 0 || step+1 == steps || stopping) {
			st.Step++ // the checkpoint resumes after this step
			err := tr.checkpoint(res.History)
			st.Step--
			if err != nil {
				return res, err
			}
		}
		if progress != nil {
			el := time.Since(start)
			progress(Progress{Step: step + 1, Steps: steps, Epoch: float64(step+1) / float64(tr.perEpoch),
				Loss: loss, ValLoss: valLoss, BestValLoss: st.Metrics["val_loss"], LR: lr,
				CharsPerSec: float64(chars) / el.Seconds(), Elapsed: el, Evaluated: evaluated})
		}
		if stopping {
			res.Stopped = "early stopping"
			st.Step++
			break
		}
	}
	return res, nil
}

func (tr *trainer) alloc() {
	m := tr.m
	TB := tr.T * tr.B
	tr.seq = m.rnn.NewSeq()
	tr.whh = m.rnn.RecurrentWeights()
	tr.state = m.rnn.NewState(tr.B)
	tr.ids = make([]int32, TB)
	tr.tgt = make([]int32, TB)
	tr.x = make([]float32, TB*m.inputSize())
	tr.dxe = make([]float32, TB*m.inputSize())
	tr.y = make([]float32, TB*m.Config.Hidden)
	tr.dy = make([]float32, TB*m.Config.Hidden)
	tr.logits = make([]float32, TB*m.Config.Vocab)
	tr.dlogits = make([]float32, TB*m.Config.Vocab)
}

// step trains on window w of every stream and returns the mean loss; ok is
// false if the loss or the gradient is not finite (no update is made then).
func (tr *trainer) step(w int) (loss float64, ok bool) {
	m, T, B := tr.m, tr.T, tr.B
	for b := 0; b < B; b++ {
		base := b*tr.streamLen + w*T
		for t := 0; t < T; t++ {
			tr.ids[t*B+b] = tr.train[base+t]
			tr.tgt[t*B+b] = tr.train[base+t+1]
		}
	}
	m.embedInto(tr.x, tr.ids)
	tr.wdrop.Drop(tr.whh, m.Config.WeightDrop, tr.rng)
	defer tr.wdrop.Restore(tr.whh) // on the non-finite returns; a no-op after the one below
	x := tr.x
	if m.emb != nil && m.Config.EmbDropout > 0 {
		tr.embDrop.Forward(tr.x, tr.x, m.Config.EmbDropout, tr.rng, true)
	}
	h := tr.seq.Forward(x, T, B, nil, tr.state, true, tr.rng)
	tr.outDrop.Forward(tr.y, h, m.Config.Dropout, tr.rng, true)
	m.dec.Forward(tr.logits, tr.y, T*B)
	loss, _ = rnn.SoftmaxCrossEntropy(tr.dlogits, tr.logits, tr.tgt, T*B, m.Config.Vocab, rnn.CrossEntropyOptions{})
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, false
	}
	m.Params.ZeroGrad()
	m.dec.Backward(tr.dy, tr.dlogits, tr.y, T*B)
	tr.outDrop.Backward(tr.dy, tr.dy)
	dx := tr.seq.Backward(tr.dy, nil)
	tr.wdrop.Restore(tr.whh)
	if m.emb != nil {
		if m.Config.EmbDropout > 0 {
			tr.embDrop.Backward(tr.dxe, dx)
			dx = tr.dxe
		}
		m.emb.Backward(dx, tr.ids)
	}
	norm := m.Params.ClipGradNorm(tr.opt.Clip)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return loss, false
	}
	tr.adam.Step(m.Params)
	tr.state.CopyFrom(tr.seq.Final()) // carried, detached, into the next window
	return loss, true
}

// checkpoint saves the run so that a resumed run is bit-identical: weights,
// optimizer, best weights, RNG and the recurrent state carried between
// windows, with the history of evaluations so far.
func (tr *trainer) checkpoint(hist []Point) error {
	info, err := tr.m.info()
	if err != nil {
		return err
	}
	tr.st.Tensors = append(tr.st.Tensors[:0], rnn.Tensor{Name: "carry.h", Shape: []int{len(tr.state.H)}, Data: tr.state.H})
	if tr.state.C != nil {
		tr.st.Tensors = append(tr.st.Tensors, rnn.Tensor{Name: "carry.c", Shape: []int{len(tr.state.C)}, Data: tr.state.C})
	}
	tr.st.History = historyToRun(hist)
	return rnn.SaveRun(tr.opt.CheckpointPath, info, tr.m.Params, tr.adam, tr.st)
}

// historyToRun and historyFromRun convert the history to and from the
// checkpoint's form (rnn.RunState.History).
func historyToRun(h []Point) []rnn.RunPoint {
	out := make([]rnn.RunPoint, len(h))
	for i, p := range h {
		out[i] = rnn.RunPoint{Step: p.Step, Values: map[string]float64{"loss": p.Loss, "val_loss": p.ValLoss}}
	}
	return out
}

func historyFromRun(h []rnn.RunPoint) []Point {
	var out []Point
	for _, p := range h {
		out = append(out, Point{Step: p.Step, Loss: p.Value("loss"), ValLoss: p.Value("val_loss")})
	}
	return out
}

// restore loads a checkpoint's run state into st and the trainer.
func (tr *trainer) restore(ck *resumeState, st *rnn.RunState) error {
	run := ck.run
	h, c := run.Tensor("carry.h"), run.Tensor("carry.c")
	if len(h) != len(tr.state.H) || len(c) != len(tr.state.C) || len(run.Best) != len(st.Best) || run.RNG == nil {
		return fmt.Errorf("checkpoint: it was written with other options (batch size, model size); resume with the options of the original run")
	}
	copy(tr.state.H, h)
	copy(tr.state.C, c)
	if err := tr.adam.SetState(ck.optState); err != nil {
		return fmt.Errorf("checkpoint: %v", err)
	}
	if _, ok := run.Metrics["val_loss"]; !ok {
		run.Metrics["val_loss"] = math.Inf(1)
	}
	*st = *run
	return nil
}
