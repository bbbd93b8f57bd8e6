package seq2seq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/fit"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/kernel"
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

// TrainOptions configure Train. Start from DefaultTrainOptions: the shared
// options (fit.Options) mean what they say at zero (Warmup 0 is no warm-up,
// Clip 0 no clipping, Seed 0 a seed), and so do LabelSmoothing and
// TeacherForcing; a zero Batch, Epochs, LR, MaxLen or ValMax, never
// meaningful, takes its default.
type TrainOptions struct {
	fit.Options
	Batch          int     // pairs per step; default 64
	LabelSmoothing float32 // ε of the smoothed targets; 0 (or negative) = none
	TeacherForcing float64 // probability of feeding the gold previous token at each step, in [0, 1]
	MaxLen         int     // training pairs with more tokens on either side are skipped; default 50
	// BPEDropout, in [0, 1), re-encodes the training pairs of every epoch
	// with BPE-dropout (tokenize.BPE.EncodeDropout): each merge is skipped
	// with this probability, so the model sees words in their finer
	// segmentations too. 0 = off; 0.1 is the usual value. The draws are a
	// function of the seed and the epoch, so a resumed run sees the same.
	BPEDropout float64

	// Val holds the validation pairs. When nil, ValFrac of the source
	// sentences are held out with SplitPairs.
	Val     []Pair
	ValFrac float64
	ValMax  int // at most this many validation sources (evenly spread) are translated per evaluation; default 1000, negative = all
}

// DefaultTrainOptions are the options of the default translator's
// training: batches of 64 pairs, 10 epochs, Adam at 1e-3 with 200 warm-up
// steps and a cosine decay to LR/20, clipping at 5, label smoothing 0.1,
// full teacher forcing, pairs up to 50 tokens, 2% of the source sentences
// held out, BLEU on up to 1000 of them once per epoch.
func DefaultTrainOptions() TrainOptions {
	o := TrainOptions{Options: fit.DefaultOptions(), Batch: 64, LabelSmoothing: 0.1, TeacherForcing: 1, MaxLen: 50, ValFrac: 0.02, ValMax: 1000}
	o.LR, o.Warmup = 1e-3, 200
	return o
}

func (o *TrainOptions) check() error {
	if o.Batch <= 0 {
		o.Batch = 64
	}
	o.Default(10, 1e-3)
	if o.MaxLen <= 0 {
		o.MaxLen = 50
	}
	if o.ValMax == 0 {
		o.ValMax = 1000
	}
	o.LabelSmoothing = max(o.LabelSmoothing, 0)
	if !(o.TeacherForcing >= 0 && o.TeacherForcing <= 1) {
		return fmt.Errorf("seq2seq: teacher forcing %v is not a probability between 0 and 1", o.TeacherForcing)
	}
	if !(o.BPEDropout >= 0 && o.BPEDropout < 1) {
		return fmt.Errorf("seq2seq: BPE-dropout %v is not a probability in [0, 1)", o.BPEDropout)
	}
	if o.Val == nil && !(o.ValFrac > 0 && o.ValFrac < 1) {
		return fmt.Errorf("seq2seq: validation fraction %v is not between 0 and 1", o.ValFrac)
	}
	return nil
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
	return fit.Resume(checkpoint, Kind, fromFile, func(m *Model, ck *fit.Checkpoint) (Result, error) {
		return m.trainFrom(ctx, ck, pairs, opt, progress)
	})
}

type trainer struct {
	m         *Model
	opt       TrainOptions
	src, tgt  [][]int32 // this epoch's encodings
	src0      [][]int32 // the plain encodings (without BPE-dropout)
	tgt0      [][]int32
	srcL      []string // the training pairs kept, as text (for BPE-dropout)
	tgtL      []string
	perEpoch  int
	planEpoch int
	plan      [][]int // batches of pair indices for planEpoch
	valSrc    []string
	valRefs   [][]string
	rng       *rand.Rand
	w         *work
	bt        batch
	bs, bto   [][]int32
}

// epochPlan cuts a deterministic shuffle of the pairs (a function of the
// seed and the epoch only) into batches of similar lengths: by source
// length, then target length (fit.LengthBuckets).
func (tr *trainer) epochPlan(epoch int) {
	if tr.planEpoch == epoch && tr.plan != nil {
		return
	}
	if tr.opt.BPEDropout > 0 {
		tr.src, tr.tgt = tr.dropoutEncodings(epoch)
	}
	r := rand.New(rand.NewPCG(tr.opt.Seed, uint64(epoch)+0x5eed))
	tr.plan = fit.LengthBuckets(r, len(tr.src), tr.opt.Batch, func(a, b int) int {
		return cmp.Or(cmp.Compare(len(tr.src[a]), len(tr.src[b])), cmp.Compare(len(tr.tgt[a]), len(tr.tgt[b])))
	})
	tr.planEpoch = epoch
}

// dropoutEncoder is a tokenizer with BPE-dropout (tokenize.BPE).
type dropoutEncoder interface {
	EncodeDropout(text string, p float64, r *rand.Rand) []int32
}

// dropoutEncodings encodes the training pairs for one epoch with
// BPE-dropout. Pairs are cut into fixed blocks, each with its own
// generator seeded by the seed, the epoch and the block, and the blocks
// are encoded on all cores: the result does not depend on GOMAXPROCS. A
// pair whose dropout encoding is longer than MaxLen keeps its plain one.
func (tr *trainer) dropoutEncodings(epoch int) (src, tgt [][]int32) {
	const block = 2048
	n := len(tr.srcL)
	src, tgt = make([][]int32, n), make([][]int32, n)
	se, te := tr.m.Src.(dropoutEncoder), tr.m.Tgt.(dropoutEncoder)
	p := tr.opt.BPEDropout
	blocks := (n + block - 1) / block
	kernel.ParallelFor(blocks, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			r := rand.New(rand.NewPCG(tr.opt.Seed^0xb9e0d409, uint64(epoch)<<32|uint64(b)))
			for i := b * block; i < min(n, (b+1)*block); i++ {
				s, t := se.EncodeDropout(tr.srcL[i], p, r), te.EncodeDropout(tr.tgtL[i], p, r)
				if len(s) == 0 || len(s) > tr.opt.MaxLen || len(t) > tr.opt.MaxLen {
					s, t = tr.src0[i], tr.tgt0[i]
				}
				src[i], tgt[i] = s, t
			}
		}
	})
	return src, tgt
}

func (m *Model) trainFrom(ctx context.Context, ck *fit.Checkpoint, pairs []Pair, opt TrainOptions, progress func(Progress)) (res Result, err error) {
	if err := opt.check(); err != nil {
		return res, err
	}
	trainPairs, val := pairs, opt.Val
	if val == nil {
		trainPairs, val = SplitPairs(pairs, opt.ValFrac, opt.Seed)
	}
	if len(val) == 0 {
		return res, errors.New("seq2seq: the validation split is empty; use more pairs or a larger validation fraction")
	}
	if opt.BPEDropout > 0 {
		_, okS := m.Src.(dropoutEncoder)
		_, okT := m.Tgt.(dropoutEncoder)
		if !okS || !okT {
			return res, errors.New("seq2seq: BPE-dropout needs BPE tokenizers on both sides (a word vocabulary has no merges to drop)")
		}
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
		if opt.BPEDropout > 0 {
			tr.srcL, tr.tgtL = append(tr.srcL, srcL[i]), append(tr.tgtL, tgtL[i])
		}
	}
	tr.src0, tr.tgt0 = tr.src, tr.tgt
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
	pcg := rand.NewPCG(opt.Seed, 0x73657132)
	tr.rng = rand.New(pcg)
	tr.w = newWork(m)
	run := &fit.Run{
		Name: "seq2seq", Params: m.Params, RNG: pcg,
		Steps: int(math.Ceil(opt.Epochs * float64(tr.perEpoch))), StepsPerEpoch: tr.perEpoch, EvalEvery: tr.perEpoch,
		Metrics: fit.Metrics{"val_bleu": -1, "val_chrf": 0},
		Better:  func(val, best fit.Metrics) bool { return val["val_bleu"] > best["val_bleu"] },
		Step: func(step int) (float64, int) {
			tr.epochPlan(step / tr.perEpoch)
			idx := tr.plan[step%tr.perEpoch]
			return tr.step(idx), len(idx)
		},
		Evaluate: func(ctx context.Context) (fit.Metrics, error) {
			ev, err := tr.evaluate(ctx)
			return fit.Metrics{"val_bleu": ev.BLEU.Score, "val_chrf": ev.ChrF.Score}, err
		},
		Save:       m.Save,
		Checkpoint: fit.SaveRun(m.info, m.Params),
		Restore: func(run *rnn.RunState) error {
			if _, ok := run.Metrics["val_bleu"]; !ok {
				return errors.New("checkpoint: it was not written by seq2seq.Train with this model; resume with the options of the original run")
			}
			return nil
		},
	}
	r, err := fit.Train(ctx, run, ck, opt.Options, func(p fit.Progress) {
		if progress != nil {
			progress(Progress{Step: p.Step, Steps: p.Steps, Epoch: p.Epoch, Loss: p.Loss, ValBLEU: p.Value("val_bleu"), BestBLEU: p.Best["val_bleu"],
				LR: p.LR, PairsPerSec: float64(p.Work) / p.Elapsed.Seconds(), Elapsed: p.Elapsed, Evaluated: p.Evaluated})
		}
	})
	res.TrainPairs, res.ValSentences = len(tr.src), len(tr.valSrc)
	res.Steps, res.BestStep, res.Stopped, res.Skipped = r.Steps, r.BestStep, r.Stopped, r.Skipped
	res.BestBLEU, res.BestChrF = r.Best["val_bleu"], r.Best["val_chrf"]
	for _, p := range r.History {
		res.History = append(res.History, Point{Step: p.Step, Loss: p.Value("loss"), ValBLEU: p.Value("val_bleu"), ValChrF: p.Value("val_chrf")})
	}
	return res, err
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

// step runs the pairs idx forward and backward and returns the loss; the
// gradient is left in m.Params for fit.Train to apply. With a non-finite
// loss it returns before the backward pass.
func (tr *trainer) step(idx []int) float64 {
	tr.bs, tr.bto = tr.bs[:0], tr.bto[:0]
	for _, i := range idx {
		tr.bs, tr.bto = append(tr.bs, tr.src[i]), append(tr.bto, tr.tgt[i])
	}
	tr.bt.fill(tr.bs, tr.bto)
	loss, _ := tr.w.forward(&tr.bt, true, tr.opt.TeacherForcing, tr.opt.LabelSmoothing, tr.rng, true)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss
	}
	tr.m.Params.ZeroGrad()
	tr.w.backward(&tr.bt)
	return loss
}
