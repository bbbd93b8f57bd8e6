package seq2seq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Pair is one sentence pair (source, target).
type Pair = corpora.Pair

// ReadPairsFile reads a Tatoeba/manythings TSV file (Source<TAB>Target,
// optionally a third attribution column). With reverse the columns swap
// (Spanish->English from spa.txt). A malformed line is an error naming it.
func ReadPairsFile(path string, reverse bool) ([]Pair, error) {
	var out []Pair
	for p, err := range corpora.ReadPairsFile(path, corpora.ReadOptions{}) {
		if err != nil {
			return nil, err
		}
		if reverse {
			p.Source, p.Target = p.Target, p.Source
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no sentence pairs (want Source<TAB>Target lines)", path)
	}
	return out, nil
}

// SplitPairs splits pairs into training and validation parts grouped by
// source sentence (corpora.GroupedSplit): all pairs of one source sentence
// land in the same part, so no validation source is seen in training.
func SplitPairs(pairs []Pair, valFrac float64, seed uint64) (train, val []Pair) {
	keys := make([]string, len(pairs))
	for i, p := range pairs {
		keys[i] = p.Source
	}
	s := corpora.GroupedSplit(keys, valFrac, 0, seed)
	for _, i := range s.Train {
		train = append(train, pairs[i])
	}
	for _, i := range s.Validation {
		val = append(val, pairs[i])
	}
	return train, val
}

// GroupReferences groups pairs by identical source sentence, in order of
// first appearance: refs[i] holds every target of srcs[i] (the references
// for multi-reference BLEU and chrF).
func GroupReferences(pairs []Pair) (srcs []string, refs [][]string) {
	at := map[string]int{}
	for _, p := range pairs {
		i, ok := at[p.Source]
		if !ok {
			i = len(srcs)
			at[p.Source] = i
			srcs = append(srcs, p.Source)
			refs = append(refs, nil)
		}
		refs[i] = append(refs[i], p.Target)
	}
	return srcs, refs
}

// Evaluation is the result of Evaluate.
type Evaluation struct {
	BLEU      Score `json:"bleu"`
	ChrF      Score `json:"chrf2"`
	Sentences int   `json:"sentences"` // distinct source sentences translated
	Pairs     int   `json:"pairs"`
}

// Evaluate translates the distinct sources of pairs and scores the
// translations against all their references with BLEU and chrF2.
func (m *Model) Evaluate(ctx context.Context, pairs []Pair, opt TranslateOptions) (Evaluation, []Translation, error) {
	srcs, refs := GroupReferences(pairs)
	trs, err := m.Translate(ctx, srcs, opt)
	if err != nil {
		return Evaluation{}, nil, err
	}
	hyps := make([]string, len(trs))
	for i, t := range trs {
		hyps[i] = t.Text
	}
	return Evaluation{BLEU: BLEU(hyps, refs), ChrF: ChrF(hyps, refs), Sentences: len(srcs), Pairs: len(pairs)}, trs, nil
}

// TrainOptions configure Train. Zero values mean the documented defaults.
type TrainOptions struct {
	Batch          int     // pairs per step; default 64
	Epochs         float64 // passes over the training pairs; default 10
	LR             float64 // peak Adam learning rate; default 1e-3
	MinLR          float64 // final LR of the cosine schedule; default LR/20
	Warmup         int     // linear warm-up steps; default 200
	Clip           float64 // global gradient-norm clip; default 5, negative = off
	LabelSmoothing float32 // default 0.1, negative = off
	TeacherForcing float64 // probability of feeding the gold previous token at each step; default 1
	MaxLen         int     // training pairs with more tokens on either side are skipped; default 50

	// Val holds the validation pairs. When nil, ValFrac of the source
	// sentences (default 0.02) are held out with SplitPairs.
	Val       []Pair
	ValFrac   float64
	ValMax    int // at most this many validation sources (evenly spread) are translated per evaluation; default 1000, negative = all
	EvalEvery int // steps between validation BLEU measurements; default once per epoch
	Patience  int // stop after this many evaluations without improvement; 0 = never
	Seed      uint64

	CheckpointPath  string // receives a checkpoint at each evaluation (or every CheckpointEvery steps) and on cancel
	CheckpointEvery int
	BestPath        string // receives the best model by validation BLEU whenever it improves
	BestDType       rnn.DType
	SkipNonFinite   bool // skip non-finite steps instead of failing
}

func (o *TrainOptions) defaults() {
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.Epochs <= 0 {
		o.Epochs = 10
	}
	if o.LR <= 0 {
		o.LR = 1e-3
	}
	if o.MinLR <= 0 {
		o.MinLR = o.LR / 20
	}
	if o.Warmup <= 0 {
		o.Warmup = 200
	}
	if o.Clip == 0 {
		o.Clip = 5
	}
	if o.LabelSmoothing == 0 {
		o.LabelSmoothing = 0.1
	} else if o.LabelSmoothing < 0 {
		o.LabelSmoothing = 0
	}
	if o.TeacherForcing <= 0 || o.TeacherForcing > 1 {
		o.TeacherForcing = 1
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 50
	}
	if o.ValFrac <= 0 || o.ValFrac >= 1 {
		o.ValFrac = 0.02
	}
	if o.ValMax == 0 {
		o.ValMax = 1000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.BestDType == "" {
		o.BestDType = rnn.F32
	}
}

// Progress is reported after every training step.
type Progress struct {
	Step, Steps int
	Epoch       float64
	Loss        float64 // mean token cross entropy of this step (with label smoothing)
	ValBLEU     float64 // latest validation BLEU (NaN before the first evaluation)
	BestBLEU    float64
	LR          float64
	PairsPerSec float64
	Elapsed     time.Duration
	Evaluated   bool
}

// Point is one entry of the training history.
type Point struct {
	Step    int
	Loss    float64 // mean training loss since the previous point
	ValBLEU float64
	ValChrF float64
}

// Result summarizes a training run.
type Result struct {
	Steps, BestStep    int
	BestBLEU, BestChrF float64
	History            []Point
	Stopped            string // "done", "early stopping", "interrupted"
	Skipped            int
	TrainPairs         int // pairs used for training (after MaxLen filtering)
	ValSentences       int // distinct validation sources scored per evaluation
}

// ErrNonFinite reports a NaN or Inf loss or gradient during training. It
// is rnn.ErrNonFinite, the same error for every application.
var ErrNonFinite = rnn.ErrNonFinite

// Train fits m to the pairs: length-bucketed batches, teacher forcing,
// label smoothing, Adam with a cosine schedule and gradient clipping.
// Validation BLEU (greedy decoding) is measured every EvalEvery steps; at the
// end m holds the weights with the best validation BLEU. Cancelling ctx
// checkpoints (if CheckpointPath is set) and returns ctx.Err().
func Train(ctx context.Context, m *Model, pairs []Pair, opt TrainOptions, progress func(Progress)) (Result, error) {
	return m.trainFrom(ctx, nil, pairs, opt, progress)
}

// Resume continues a run from a checkpoint written by Train, with the same
// pairs and options, to the same result as an uninterrupted run.
func Resume(ctx context.Context, checkpoint string, pairs []Pair, opt TrainOptions, progress func(Progress)) (*Model, Result, error) {
	info, params, run, optState, err := rnn.LoadRun(checkpoint, Kind)
	if err != nil {
		return nil, Result{}, err
	}
	m, err := fromFile(checkpoint, info, params)
	if err != nil {
		return nil, Result{}, err
	}
	res, err := m.trainFrom(ctx, &checkpointState{run: run, optState: optState}, pairs, opt, progress)
	return m, res, err
}

type checkpointState struct {
	run      *rnn.RunState
	optState []rnn.Tensor
}

type trainer struct {
	m         *Model
	opt       TrainOptions
	src, tgt  [][]int32
	perEpoch  int
	planEpoch int
	plan      [][]int // batches of pair indices for planEpoch
	valSrc    []string
	valRefs   [][]string
	pcg       *rand.PCG
	rng       *rand.Rand
	adam      *rnn.Adam
	w         *work
	bt        batch
	bs, bto   [][]int32
}

// epochPlan cuts a deterministic shuffle of the pairs (a function of the
// seed and the epoch only) into batches of similar lengths.
func (tr *trainer) epochPlan(epoch int) {
	if tr.planEpoch == epoch && tr.plan != nil {
		return
	}
	B := tr.opt.Batch
	r := rand.New(rand.NewPCG(tr.opt.Seed, uint64(epoch)+0x5eed))
	perm := r.Perm(len(tr.src))
	tr.plan = tr.plan[:0]
	chunk := 50 * B
	for lo := 0; lo < len(perm); lo += chunk {
		c := perm[lo:min(lo+chunk, len(perm))]
		sort.SliceStable(c, func(a, b int) bool {
			la, lb := len(tr.src[c[a]]), len(tr.src[c[b]])
			if la != lb {
				return la < lb
			}
			return len(tr.tgt[c[a]]) < len(tr.tgt[c[b]])
		})
		for i := 0; i < len(c); i += B {
			tr.plan = append(tr.plan, c[i:min(i+B, len(c))])
		}
	}
	r.Shuffle(len(tr.plan), func(i, j int) { tr.plan[i], tr.plan[j] = tr.plan[j], tr.plan[i] })
	tr.planEpoch = epoch
}

func (m *Model) trainFrom(ctx context.Context, ck *checkpointState, pairs []Pair, opt TrainOptions, progress func(Progress)) (res Result, err error) {
	opt.defaults()
	trainPairs, val := pairs, opt.Val
	if val == nil {
		trainPairs, val = SplitPairs(pairs, opt.ValFrac, opt.Seed)
	}
	if len(val) == 0 {
		return res, errors.New("seq2seq: the validation split is empty; use more pairs or a larger validation fraction")
	}
	tr := &trainer{m: m, opt: opt, planEpoch: -1}
	srcL, tgtL := make([]string, len(trainPairs)), make([]string, len(trainPairs))
	for i, p := range trainPairs {
		srcL[i], tgtL[i] = p.Source, p.Target
	}
	src, tgt := tokenize.EncodeLines(srcL, m.Src), tokenize.EncodeLines(tgtL, m.Tgt)
	for i := range src {
		if len(src[i]) == 0 || len(src[i]) > opt.MaxLen || len(tgt[i]) > opt.MaxLen {
			continue
		}
		tr.src, tr.tgt = append(tr.src, src[i]), append(tr.tgt, tgt[i])
	}
	if len(tr.src) == 0 {
		return res, errors.New("seq2seq: no training pairs left (all empty or longer than MaxLen)")
	}
	tr.perEpoch = (len(tr.src) + opt.Batch - 1) / opt.Batch
	tr.valSrc, tr.valRefs = GroupReferences(val)
	if n := len(tr.valSrc); opt.ValMax > 0 && n > opt.ValMax {
		// an even spread: files such as Tatoeba's are sorted by length
		src, refs := make([]string, opt.ValMax), make([][]string, opt.ValMax)
		for i := range src {
			j := i * n / opt.ValMax
			src[i], refs[i] = tr.valSrc[j], tr.valRefs[j]
		}
		tr.valSrc, tr.valRefs = src, refs
	}
	steps := int(math.Ceil(opt.Epochs * float64(tr.perEpoch)))
	if opt.EvalEvery <= 0 {
		opt.EvalEvery = tr.perEpoch
	}
	if opt.CheckpointEvery <= 0 {
		opt.CheckpointEvery = opt.EvalEvery
	}
	tr.opt = opt
	tr.pcg = rand.NewPCG(opt.Seed, 0x73657132)
	tr.rng = rand.New(tr.pcg)
	tr.adam = rnn.NewAdam(rnn.AdamOptions{LR: opt.LR})
	tr.w = newWork(m)
	sched := rnn.CosineWarmup{Base: opt.LR, Min: opt.MinLR, Warmup: opt.Warmup, Total: steps}

	best := slices.Clone(m.Params.Values) // the best weights so far (flat, like Params.Values)
	res = Result{BestBLEU: -1, Stopped: "done", TrainPairs: len(tr.src), ValSentences: len(tr.valSrc)}
	step, sinceBest := 0, 0
	valBLEU := math.NaN()
	if ck != nil {
		if step, sinceBest, err = tr.restore(ck, best, &res); err != nil {
			return res, err
		}
		valBLEU = res.BestBLEU
	}
	start := time.Now()
	nPairs := 0
	var lossSum float64
	var lossN int
	for ; step < steps; step++ {
		if ctx.Err() != nil {
			res.Stopped, res.Steps = "interrupted", step
			if opt.CheckpointPath != "" {
				if cerr := tr.checkpoint(step, sinceBest, best, &res); cerr != nil {
					return res, cerr
				}
			}
			copy(m.Params.Values, best)
			return res, ctx.Err()
		}
		tr.epochPlan(step / tr.perEpoch)
		idx := tr.plan[step%tr.perEpoch]
		lr := sched.LR(step)
		tr.adam.SetLR(lr)
		loss, ok := tr.step(idx)
		if !ok {
			if !opt.SkipNonFinite {
				res.Steps = step
				copy(m.Params.Values, best) // as on every other exit: m holds the best weights seen
				return res, fmt.Errorf("seq2seq: step %d: %w (loss %v); lower the learning rate, or skip such steps", step, ErrNonFinite, loss)
			}
			res.Skipped++
			continue
		}
		nPairs += len(idx)
		lossSum += loss
		lossN++
		evaluated := false
		if (step+1)%opt.EvalEvery == 0 || step+1 == steps {
			ev, err := tr.evaluate(ctx)
			if err != nil {
				if ctx.Err() != nil {
					continue // checkpointed at the top of the loop
				}
				return res, err
			}
			valBLEU = ev.BLEU.Score
			res.History = append(res.History, Point{Step: step + 1, Loss: lossSum / float64(max(lossN, 1)), ValBLEU: valBLEU, ValChrF: ev.ChrF.Score})
			lossSum, lossN = 0, 0
			evaluated = true
			if valBLEU > res.BestBLEU {
				res.BestBLEU, res.BestChrF, res.BestStep, sinceBest = valBLEU, ev.ChrF.Score, step+1, 0
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
			progress(Progress{Step: step + 1, Steps: steps, Epoch: float64(step+1) / float64(tr.perEpoch), Loss: loss,
				ValBLEU: valBLEU, BestBLEU: res.BestBLEU, LR: lr, PairsPerSec: float64(nPairs) / el.Seconds(), Elapsed: el, Evaluated: evaluated})
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

func (tr *trainer) evaluate(ctx context.Context) (Evaluation, error) {
	trs, err := tr.m.Translate(ctx, tr.valSrc, TranslateOptions{})
	if err != nil {
		return Evaluation{}, err
	}
	hyps := make([]string, len(trs))
	for i, t := range trs {
		hyps[i] = t.Text
	}
	return Evaluation{BLEU: BLEU(hyps, tr.valRefs), ChrF: ChrF(hyps, tr.valRefs), Sentences: len(hyps)}, nil
}

// step trains on the pairs idx; ok is false for a non-finite loss or
// gradient (no update is made then).
func (tr *trainer) step(idx []int) (float64, bool) {
	tr.bs, tr.bto = tr.bs[:0], tr.bto[:0]
	for _, i := range idx {
		tr.bs, tr.bto = append(tr.bs, tr.src[i]), append(tr.bto, tr.tgt[i])
	}
	tr.bt.fill(tr.bs, tr.bto)
	m := tr.m
	loss, _ := tr.w.forward(&tr.bt, true, tr.opt.TeacherForcing, tr.opt.LabelSmoothing, tr.rng, true)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, false
	}
	m.Params.ZeroGrad()
	tr.w.backward(&tr.bt)
	norm := m.Params.ClipGradNorm(tr.opt.Clip)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return loss, false
	}
	tr.adam.Step(m.Params)
	return loss, true
}

func (tr *trainer) checkpoint(step, sinceBest int, best []float32, res *Result) error {
	info, err := tr.m.info()
	if err != nil {
		return err
	}
	return rnn.SaveRun(tr.opt.CheckpointPath, info, tr.m.Params, tr.adam, &rnn.RunState{
		Step: step, SinceBest: sinceBest, BestStep: res.BestStep, Skipped: res.Skipped, Best: best, History: historyToRun(res.History),
		Metrics: map[string]float64{"val_bleu": res.BestBLEU, "val_chrf": res.BestChrF}, RNG: tr.pcg,
	})
}

// restore loads a checkpoint's run state (rnn.LoadRun) into the trainer,
// best and res.
func (tr *trainer) restore(ck *checkpointState, best []float32, res *Result) (step, sinceBest int, err error) {
	run := ck.run
	bleu, ok := run.Metrics["val_bleu"]
	if !ok || run.RNG == nil || len(run.Best) != len(best) {
		return 0, 0, fmt.Errorf("checkpoint: it was not written by seq2seq.Train with this model; resume with the options of the original run")
	}
	res.BestBLEU, res.BestChrF, res.BestStep, res.Skipped = bleu, run.Metrics["val_chrf"], run.BestStep, run.Skipped
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
		out[i] = rnn.RunPoint{Step: p.Step, Values: map[string]float64{"loss": p.Loss, "val_bleu": p.ValBLEU, "val_chrf": p.ValChrF}}
	}
	return out
}

func historyFromRun(h []rnn.RunPoint) []Point {
	var out []Point
	for _, p := range h {
		out = append(out, Point{Step: p.Step, Loss: p.Value("loss"), ValBLEU: p.Value("val_bleu"), ValChrF: p.Value("val_chrf")})
	}
	return out
}
