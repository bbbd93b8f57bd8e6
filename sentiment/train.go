package sentiment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/rnnkit/rnnkit/fit"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
)

// Example is one labelled review; Label indexes Config.Labels.
type Example struct {
	Text  string
	Label int
}

// Data is a training set and its validation set.
type Data struct {
	Train, Val []Example
}

// TrainOptions configure Train. Start from DefaultTrainOptions: the shared
// options (fit.Options) mean what they say at zero (Warmup 0 is no warm-up,
// Clip 0 no clipping, Seed 0 a seed), and so does LabelSmoothing; a zero
// Batch, Epochs or LR, never meaningful, takes its default.
type TrainOptions struct {
	fit.Options
	Batch          int       // reviews per step; default 32
	ClassWeights   []float32 // per-class loss weights (see BalancedWeights); nil = all 1
	LabelSmoothing float32   // ε of the smoothed targets; 0 = none

	// Fine-tuning a pretrained encoder (see finetune.go and DefaultFineTune).
	// DiscriminativeLR divides the learning rate from each parameter group
	// to the one below it (head, recurrent layers from the top, embedding);
	// 0 or 1 means one rate. FreezeSteps is the number of first steps in
	// which only the head learns; after them one more group, top to bottom,
	// starts learning every UnfreezeEvery steps (0: all at once).
	DiscriminativeLR float64
	FreezeSteps      int
	UnfreezeEvery    int
}

// DefaultTrainOptions are the options of the default classifier's
// training: batches of 32 reviews, 4 epochs, Adam at 2e-3 with 100 warm-up
// steps and a cosine decay to LR/20, clipping at 5, evaluated twice per
// epoch, the best model by validation accuracy (then loss).
func DefaultTrainOptions() TrainOptions {
	o := TrainOptions{Options: fit.DefaultOptions(), Batch: 32}
	o.Epochs = 4
	return o
}

func (o *TrainOptions) fill() {
	if o.Batch <= 0 {
		o.Batch = 32
	}
	o.Default(4, 2e-3)
}

// Progress is reported to Train's callback after every step.
type Progress struct {
	Step, Steps  int
	Epoch        float64
	Loss         float64 // mean training loss of this step (nats)
	ValLoss      float64 // latest validation loss (NaN before the first evaluation)
	ValAcc       float64 // latest validation accuracy (NaN before the first evaluation)
	BestValAcc   float64
	LR           float64
	TokensPerSec float64 // training tokens (real, not padding) per second
	Elapsed      time.Duration
	Evaluated    bool // this report follows a validation pass
}

// Point is one entry of the training history (for plots).
type Point struct {
	Step    int
	Loss    float64 // mean training loss since the previous point
	ValLoss float64
	ValAcc  float64
}

// Result summarizes a training run.
type Result struct {
	Steps       int
	BestValAcc  float64
	BestValLoss float64 // validation loss at the best accuracy
	BestStep    int
	History     []Point
	Stopped     string // why training ended: "done", "early stopping", "interrupted"
	Skipped     int    // non-finite steps skipped
}

// ErrNonFinite reports a NaN or Inf loss or gradient during training. It
// is rnn.ErrNonFinite, the same error for every application.
var ErrNonFinite = rnn.ErrNonFinite

// BalancedWeights returns class weights n/(C·count_c) for the labels of
// examples (torch/sklearn's "balanced"), so each class weighs the same in
// the loss; a class without examples gets weight 0.
func BalancedWeights(examples []Example, classes int) []float32 {
	counts := make([]int, classes)
	for _, e := range examples {
		if e.Label >= 0 && e.Label < classes {
			counts[e.Label]++
		}
	}
	w := make([]float32, classes)
	for c, n := range counts {
		if n > 0 {
			w[c] = float32(float64(len(examples)) / float64(classes*n))
		}
	}
	return w
}

type encoded struct {
	ids   []int32
	label int32
}

// EncodeAll prepares texts with Encode on all cores.
func (m *Model) EncodeAll(texts []string) [][]int32 {
	out := make([][]int32, len(texts))
	workers := min(runtime.GOMAXPROCS(0), max(len(texts)/64, 1))
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(texts); i += workers {
				out[i] = m.Encode(texts[i])
			}
		}()
	}
	wg.Wait()
	return out
}

func (m *Model) encodeExamples(ex []Example, what string) ([]encoded, error) {
	texts := make([]string, len(ex))
	for i, e := range ex {
		if e.Label < 0 || e.Label >= len(m.Config.Labels) {
			return nil, fmt.Errorf("sentiment: %s example %d has label %d; the model has %d classes", what, i, e.Label, len(m.Config.Labels))
		}
		texts[i] = e.Text
	}
	ids := m.EncodeAll(texts)
	out := make([]encoded, len(ex))
	for i := range ex {
		out[i] = encoded{ids: ids[i], label: int32(ex[i].Label)}
	}
	return out, nil
}

// trainer holds the state of one training run.
type trainer struct {
	m          *Model
	opt        TrainOptions
	train, val []encoded
	w          *work
	rng        *rand.Rand
	adam       optim.Optimizer // Adam, or per-group Adam when fine-tuning (newOptimizer)
	perEpoch   int
	epoch      int     // epoch of batches
	batches    [][]int // this epoch's batches of indices into train
	batch      [][]int32
	tgt        []int32
	dlogits    []float32
	valIDs     [][]int32
	valLabels  []int32
}

// Train fits m to data.Train with Adam (cosine schedule with warm-up,
// gradient clipping; the loop is fit.Train) on length-bucketed batches:
// each epoch the reviews are shuffled, cut into pools of 50 batches, each
// pool sorted by length and cut into batches, and the batches shuffled, so
// a batch holds reviews of similar length and little padding. The
// validation accuracy and loss are measured on data.Val every EvalEvery
// steps; at the end m holds the best weights seen (by accuracy, then loss).
// Cancelling ctx checkpoints (if CheckpointPath is set) and returns the
// result so far with Stopped "interrupted" and ctx.Err().
func Train(ctx context.Context, m *Model, data Data, opt TrainOptions, progress func(Progress)) (Result, error) {
	return m.trainFrom(ctx, nil, data, opt, progress)
}

// Resume continues a run from a checkpoint written by Train, to the same
// result as an uninterrupted run with the same data and options.
func Resume(ctx context.Context, checkpoint string, data Data, opt TrainOptions, progress func(Progress)) (*Model, Result, error) {
	return fit.Resume(checkpoint, Kind, fromFile, func(m *Model, ck *fit.Checkpoint) (Result, error) {
		return m.trainFrom(ctx, ck, data, opt, progress)
	})
}

func (m *Model) trainFrom(ctx context.Context, ck *fit.Checkpoint, data Data, opt TrainOptions, progress func(Progress)) (res Result, err error) {
	opt.fill()
	if m.Config.NGram != nil {
		return res, errors.New("sentiment: Train trains the recurrent part of a model without an n-gram branch; use WithoutNGram first and TrainNGram after")
	}
	if len(data.Train) == 0 {
		return res, errors.New("sentiment: no training examples")
	}
	if len(data.Val) == 0 {
		return res, errors.New("sentiment: no validation examples; hold some out (see SplitExamples)")
	}
	if opt.DiscriminativeLR < 0 || opt.FreezeSteps < 0 || opt.UnfreezeEvery < 0 {
		return res, fmt.Errorf("sentiment: discriminative LR factor %v, freeze steps %d and unfreeze interval %d must not be negative", opt.DiscriminativeLR, opt.FreezeSteps, opt.UnfreezeEvery)
	}
	if opt.ClassWeights != nil && len(opt.ClassWeights) != len(m.Config.Labels) {
		return res, fmt.Errorf("sentiment: %d class weights for %d classes", len(opt.ClassWeights), len(m.Config.Labels))
	}
	tr := &trainer{m: m, opt: opt, w: m.newWork()}
	if tr.train, err = m.encodeExamples(data.Train, "training"); err != nil {
		return res, err
	}
	if tr.val, err = m.encodeExamples(data.Val, "validation"); err != nil {
		return res, err
	}
	for _, e := range tr.val {
		tr.valIDs = append(tr.valIDs, e.ids)
		tr.valLabels = append(tr.valLabels, e.label)
	}
	tr.perEpoch = (len(tr.train) + opt.Batch - 1) / opt.Batch
	tr.epoch = -1
	pcg := rand.NewPCG(opt.Seed, 0x73656e74)
	tr.rng = rand.New(pcg)
	tr.adam = m.newOptimizer(opt)
	run := &fit.Run{
		Name: "sentiment", Params: m.Params, Optimizer: tr.adam, RNG: pcg,
		Steps: max(int(math.Round(opt.Epochs*float64(tr.perEpoch))), 1), StepsPerEpoch: tr.perEpoch, EvalEvery: max(tr.perEpoch/2, 1),
		Metrics: fit.Metrics{"val_acc": -1, "val_loss": math.Inf(1)},
		Better: func(val, best fit.Metrics) bool {
			return val["val_acc"] > best["val_acc"] || (val["val_acc"] == best["val_acc"] && val["val_loss"] < best["val_loss"])
		},
		Step: tr.step,
		// Keep the padding row at zero (nn.Embedding's padding_idx gets no
		// gradient; weight decay would still move it).
		AfterUpdate: func(int) { clear(m.emb.Row(0)) },
		Evaluate: func(context.Context) (fit.Metrics, error) {
			loss, acc := tr.evaluate()
			return fit.Metrics{"val_loss": loss, "val_acc": acc}, nil
		},
		Save:       m.Save,
		Checkpoint: fit.SaveRun(m.info, m.Params),
		Restore: func(run *rnn.RunState) error {
			_, okAcc := run.Metrics["val_acc"]
			_, okLoss := run.Metrics["val_loss"]
			if !okAcc || !okLoss {
				return errors.New("checkpoint: it was not written by sentiment.Train with this model; resume with the options of the original run")
			}
			return nil
		},
	}
	r, err := fit.Train(ctx, run, ck, opt.Options, func(p fit.Progress) {
		if progress != nil {
			progress(Progress{Step: p.Step, Steps: p.Steps, Epoch: p.Epoch, Loss: p.Loss, ValLoss: p.Value("val_loss"), ValAcc: p.Value("val_acc"),
				BestValAcc: p.Best["val_acc"], LR: p.LR, TokensPerSec: float64(p.Work) / p.Elapsed.Seconds(), Elapsed: p.Elapsed, Evaluated: p.Evaluated})
		}
	})
	res = Result{Steps: r.Steps, BestValAcc: r.Best["val_acc"], BestValLoss: r.Best["val_loss"], BestStep: r.BestStep, Stopped: r.Stopped, Skipped: r.Skipped}
	for _, p := range r.History {
		res.History = append(res.History, Point{Step: p.Step, Loss: p.Value("loss"), ValLoss: p.Value("val_loss"), ValAcc: p.Value("val_acc")})
	}
	return res, err
}

// epochBatches returns the length-bucketed batches of epoch e
// (fit.LengthBuckets), a pure function of the seed and e (so a resumed run
// sees the same batches).
func (tr *trainer) epochBatches(e int) [][]int {
	rng := rand.New(rand.NewPCG(tr.opt.Seed^0x62617463, uint64(e)))
	return fit.LengthBuckets(rng, len(tr.train), tr.opt.Batch, func(a, b int) int { return cmp.Compare(len(tr.train[a].ids), len(tr.train[b].ids)) })
}

// step runs batch step%perEpoch of its epoch forward and backward and
// returns the mean loss and the number of real tokens; the gradient is left
// in m.Params for fit.Train to apply. With a non-finite loss it returns
// before the backward pass.
func (tr *trainer) step(step int) (loss float64, tokens int) {
	m := tr.m
	if e := step / tr.perEpoch; e != tr.epoch {
		tr.epoch, tr.batches = e, tr.epochBatches(e)
	}
	idx := tr.batches[step%tr.perEpoch]
	tr.batch = tr.batch[:0]
	tr.tgt = tr.tgt[:0]
	for _, i := range idx {
		tr.batch = append(tr.batch, tr.train[i].ids)
		tr.tgt = append(tr.tgt, tr.train[i].label)
		tokens += len(tr.train[i].ids)
	}
	B, C := len(idx), len(m.Config.Labels)
	logits := m.forward(tr.w, tr.batch, true, tr.rng)
	tr.dlogits = growF(tr.dlogits, B*C)
	loss, _ = rnn.SoftmaxCrossEntropy(tr.dlogits, logits, tr.tgt, B, C,
		rnn.CrossEntropyOptions{ClassWeights: tr.opt.ClassWeights, LabelSmoothing: tr.opt.LabelSmoothing})
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, tokens
	}
	m.Params.ZeroGrad()
	m.backward(tr.w, tr.dlogits)
	tr.beforeUpdate(step)
	return loss, tokens
}

// evaluate returns the validation loss (mean nats) and accuracy.
func (tr *trainer) evaluate() (loss, acc float64) {
	return scoreProbs(tr.m.probs(tr.valIDs), tr.valLabels, len(tr.m.Config.Labels))
}

func scoreProbs(probs []float32, labels []int32, C int) (loss, acc float64) {
	correct := 0
	for i, y := range labels {
		p := probs[i*C : (i+1)*C]
		loss -= math.Log(max(float64(p[y]), 1e-12))
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		if best == int(y) {
			correct++
		}
	}
	n := float64(max(len(labels), 1))
	return loss / n, float64(correct) / n
}
