package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/spf13/cobra"
)

type trainLMOptions struct {
	data                                 []string
	out, resume, checkpoint, plot, dtype string
	log                                  string
	cell, tokKind, format, textCol       string
	header, bidirectional, tie           bool
	valFrac                              float64
	vocab, minFreq, limit                int
	splitSeed                            uint64
	cfg                                  sentiment.LMConfig
	opt                                  sentiment.LMTrainOptions
}

func newTrainLMCmd(g *globalOptions) *cobra.Command {
	o := &trainLMOptions{opt: sentiment.DefaultLMTrainOptions()}
	c := &cobra.Command{
		Use:   "lm --data FILE... --out LM.safetensors",
		Short: "Pretrain a classifier's encoder as a word-level language model on unlabelled text",
		Long: `Pretrain the encoder of a review classifier as a language model (ULMFiT):
the same tokenizer, embedding, cell, hidden size and layers as "rnnkit train
sentiment" builds, trained on unlabelled in-domain text, then used with
"rnnkit train sentiment --init-lm LM.safetensors".

Data (--data, repeatable) is plain text with one document (review) per line,
or TSV/CSV/JSONL files whose text column (--text-col, default 0) is read; the
format follows the extension (.tsv, .csv, .jsonl; anything else is one
document per line) unless --format says otherwise. Blank lines are skipped.
The tokenizer (--tokenizer, --vocab, --min-freq) is trained on the training
documents, as train sentiment trains it.

Training is stateful truncated BPTT over the documents joined into one stream
(each followed by </s>, shuffled every epoch): --batch contiguous streams
advance --seq-len tokens a step, carrying the recurrent state between
windows. A bidirectional encoder is pretrained as two LMs sharing the
embedding: the forward direction predicts the next token, the reverse
direction the previous one (an LM over the reversed stream). The output layer
(its own, or the embedding with --tie) is trained with a sampled softmax over
--sampled classes drawn from unigram^0.75 (or log-uniform, --proposal), which
keeps a step cheap at a 25k vocabulary; --sampled 0 uses the full softmax.
Validation always uses the full softmax.

--val-frac of the documents (a seeded shuffle, --split-seed) is held out. The
best model by validation perplexity (the geometric mean of both directions')
is written to --out whenever it improves. A checkpoint (default: OUT.ckpt) is
written every --checkpoint-every steps (default: every evaluation) and on
Ctrl-C; --resume CHECKPOINT continues exactly where it stopped (give the same
data and flags). A resume is refused when a flag that shapes the model or
its tokenizer differs from the checkpoint's run, or when the documents (or
their split: --val-frac, --split-seed, --limit, ...) do. --log FILE.jsonl
appends one JSON object per evaluation: step, steps, epoch, train_loss (the
mean since the previous one), val_loss, val_perplexity (and its forward and
backward parts), best_val_loss, lr, elapsed_s and time.`,
		Example: `  rnnkit train lm --data unsup.txt --data train.tsv --out imdb-lm.safetensors
  rnnkit train lm --data unsup.txt --out lm.safetensors --epochs 2 --checkpoint-every 500
  rnnkit train lm --data unsup.txt --data train.tsv --out lm.safetensors --resume lm.safetensors.ckpt
  rnnkit train sentiment --data train.tsv --out clf.safetensors --init-lm imdb-lm.safetensors`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTrainLM(c, g, o) },
	}
	f := c.Flags()
	f.StringArrayVar(&o.data, "data", nil, "unlabelled text: one document per line, or TSV/CSV/JSONL (required; repeat to combine)")
	f.StringVar(&o.out, "out", "", "where to write the best language model (required)")
	f.StringVar(&o.format, "format", "auto", "data layout: auto (by extension), lines, tsv, csv or jsonl")
	f.StringVar(&o.textCol, "text-col", "", `TSV/CSV text column (header name or 0-based index, default 0); JSONL text field (default "text")`)
	f.BoolVar(&o.header, "header", false, "TSV/CSV: the first row names the columns")
	f.IntVar(&o.limit, "limit", 0, "use only the first N documents of each data file (0 = all)")
	f.Float64Var(&o.valFrac, "val-frac", 0.01, "fraction of the documents held out for validation")
	f.Uint64Var(&o.splitSeed, "split-seed", 1, "seed of the validation split")
	f.StringVar(&o.resume, "resume", "", "continue from this checkpoint")
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint path (default: OUT.ckpt)")
	f.IntVar(&o.opt.CheckpointEvery, "checkpoint-every", 0, "steps between checkpoints (default: every evaluation)")
	f.StringVar(&o.plot, "plot", "", "draw the loss curves to this PNG")
	addTrainLogFlag(c, &o.log)
	f.StringVar(&o.dtype, "dtype", "f32", "storage type of --out: f32, f16 (half the size) or int8 (weight matrices as int8 with a scale per row: about a quarter)")
	f.StringVar(&o.tokKind, "tokenizer", "word", "tokenizer trained on the data: word or bpe")
	f.IntVar(&o.vocab, "vocab", 25000, "vocabulary size, specials included")
	f.IntVar(&o.minFreq, "min-freq", 2, "drop words seen fewer times")
	f.StringVar(&o.cell, "cell", "gru", "recurrent cell: gru or lstm (rnn_tanh, rnn_relu also work)")
	f.IntVar(&o.cfg.Embedding, "embedding", 128, "embedding width")
	f.IntVar(&o.cfg.Hidden, "hidden", 128, "hidden units per layer and direction")
	f.IntVar(&o.cfg.Layers, "layers", 1, "stacked recurrent layers")
	f.BoolVar(&o.bidirectional, "bidirectional", true, "pretrain a backward LM too, for a bidirectional classifier (--bidirectional=false: forward only)")
	f.BoolVar(&o.tie, "tie", false, "use the embedding as the output layer (needs --hidden equal to --embedding; default: a separate output layer)")
	f.Float32Var(&o.cfg.Dropout, "dropout", 0.1, "dropout between layers and before the output layer (0 = none)")
	f.Float32Var(&o.cfg.EmbDropout, "emb-dropout", 0, "dropout on the embedding")
	f.IntVar(&o.opt.SeqLen, "seq-len", o.opt.SeqLen, "BPTT window in tokens")
	f.IntVar(&o.opt.Batch, "batch", o.opt.Batch, "parallel streams per step")
	f.Float64Var(&o.opt.Epochs, "epochs", o.opt.Epochs, "passes over the training text")
	f.Float64Var(&o.opt.LR, "lr", o.opt.LR, "peak Adam learning rate (cosine schedule with warm-up)")
	f.IntVar(&o.opt.Warmup, "warmup", o.opt.Warmup, "warm-up steps (0 = none)")
	f.Float64Var(&o.opt.Clip, "clip", o.opt.Clip, "global gradient-norm clip (0 or negative = off)")
	f.Float64Var(&o.opt.WeightDecay, "weight-decay", 0, "L2 weight decay")
	f.IntVar(&o.opt.Samples, "sampled", o.opt.Samples, "classes drawn per step for the sampled softmax (0 = full softmax)")
	f.StringVar(&o.opt.Proposal, "proposal", o.opt.Proposal, "sampled-softmax proposal: unigram (count^0.75) or log-uniform")
	f.IntVar(&o.opt.EvalEvery, "eval-every", 0, "steps between validation passes (default: 4 per epoch)")
	f.IntVar(&o.opt.Patience, "patience", 0, "stop after this many evaluations without improvement (0 = off)")
	f.Uint64Var(&o.opt.Seed, "seed", o.opt.Seed, "random seed (initialization, document order, dropout, draws; 0 is a seed like any other)")
	f.BoolVar(&o.opt.SkipNonFinite, "skip-nonfinite", false, "skip steps with a NaN/Inf loss or gradient instead of stopping")
	return c
}

// lmResume is what train lm --resume checks.
var lmResume = resumeSpec{
	kind:  sentiment.LMKind,
	fixed: []string{"cell", "embedding", "hidden", "layers", "bidirectional", "tie", "dropout", "emb-dropout", "tokenizer", "vocab", "min-freq"},
	data:  []string{"val-frac", "split-seed", "limit", "format", "text-col", "header"},
	config: map[string]string{"cell": "cell", "embedding": "embedding", "hidden": "hidden", "layers": "layers", "bidirectional": "bidirectional",
		"tie": "tied", "dropout": "dropout", "emb-dropout": "emb_dropout"},
	norm: map[string]func(string) string{"cell": normCell},
}

// readDocs reads the documents of one data file, printing skipped bad
// records.
func readDocs(c *cobra.Command, g *globalOptions, path string, o *trainLMOptions) ([]string, error) {
	docs, warnings, err := sentiment.ReadDocs(path, sentiment.DocOptions{Format: o.format, Text: o.textCol, Header: o.header, Limit: o.limit})
	for _, w := range warnings[:min(len(warnings), 5)] {
		status(c, g, "skipped: %v", w)
	}
	var bad *sentiment.BadRecordsError
	if errors.As(err, &bad) {
		return nil, fmt.Errorf("%v (more than %d bad records; is --format right?)", bad.Err, bad.Max)
	}
	if len(warnings) > 5 && (err == nil || errors.Is(err, sentiment.ErrNoDocuments)) {
		status(c, g, "... %d more bad records skipped in %s", len(warnings)-5, path)
	}
	return docs, err
}

func runTrainLM(c *cobra.Command, g *globalOptions, o *trainLMOptions) error {
	if err := checkTrainOut(len(o.data) > 0, o.out); err != nil {
		return err
	}
	dtype, cell, err := parseDTypeCell(o.dtype, o.cell)
	if err != nil {
		return err
	}
	if _, err := corpora.TextFormat("", corpora.TextOptions{Format: o.format}); err != nil {
		return usagef("--format: %v", strings.TrimPrefix(err.Error(), "corpora: "))
	}
	switch {
	case o.valFrac <= 0 || o.valFrac >= 1:
		return usagef("--val-frac must be in (0, 1), got %v", o.valFrac)
	case o.tokKind != "word" && o.tokKind != "bpe":
		return usagef("--tokenizer must be word or bpe, got %q", o.tokKind)
	case o.vocab < 10:
		return usagef("--vocab must be at least 10, got %d", o.vocab)
	case o.opt.SeqLen < 1 || o.opt.Batch < 1:
		return usagef("--seq-len and --batch must be positive, got %d and %d", o.opt.SeqLen, o.opt.Batch)
	case o.opt.Epochs <= 0 || o.opt.LR <= 0:
		return usagef("--epochs and --lr must be positive, got %v and %v", o.opt.Epochs, o.opt.LR)
	case o.opt.Samples < 0 || o.opt.Warmup < 0 || o.opt.Clip < 0:
		return usagef("--sampled, --warmup and --clip must not be negative")
	case o.opt.Proposal != sentiment.ProposalUnigram && o.opt.Proposal != sentiment.ProposalLogUniform:
		return usagef("--proposal must be %s or %s, got %q", sentiment.ProposalUnigram, sentiment.ProposalLogUniform, o.opt.Proposal)
	}
	var data sentiment.LMData
	for _, p := range o.data {
		docs, err := readDocs(c, g, p, o)
		if err != nil {
			return err
		}
		data.Add(docs, o.valFrac, o.splitSeed)
	}
	if len(data.Val) == 0 {
		return fmt.Errorf("no validation documents; use more data or a larger --val-frac")
	}
	h := newDataHash()
	for _, part := range [][]string{data.Train, data.Val} {
		h.add(strconv.Itoa(len(part)))
		h.add(part...)
	}
	dataSHA := h.sum()
	run, err := startTrain(c, g, lmResume, o.resume, dataSHA, o.log, &o.opt.Options, o.out, o.checkpoint, dtype)
	if err != nil {
		return err
	}
	defer run.log.close()
	var last sentiment.LMProgress
	report := func(p sentiment.LMProgress) {
		last = p
		run.report(p.Step, p.Steps, p.Epoch, p.LR, p.Loss,
			fmt.Sprintf("epoch %.2f loss %.3f val ppl %s best %s %.0f tok/s", p.Epoch, p.Loss,
				fmtOr("%.2f", p.Val.Perplexity), fmtOr("%.2f", math.Exp(p.BestValLoss)), p.TokensPerSec),
			p.Evaluated, func() string {
				return fmt.Sprintf("step %d/%d epoch %.2f loss %.4f val perplexity %.2f (forward %.2f, backward %s) best %.2f lr %.2e %.0f tokens/s %s",
					p.Step, p.Steps, p.Epoch, p.Loss, p.Val.Perplexity, p.Val.FwdPerplexity, fmtOr("%.2f", p.Val.BwdPerplexity),
					math.Exp(p.BestValLoss), p.LR, p.TokensPerSec, p.Elapsed.Round(time.Second))
			}, logField{"val_loss", p.Val.Loss}, logField{"val_perplexity", p.Val.Perplexity},
			logField{"val_perplexity_forward", p.Val.FwdPerplexity}, logField{"val_perplexity_backward", p.Val.BwdPerplexity},
			logField{"best_val_loss", p.BestValLoss})
	}
	start := time.Now()
	var m *sentiment.LM
	var res sentiment.LMResult
	if o.resume != "" {
		status(c, g, "resuming from %s", o.resume)
		m, res, err = sentiment.ResumeLM(c.Context(), o.resume, data, o.opt, report)
	} else {
		tok, terr := sentiment.TrainTokenizer(data.Train, sentiment.TokenizerOptions{Kind: o.tokKind, Vocab: o.vocab, MinFreq: o.minFreq})
		if terr != nil {
			return terr
		}
		o.cfg.Cell, o.cfg.Bidirectional, o.cfg.Tied = cell, o.bidirectional, o.tie
		m, err = sentiment.NewLM(o.cfg, tok)
		if err != nil {
			return usageError{err}
		}
		m.Meta["trained_on"] = strings.Join(o.data, ", ")
		lmResume.record(c, m.Meta, dataSHA)
		m.Init(initRNG(o.opt.Seed))
		dirs := "forward"
		if o.cfg.Bidirectional {
			dirs = "forward and backward"
		}
		softmax := fmt.Sprintf("sampled softmax (%d %s draws)", o.opt.Samples, o.opt.Proposal)
		if o.opt.Samples == 0 {
			softmax = "full softmax"
		}
		status(c, g, "training %s LM %s %dx%d, embedding %d%s (%d parameters, vocab %d), %s, on %d documents, validating on %d",
			dirs, cell, o.cfg.Layers, o.cfg.Hidden, o.cfg.Embedding, map[bool]string{true: " tied", false: ""}[o.cfg.Tied],
			m.Params.Len(), m.Config.Vocab, softmax, len(data.Train), len(data.Val))
		res, err = sentiment.TrainLM(c.Context(), m, data, o.opt, report)
	}
	if err := run.finish(err, res.Steps); err != nil {
		return err
	}
	type pt = sentiment.LMPoint
	if err := plotHistory(o.plot, "language-model pretraining", "loss (nats/token)", res.History, func(p pt) int { return p.Step },
		historyCurve[pt]{name: "train (sampled)", y: func(p pt) float64 { return p.Loss }},
		historyCurve[pt]{name: "validation forward", y: func(p pt) float64 { return p.ValFwd }},
		historyCurve[pt]{name: "validation backward", y: func(p pt) float64 { return p.ValBwd }, gaps: true}); err != nil {
		return err
	}
	if math.IsInf(res.BestVal.Loss, 1) || math.IsNaN(res.BestVal.Loss) {
		return noEvaluationYet(c)
	}
	m.Meta["quality.val_perplexity"] = fmt.Sprintf("%.3f", res.BestVal.Perplexity)
	m.Meta["quality.val_perplexity_forward"] = fmt.Sprintf("%.3f", res.BestVal.FwdPerplexity)
	if !math.IsNaN(res.BestVal.Bwd) {
		m.Meta["quality.val_perplexity_backward"] = fmt.Sprintf("%.3f", res.BestVal.BwdPerplexity)
	}
	m.Meta["training_time"] = time.Since(start).Round(time.Second).String()
	if err := m.Save(o.out, dtype); err != nil {
		return err
	}
	status(c, g, "%s after %d steps (%s, %.0f tokens/s): best validation perplexity %.2f (forward %.2f, backward %s) at step %d; model written to %s",
		res.Stopped, res.Steps, time.Since(start).Round(time.Second), last.TokensPerSec, res.BestVal.Perplexity, res.BestVal.FwdPerplexity,
		fmtOr("%.2f", res.BestVal.BwdPerplexity), res.BestStep, o.out)
	return nil
}

// ---- train sentiment --init-lm ----

// applyInitLM prepares train sentiment for --init-lm: the classifier's
// encoder (cell, embedding, hidden, layers, directions) and tokenizer come
// from the LM, so those flags may only repeat the LM's values, and the
// fine-tuning options of sentiment.DefaultFineTune apply.
func applyInitLM(c *cobra.Command, o *trainSentimentOptions) error {
	if o.vectors != "" || o.w2vEpochs > 0 {
		return usagef("--init-lm gives the embedding; it cannot be combined with --vectors or --word2vec-epochs")
	}
	if err := checkModelFile(o.initLM); err != nil {
		return err
	}
	lm, err := sentiment.LoadLM(o.initLM)
	if err != nil {
		return err
	}
	lc := lm.Config
	fl := c.Flags()
	conflict := func(flag string, lmValue any) error {
		return usagef("--%s conflicts with --init-lm, whose LM has %s %v; leave the flag out (the encoder comes from the LM)", flag, flag, lmValue)
	}
	if fl.Changed("cell") {
		if cell, err := rnn.ParseCell(o.cell); err != nil || cell != lc.Cell {
			return conflict("cell", lc.Cell)
		}
	}
	for _, k := range []struct {
		flag    string
		got, lm int
	}{{"embedding", o.cfg.Embedding, lc.Embedding}, {"hidden", o.cfg.Hidden, lc.Hidden}, {"layers", o.cfg.Layers, lc.Layers}} {
		if fl.Changed(k.flag) && k.got != k.lm {
			return conflict(k.flag, k.lm)
		}
	}
	if fl.Changed("unidirectional") && o.noBidirectional == lc.Bidirectional {
		return conflict("unidirectional", map[bool]string{true: "two directions", false: "one direction"}[lc.Bidirectional])
	}
	for _, f := range []string{"tokenizer", "vocab"} {
		if fl.Changed(f) {
			return usagef("--%s conflicts with --init-lm: the classifier uses the LM's tokenizer (vocab %d)", f, lc.Vocab)
		}
	}
	if fl.Changed("min-freq") && !o.adaptVocab {
		return usagef("--min-freq applies to --adapt-vocab, which is off")
	}
	o.cell, o.cfg.Embedding, o.cfg.Hidden, o.cfg.Layers, o.noBidirectional = lc.Cell.String(), lc.Embedding, lc.Hidden, lc.Layers, !lc.Bidirectional
	ft := sentiment.DefaultFineTune()
	o.opt.DiscriminativeLR, o.opt.FreezeSteps, o.opt.UnfreezeEvery = ft.DiscriminativeLR, ft.FreezeSteps, ft.UnfreezeEvery
	return nil
}

// newSentimentModelFor builds the classifier of a new train sentiment run:
// from --init-lm, or with a tokenizer trained on the data.
func newSentimentModelFor(c *cobra.Command, g *globalOptions, o *trainSentimentOptions, cell rnn.Cell, names []string, data sentiment.Data) (*sentiment.Model, error) {
	if o.initLM == "" {
		return newSentimentModel(c, g, o, cell, names, data)
	}
	lm, err := sentiment.LoadLM(o.initLM)
	if err != nil {
		return nil, err
	}
	o.cfg.Labels = names
	m, rep, err := sentiment.NewFromLMFor(lm, o.cfg, sentiment.Texts(data.Train), sentiment.FromLMOptions{AdaptVocab: o.adaptVocab, MinFreq: o.minFreq}, initRNG(o.opt.Seed))
	if err != nil {
		return nil, usageError{err}
	}
	m.Meta["trained_on"] = strings.Join(o.data, ", ")
	m.Meta["init_lm"] = o.initLM
	if o.adaptVocab {
		status(c, g, "vocabulary adapted to the training reviews: %d words seen at least %d times that the LM lacks took the ids of the LM words the reviews use least", rep.Adapted, o.minFreq)
	}
	status(c, g, "encoder from %s (vocab %d, %s); fine-tuning: head only for %d steps, one more group every %d steps, rates / %.1f per group (%d <unk> tokens in the training reviews)",
		o.initLM, lm.Config.Vocab, lm.Meta["quality.val_perplexity"], o.opt.FreezeSteps, o.opt.UnfreezeEvery, o.opt.DiscriminativeLR, rep.Unknown)
	return m, nil
}
