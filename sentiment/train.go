package sentiment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
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

// TrainOptions configure Train. Zero values mean the documented defaults.
type TrainOptions struct {
	Batch          int       // reviews per step; default 32
	Epochs         float64   // passes over the training reviews; default 4
	LR             float64   // peak Adam learning rate; default 2e-3
	MinLR          float64   // final LR of the cosine schedule; default LR/20
	Warmup         int       // linear warm-up steps; default 100
	Clip           float64   // global gradient-norm clip; default 5, negative = off
	WeightDecay    float64   // Adam L2 weight decay; default 0
	ClassWeights   []float32 // per-class loss weights (see BalancedWeights); nil = all 1
	LabelSmoothing float32   // ε of the smoothed targets; default 0
	EvalEvery      int       // steps between validation passes; default: 2 per epoch
	Patience       int       // stop after this many evaluations without improvement; 0 = never
	Seed           uint64    // seeds the batch order and dropout; default 1

	// Fine-tuning a pretrained encoder (see finetune.go and DefaultFineTune).
	// DiscriminativeLR divides the learning rate from each parameter group
	// to the one below it (head, recurrent layers from the top, embedding);
	// 0 or 1 means one rate. FreezeSteps is the number of first steps in
	// which only the head learns; after them one more group, top to bottom,
	// starts learning every UnfreezeEvery steps (0: all at once).
	DiscriminativeLR float64
	FreezeSteps      int
	UnfreezeEvery    int

	// CheckpointPath, if set, receives a checkpoint every CheckpointEvery
	// steps (default: at each evaluation) and when ctx is cancelled.
	CheckpointPath  string
	CheckpointEvery int
	// BestPath, if set, receives the best model (by validation accuracy,
	// then loss) each time it improves, in BestDType (default F32).
	BestPath  string
	BestDType rnn.DType
	// SkipNonFinite skips a step whose loss or gradient is NaN or Inf
	// (counting it in Result.Skipped) instead of stopping with an error.
	SkipNonFinite bool
}

func (o *TrainOptions) defaults() {
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.Epochs <= 0 {
		o.Epochs = 4
	}
	if o.LR <= 0 {
		o.LR = 2e-3
	}
	if o.MinLR <= 0 {
		o.MinLR = o.LR / 20
	}
	if o.Warmup <= 0 {
		o.Warmup = 100
	}
	if o.Clip == 0 {
		o.Clip = 5
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.BestDType == "" {
		o.BestDType = rnn.F32
	}
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
	pcg        *rand.PCG
	rng        *rand.Rand
	adam       rnn.Optimizer // Adam, or per-group Adam when fine-tuning (newOptimizer)
	sched      rnn.CosineWarmup
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
// gradient clipping) on length-bucketed batches: each epoch the reviews are
// shuffled, cut into pools of 50 batches, each pool sorted by length and
// cut into batches, and the batches shuffled, so a batch holds reviews of
// similar length and little padding. The validation accuracy and loss are
// measured on data.Val every EvalEvery steps; at the end m holds the best
// weights seen (by accuracy, then loss). Cancelling ctx checkpoints (if
// CheckpointPath is set) and returns the result so far with Stopped
// "interrupted" and ctx.Err().
func Train(ctx context.Context, m *Model, data Data, opt TrainOptions, progress func(Progress)) (Result, error) {
	return m.trainFrom(ctx, nil, data, opt, progress)
}

// Resume continues a run from a checkpoint written by Train, to the same
// result as an uninterrupted run with the same data and options.
func Resume(ctx context.Context, checkpoint string, data Data, opt TrainOptions, progress func(Progress)) (*Model, Result, error) {
	info, params, run, optState, err := rnn.LoadRun(checkpoint, Kind)
	if err != nil {
		return nil, Result{}, err
	}
	m, err := fromFile(checkpoint, info, params)
	if err != nil {
		return nil, Result{}, err
	}
	res, err := m.trainFrom(ctx, &checkpointState{run: run, optState: optState}, data, opt, progress)
	return m, res, err
}

type checkpointState struct {
	run      *rnn.RunState
	optState []rnn.Tensor
}

func (m *Model) trainFrom(ctx context.Context, ck *checkpointState, data Data, opt TrainOptions, progress func(Progress)) (res Result, err error) {
	opt.defaults()
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
	steps := max(int(math.Round(opt.Epochs*float64(tr.perEpoch))), 1)
	if opt.EvalEvery <= 0 {
		opt.EvalEvery = max(tr.perEpoch/2, 1)
	}
	if opt.CheckpointEvery <= 0 {
		opt.CheckpointEvery = opt.EvalEvery
	}
	tr.opt = opt
	tr.epoch = -1
	tr.pcg = rand.NewPCG(opt.Seed, 0x73656e74)
	tr.rng = rand.New(tr.pcg)
	tr.adam = m.newOptimizer(opt)
	tr.sched = rnn.CosineWarmup{Base: opt.LR, Min: opt.MinLR, Warmup: opt.Warmup, Total: steps}

	best := slices.Clone(m.Params.Values) // the best weights so far (flat, like Params.Values)
	res = Result{BestValAcc: -1, BestValLoss: math.Inf(1), Stopped: "done"}
	step, sinceBest := 0, 0
	valLoss, valAcc := math.NaN(), math.NaN()
	if ck != nil {
		if step, sinceBest, err = tr.restore(ck, best, &res); err != nil {
			return res, err
		}
		valLoss, valAcc = res.BestValLoss, res.BestValAcc
	}
	start := time.Now()
	tokens := 0
	var lossSum float64
	var lossN int
	for ; step < steps; step++ {
		if ctx.Err() != nil {
			res.Stopped = "interrupted"
			res.Steps = step
			if opt.CheckpointPath != "" {
				if cerr := tr.checkpoint(step, sinceBest, best, &res); cerr != nil {
					return res, cerr
				}
			}
			copy(m.Params.Values, best)
			return res, ctx.Err()
		}
		lr := tr.sched.LR(step)
		tr.adam.SetLR(lr)
		loss, n, ok := tr.step(step)
		if !ok {
			if !opt.SkipNonFinite {
				res.Steps = step
				copy(m.Params.Values, best) // as on every other exit: m holds the best weights seen
				return res, fmt.Errorf("sentiment: step %d: %w (loss %v); lower the learning rate, or skip such steps", step, ErrNonFinite, loss)
			}
			res.Skipped++
			continue
		}
		tokens += n
		lossSum += loss
		lossN++
		evaluated := false
		if (step+1)%opt.EvalEvery == 0 || step+1 == steps {
			valLoss, valAcc = tr.evaluate()
			res.History = append(res.History, Point{Step: step + 1, Loss: lossSum / float64(max(lossN, 1)), ValLoss: valLoss, ValAcc: valAcc})
			lossSum, lossN = 0, 0
			evaluated = true
			if valAcc > res.BestValAcc || (valAcc == res.BestValAcc && valLoss < res.BestValLoss) {
				res.BestValAcc, res.BestValLoss, res.BestStep, sinceBest = valAcc, valLoss, step+1, 0
				copy(best, m.Params.Values)
				if opt.BestPath != "" {
					if err := m.Save(opt.BestPath, opt.BestDType); err != nil {
						return res, err
					}
				}
			} else {
				sinceBest++
			}
		}
		stopping := evaluated && opt.Patience > 0 && sinceBest >= opt.Patience
		// A checkpoint every CheckpointEvery steps and at the end, so that a
		// finished run can be resumed for more epochs.
		if opt.CheckpointPath != "" && ((step+1)%opt.CheckpointEvery == 0 || step+1 == steps || stopping) {
			if err := tr.checkpoint(step+1, sinceBest, best, &res); err != nil {
				return res, err
			}
		}
		if progress != nil {
			el := time.Since(start)
			progress(Progress{Step: step + 1, Steps: steps, Epoch: float64(step+1) / float64(tr.perEpoch),
				Loss: loss, ValLoss: valLoss, ValAcc: valAcc, BestValAcc: res.BestValAcc, LR: lr,
				TokensPerSec: float64(tokens) / el.Seconds(), Elapsed: el, Evaluated: evaluated})
		}
		if stopping {
			res.Stopped = "early stopping"
			step++
			break
		}
	}
	res.Steps = step
	copy(m.Params.Values, best)
	return res, nil
}

// epochBatches returns the length-bucketed batches of epoch e, a pure
// function of the seed and e (so a resumed run sees the same batches).
func (tr *trainer) epochBatches(e int) [][]int {
	B := tr.opt.Batch
	rng := rand.New(rand.NewPCG(tr.opt.Seed^0x62617463, uint64(e)))
	perm := rng.Perm(len(tr.train))
	pool := 50 * B
	var batches [][]int
	for s := 0; s < len(perm); s += pool {
		chunk := perm[s:min(s+pool, len(perm))]
		slices.SortStableFunc(chunk, func(a, b int) int { return cmp.Compare(len(tr.train[a].ids), len(tr.train[b].ids)) })
		for k := 0; k < len(chunk); k += B {
			batches = append(batches, chunk[k:min(k+B, len(chunk))])
		}
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	return batches
}

// step trains on batch step%perEpoch of its epoch and returns the mean loss
// and the number of real tokens; ok is false if the loss or the gradient is
// not finite (no update is made then).
func (tr *trainer) step(step int) (loss float64, tokens int, ok bool) {
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
		return loss, tokens, false
	}
	m.Params.ZeroGrad()
	m.backward(tr.w, tr.dlogits)
	tr.beforeUpdate(step)
	norm := m.Params.ClipGradNorm(tr.opt.Clip)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return loss, tokens, false
	}
	tr.adam.Step(m.Params)
	// Keep the padding row at zero (nn.Embedding's padding_idx gets no
	// gradient; weight decay would still move it).
	clear(m.emb.Row(0))
	return loss, tokens, true
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

// checkpoint saves the run (weights, optimizer, best weights and metrics,
// RNG) through rnn.SaveRun so that a resumed run is bit-identical.
func (tr *trainer) checkpoint(step, sinceBest int, best []float32, res *Result) error {
	info, err := tr.m.info()
	if err != nil {
		return err
	}
	return rnn.SaveRun(tr.opt.CheckpointPath, info, tr.m.Params, tr.adam, &rnn.RunState{
		Step: step, SinceBest: sinceBest, BestStep: res.BestStep, Skipped: res.Skipped, Best: best, History: historyToRun(res.History),
		Metrics: map[string]float64{"val_acc": res.BestValAcc, "val_loss": res.BestValLoss}, RNG: tr.pcg,
	})
}

// restore loads a checkpoint's run state into the trainer, best and res.
func (tr *trainer) restore(ck *checkpointState, best []float32, res *Result) (step, sinceBest int, err error) {
	run := ck.run
	acc, okAcc := run.Metrics["val_acc"]
	loss, okLoss := run.Metrics["val_loss"]
	if !okAcc || !okLoss || run.RNG == nil || len(run.Best) != len(best) {
		return 0, 0, fmt.Errorf("checkpoint: it was not written by sentiment.Train with this model; resume with the options of the original run")
	}
	res.BestValAcc, res.BestValLoss, res.BestStep, res.Skipped = acc, loss, run.BestStep, run.Skipped
	res.History = historyFromRun(run.History)
	copy(best, run.Best)
	*tr.pcg = *run.RNG
	if err := tr.adam.SetState(ck.optState); err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %v", err)
	}
	return run.Step, run.SinceBest, nil
}

// historyToRun and historyFromRun convert the history to and from the
// checkpoint's form (rnn.RunState.History), so that a resumed run keeps the
// whole curve.
func historyToRun(h []Point) []rnn.RunPoint {
	out := make([]rnn.RunPoint, len(h))
	for i, p := range h {
		out[i] = rnn.RunPoint{Step: p.Step, Values: map[string]float64{"loss": p.Loss, "val_loss": p.ValLoss, "val_acc": p.ValAcc}}
	}
	return out
}

func historyFromRun(h []rnn.RunPoint) []Point {
	var out []Point
	for _, p := range h {
		out = append(out, Point{Step: p.Step, Loss: p.Value("loss"), ValLoss: p.Value("val_loss"), ValAcc: p.Value("val_acc")})
	}
	return out
}
