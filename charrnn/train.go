package charrnn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/rnnkit/rnnkit/fit"
	"github.com/rnnkit/rnnkit/rnn"
)

// TrainOptions configure Train. Start from DefaultTrainOptions: the shared
// options (fit.Options) mean what they say at zero (Warmup 0 is no warm-up,
// Clip 0 no clipping, Seed 0 a seed); a zero SeqLen, Batch, Epochs or LR,
// never meaningful, takes its default.
type TrainOptions struct {
	fit.Options
	SeqLen  int     // BPTT window (truncation length); default 64
	Batch   int     // parallel contiguous streams; default 32
	ValFrac float64 // the last ValFrac of the text is validation, in (0, 1); default 0.1
}

// DefaultTrainOptions are the options of the default model's training:
// windows of 64 characters, 32 streams, 10 epochs, Adam at 2e-3 with 100
// warm-up steps and a cosine decay to LR/20, clipping at 5, the last tenth
// of the text for validation, evaluated 4 times per epoch.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Options: fit.DefaultOptions(), SeqLen: 64, Batch: 32, ValFrac: 0.1}
}

func (o *TrainOptions) check() error {
	if o.SeqLen <= 0 {
		o.SeqLen = 64
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	o.Default(10, 2e-3)
	if !(o.ValFrac > 0 && o.ValFrac < 1) {
		return fmt.Errorf("charrnn: validation fraction %v is not between 0 and 1", o.ValFrac)
	}
	return nil
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
	train, val          []int32
	streamLen, perEpoch int
}

// Train fits m to text with stateful truncated BPTT: the training part of
// the text (the first 1-ValFrac) is cut into Batch contiguous streams, each
// step advances every stream by SeqLen characters, and the recurrent state
// is carried from one window to the next (detached), reset at each epoch.
// Adam with a cosine schedule and gradient clipping updates the weights
// (the loop is fit.Train). The validation loss is measured on the held-out
// tail; at the end m holds the best weights seen. Cancelling ctx
// checkpoints (if CheckpointPath is set) and returns the result so far with
// Stopped "interrupted" and ctx.Err().
//
// To resume, pass the checkpoint to Resume before calling Train with the
// same text and options.
func Train(ctx context.Context, m *Model, text string, opt TrainOptions, progress func(Progress)) (Result, error) {
	return m.trainFrom(ctx, nil, text, opt, progress)
}

// Resume continues a run from a checkpoint written by Train, to the same
// result as an uninterrupted run with the same text and options.
func Resume(ctx context.Context, checkpoint string, text string, opt TrainOptions, progress func(Progress)) (*Model, Result, error) {
	return fit.Resume(checkpoint, Kind, fromFile, func(m *Model, ck *fit.Checkpoint) (Result, error) {
		return m.trainFrom(ctx, ck, text, opt, progress)
	})
}

func (m *Model) trainFrom(ctx context.Context, ck *fit.Checkpoint, text string, opt TrainOptions, progress func(Progress)) (Result, error) {
	if err := opt.check(); err != nil {
		return Result{}, err
	}
	all := m.Tok.Encode(text)
	nVal := int(float64(len(all)) * opt.ValFrac)
	tr := &trainer{m: m, opt: opt, T: opt.SeqLen, B: opt.Batch, train: all[:len(all)-nVal], val: all[len(all)-nVal:]}
	tr.streamLen = len(tr.train) / tr.B
	tr.perEpoch = (tr.streamLen - 1) / tr.T
	if tr.perEpoch < 1 {
		return Result{}, fmt.Errorf("charrnn: training text of %d characters is too short for %d streams of %d-character windows", len(tr.train), tr.B, tr.T)
	}
	if len(tr.val) < 2 {
		return Result{}, fmt.Errorf("charrnn: validation split of %d characters is too short; use more text or a larger validation fraction", len(tr.val))
	}
	tr.alloc()
	pcg := rand.NewPCG(opt.Seed, 0x6368617272)
	tr.rng = rand.New(pcg)
	run := &fit.Run{
		Name: "charrnn", Params: m.Params, RNG: pcg,
		Steps: int(opt.Epochs * float64(tr.perEpoch)), StepsPerEpoch: tr.perEpoch, EvalEvery: max(tr.perEpoch/4, 1),
		Metrics: fit.Metrics{"val_loss": math.Inf(1)},
		Better:  func(val, best fit.Metrics) bool { return val["val_loss"] < best["val_loss"] },
		Step: func(step int) (float64, int) {
			w := step % tr.perEpoch
			if w == 0 {
				tr.state.Zero()
			}
			return tr.step(w), tr.T * tr.B
		},
		AfterUpdate: func(int) { tr.state.CopyFrom(tr.seq.Final()) }, // carried, detached, into the next window
		Skipped:     func(int) { tr.state.Zero() },
		Evaluate: func(context.Context) (fit.Metrics, error) {
			loss, _ := m.evaluate(tr.val, 16, 256)
			return fit.Metrics{"val_loss": loss}, nil
		},
		Save:       m.Save,
		Checkpoint: fit.SaveRun(m.info, m.Params),
		SaveState:  tr.saveState,
		Restore:    tr.restore,
	}
	r, err := fit.Train(ctx, run, ck, opt.Options, func(p fit.Progress) {
		if progress != nil {
			progress(Progress{Step: p.Step, Steps: p.Steps, Epoch: p.Epoch, Loss: p.Loss, ValLoss: p.Value("val_loss"),
				BestValLoss: p.Best["val_loss"], LR: p.LR, CharsPerSec: float64(p.Work) / p.Elapsed.Seconds(),
				Elapsed: p.Elapsed, Evaluated: p.Evaluated})
		}
	})
	res := Result{Steps: r.Steps, BestValLoss: r.Best["val_loss"], BestStep: r.BestStep, Stopped: r.Stopped, Skipped: r.Skipped}
	for _, p := range r.History {
		res.History = append(res.History, Point{Step: p.Step, Loss: p.Value("loss"), ValLoss: p.Value("val_loss")})
	}
	return res, err
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

// step runs window w of every stream forward and backward and returns the
// mean loss; the gradient is left in m.Params for fit.Train to apply. With a
// non-finite loss it returns before the backward pass.
func (tr *trainer) step(w int) (loss float64) {
	m, T, B := tr.m, tr.T, tr.B
	fit.StreamWindow(tr.ids, tr.tgt, tr.train, tr.streamLen, w*T, T, B)
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
		return loss
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
	return loss
}

// saveState adds the recurrent state carried between windows to a
// checkpoint, so that a resumed run is bit-identical.
func (tr *trainer) saveState(st *rnn.RunState) {
	st.Tensors = fit.CarryTensors(st.Tensors[:0], "carry.", tr.state)
}

// restore loads the carried recurrent state of a checkpoint.
func (tr *trainer) restore(run *rnn.RunState) error {
	if err := fit.RestoreCarry(run, "carry.", tr.state); err != nil {
		return err
	}
	if _, ok := run.Metrics["val_loss"]; !ok {
		run.Metrics["val_loss"] = math.Inf(1)
	}
	return nil
}
