package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/embed"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// addSentimentCommands registers the sentiment commands: train sentiment, eval sentiment, and the inference command.
func addSentimentCommands(root, train, eval *cobra.Command, g *globalOptions) {
	root.AddCommand(newClassifyCmd(g))
	train.AddCommand(newTrainSentimentCmd(g))
	eval.AddCommand(newEvalSentimentCmd(g))
}

// loadSentiment loads --model, or the embedded default when path is empty.
func loadSentiment(path string) (*sentiment.Model, error) {
	return loadModel(path, sentiment.Kind, sentiment.Load, sentiment.LoadBytes)
}

// loadSentimentQuantized is loadSentiment for inference, quantized as quant
// (a checked --quantize value) says; an int8 file loads as stored
// (LoadQuantized).
func loadSentimentQuantized(path, quant string) (*sentiment.Model, error) {
	return loadModel(path, sentiment.Kind,
		quantizingLoader(quant, sentiment.Kind, sentiment.Load, sentiment.LoadQuantized),
		quantizingBytesLoader(quant, sentiment.LoadBytes, sentiment.LoadBytesQuantized))
}

// dataFlags are the flags that select the layout of labelled data.
type dataFlags struct {
	format, textCol, labelCol, textField, labelField string
	header                                           bool
}

func (d *dataFlags) add(c *cobra.Command) {
	d.addText(c, "data layout: auto, imdb-dir (pos/ and neg/ folders, or one folder per class), tsv, csv or jsonl")
	f := c.Flags()
	f.StringVar(&d.labelCol, "label-col", "", "TSV/CSV label column: header name or index, negative from the end (default: last)")
	f.StringVar(&d.labelField, "label-field", "", "JSONL label field (default \"label\")")
}

// addText registers the flags that select the text (--format, described by
// formatHelp, --text-col, --text-field and --header) without the label ones,
// for classify, which reads texts the way eval sentiment does.
func (d *dataFlags) addText(c *cobra.Command, formatHelp string) {
	f := c.Flags()
	f.StringVar(&d.format, "format", "auto", formatHelp)
	f.StringVar(&d.textCol, "text-col", "", "TSV/CSV text column: header name or 0-based index (default 0)")
	f.StringVar(&d.textField, "text-field", "", "JSONL text field (default \"text\"; dots reach into objects)")
	f.BoolVar(&d.header, "header", false, "TSV/CSV: the first row names the columns")
}

func (d *dataFlags) options() sentiment.ReadOptions {
	o := sentiment.ReadOptions{Format: d.format, Text: d.textCol, Label: d.labelCol, Header: d.header}
	if d.textField != "" || d.labelField != "" {
		o.Text, o.Label = d.textField, d.labelField
		if o.Format == "auto" {
			o.Format = sentiment.FormatJSONL
		}
	}
	return o
}

// readLabelled reads one data file, printing skipped bad records.
func readLabelled(c *cobra.Command, g *globalOptions, path string, d *dataFlags) ([]sentiment.RawExample, error) {
	if err := checkLabelledFormat(d.format); err != nil {
		return nil, err
	}
	raw, warnings, err := sentiment.ReadExamples(path, d.options())
	for i, w := range warnings {
		if i == 5 {
			status(c, g, "... %d more bad records skipped", len(warnings)-5)
			break
		}
		status(c, g, "skipped: %v", w)
	}
	return raw, err
}

type trainSentimentOptions struct {
	data                                []string
	out, valData, resume, checkpoint    string
	plot, dtype, cell, tokKind, vectors string
	classWeights                        string
	valFrac                             float64
	vocab, minFreq, w2vEpochs, limit    int
	splitSeed                           uint64
	split                               string // --split: block or random
	cfg                                 sentiment.Config
	opt                                 sentiment.TrainOptions
	dataFlags                           dataFlags
	noBidirectional                     bool
	initLM                              string                 // --init-lm: the encoder and tokenizer come from this LM (lm.go)
	adaptVocab                          bool                   // --adapt-vocab: fit the LM's vocabulary to the training reviews
	init                                string                 // --init: start from this classifier ("default": the embedded one)
	ngram                               sentiment.NGramOptions // --ngram*: the n-gram branch, N 0 = none
}

func newTrainSentimentCmd(g *globalOptions) *cobra.Command {
	o := &trainSentimentOptions{}
	c := &cobra.Command{
		Use:   "sentiment --data PATH --out MODEL.safetensors",
		Short: "Train a review classifier on labelled reviews",
		Long: `Train a review classifier: a word-level (or BPE) tokenizer trained on the data,
an embedding, a stacked, by default bidirectional LSTM/GRU, pooling over time
(max, mean, last, attention, or several joined with +), Linear and softmax.

Data (--data, repeatable) is a folder per class (IMDB's pos/ and neg/), a
TSV/CSV file (text and label columns, with or without a header) or JSONL.
Labels may be 0/1, neg/pos, negative/positive (the classes are then "negative"
and "positive") or any class names, e.g. star ratings 1-5.

--val-frac of every data file is held out for validation unless --val-data
is given. --split block (the default) holds out the last --val-frac of each
class in file order and drops from training the 30 reviews before it and
the windows of reviews that share rare names (films, casts) with it: for
files that keep one source's reviews together, as IMDB's do, no film is on
both sides, so validation predicts accuracy on new films. --split random is
a seeded shuffle (--split-seed), which shares films and runs high. The best model by validation
accuracy is written to --out whenever it improves, so stopping early never
loses it. A checkpoint (default: OUT.ckpt) is written at every evaluation and
on Ctrl-C; --resume CHECKPOINT continues exactly where it stopped (give the
same data and flags: a flag that shapes the model or its tokenizer must
repeat the checkpoint's run, and the reviews and their split must be the
same, which the checkpoint's sha256 of them checks). --log FILE.jsonl appends
one JSON object per evaluation: step, steps, epoch, train_loss (the mean
since the previous one), val_loss, val_acc, best_val_acc, lr, elapsed_s and
time.

Reviews are cut to --max-len tokens by --truncate: head (first tokens), tail
(last) or head+tail (first quarter and last three quarters); the model keeps
the policy, and classify applies it too. --word2vec-epochs N first learns
skip-gram vectors from the training text to initialise the embedding;
--vectors loads pretrained ones (word2vec, GloVe or fastText .vec).

--ngram N (3 unless 0 is given) then fits a linear branch on the same training reviews, in
seconds: a logistic regression on which 1- to N-grams of tokens a review
holds (hashed into --ngram-buckets), its weights scaled by naive-Bayes
log-count ratios (NBSVM-style). The model's probabilities become the
normalised product p_rnn^(1-w) * p_ngram^w, w = --ngram-weight; the
recurrent part reads order and context, the n-grams remember exact phrases,
and together they beat either alone on long reviews. The validation
accuracy is reported for both the recurrent part and the mixture.`,
		Example: `  rnnkit train sentiment --data aclImdb/train --out imdb.safetensors
  rnnkit train sentiment --data train.tsv --out m.safetensors --epochs 3 --plot loss.png
  rnnkit train sentiment --data reviews.csv --header --text-col review --label-col stars --out stars.safetensors
  rnnkit train sentiment --data reviews.jsonl --text-field body --label-field rating --class-weights balanced --out m.safetensors
  rnnkit train sentiment --data train.tsv --out m.safetensors --word2vec-epochs 3 --pooling max+mean --cell gru
  rnnkit train sentiment --data train.tsv --out m.safetensors --ngram 3
  rnnkit train sentiment --data train.tsv --out m.safetensors --resume m.safetensors.ckpt`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTrainSentiment(c, g, o) },
	}
	f := c.Flags()
	f.StringArrayVar(&o.data, "data", nil, "labelled training data: a file or class folders (required; repeat to combine)")
	f.StringVar(&o.out, "out", "", "where to write the best model (required)")
	o.dataFlags.add(c)
	f.StringVar(&o.valData, "val-data", "", "validation data (default: --val-frac of the training data)")
	f.Float64Var(&o.valFrac, "val-frac", 0.1, "fraction of each data file held out for validation")
	f.StringVar(&o.split, "split", "block", "validation split: block (the last --val-frac of each class in file order, minus the reviews linked to it) or random (a seeded shuffle)")
	f.Uint64Var(&o.splitSeed, "split-seed", 1, "seed of --split random")
	f.IntVar(&o.limit, "limit", 0, "use only the first N examples of each data file (0 = all)")
	f.StringVar(&o.resume, "resume", "", "continue from this checkpoint")
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint path (default: OUT.ckpt)")
	f.IntVar(&o.opt.CheckpointEvery, "checkpoint-every", 0, "steps between checkpoints (default: every evaluation)")
	f.StringVar(&o.plot, "plot", "", "draw the loss and accuracy curves to this PNG")
	addTrainLogFlag(c, nil)
	f.StringVar(&o.dtype, "dtype", "f32", "storage type of --out: f32, f16 (half the size) or int8 (weight matrices as int8 with a scale per row: about a quarter)")
	f.StringVar(&o.tokKind, "tokenizer", "word", "tokenizer trained on the data: word or bpe")
	f.IntVar(&o.vocab, "vocab", 25000, "vocabulary size, specials included")
	f.IntVar(&o.minFreq, "min-freq", 2, "drop words seen fewer times (word tokenizer)")
	f.StringVar(&o.vectors, "vectors", "", "pretrained word vectors for the embedding (word2vec text/binary, GloVe, .vec)")
	f.StringVar(&o.init, "init", "", `start from this classifier ("default": the embedded one): its tokenizer, encoder and pooling, its head too when the classes are the same, fine-tuned with discriminative rates and gradual unfreezing`)
	f.BoolVar(&o.adaptVocab, "adapt-vocab", true, "with --init-lm: words of the training data (seen --min-freq times) that the LM lacks take the ids of the LM's rarest words the data never uses")
	f.StringVar(&o.initLM, "init-lm", "", "start from the tokenizer, embedding and recurrent layers of this LM (rnnkit train lm) and fine-tune with discriminative rates and gradual unfreezing")
	f.IntVar(&o.w2vEpochs, "word2vec-epochs", 0, "pretrain the embedding with skip-gram on the training text for N epochs (0 = off)")
	f.StringVar(&o.cell, "cell", "lstm", "recurrent cell: lstm or gru (rnn_tanh, rnn_relu also work)")
	f.IntVar(&o.cfg.Embedding, "embedding", 128, "embedding width")
	f.IntVar(&o.cfg.Hidden, "hidden", 128, "hidden units per layer and direction")
	f.IntVar(&o.cfg.Layers, "layers", 1, "stacked recurrent layers")
	f.BoolVar(&o.noBidirectional, "unidirectional", false, "one direction only (default: bidirectional)")
	f.StringVar(&o.cfg.Pooling, "pooling", "max+mean", "pooling over time: max, mean, last, attention, or several joined with +")
	f.Float32Var(&o.cfg.Dropout, "dropout", 0.3, "dropout between layers and on the pooled features (0 = none)")
	f.Float32Var(&o.cfg.EmbDropout, "emb-dropout", 0.1, "dropout on the embedding")
	f.IntVar(&o.cfg.MaxLen, "max-len", 400, "longest review in tokens; longer ones are cut by --truncate")
	f.StringVar(&o.cfg.Truncate, "truncate", "head+tail", "how long reviews are cut: head, tail or head+tail")
	f.IntVar(&o.opt.Batch, "batch", 32, "reviews per step (batches hold reviews of similar length)")
	f.Float64Var(&o.opt.Epochs, "epochs", 4, "passes over the training data")
	f.Float64Var(&o.opt.LR, "lr", 2e-3, "peak Adam learning rate (cosine schedule with warm-up)")
	f.IntVar(&o.opt.Warmup, "warmup", 100, "warm-up steps (0 = none)")
	f.Float64Var(&o.opt.Clip, "clip", 5, "global gradient-norm clip (0 or negative = off)")
	f.Float64Var(&o.opt.WeightDecay, "weight-decay", 0, "L2 weight decay")
	f.StringVar(&o.classWeights, "class-weights", "", `class weights in the loss: "balanced" or one number per class, comma-separated (default: none)`)
	f.Float32Var(&o.opt.LabelSmoothing, "label-smoothing", 0, "label smoothing ε (0 = off)")
	f.IntVar(&o.opt.EvalEvery, "eval-every", 0, "steps between validation passes (default: 2 per epoch)")
	f.IntVar(&o.opt.Patience, "patience", 0, "early stopping: stop after this many evaluations without improvement (0 = off)")
	f.Uint64Var(&o.opt.Seed, "seed", 1, "random seed (initialization, batch order, dropout; 0 is a seed like any other)")
	f.BoolVar(&o.opt.SkipNonFinite, "skip-nonfinite", false, "skip steps with a NaN/Inf loss or gradient instead of stopping")
	o.ngram = sentiment.DefaultNGramOptions()
	f.IntVar(&o.ngram.N, "ngram", o.ngram.N, fmt.Sprintf("after training, fit a linear branch on the reviews' 1- to N-grams and mix it into the predictions (0 = none; at most %d)", sentiment.MaxNGram))
	f.IntVar(&o.ngram.Buckets, "ngram-buckets", 0, "hash buckets of the n-gram branch, a power of two; 0 = four per n-gram kept, at most 2^21 (per bucket the model grows by 4 bytes in f32, 2 in f16, 1 in int8; times the classes beyond two)")
	f.IntVar(&o.ngram.MinCount, "ngram-min-count", o.ngram.MinCount, "n-grams seen in fewer training reviews get no weight")
	f.Float32Var(&o.ngram.Weight, "ngram-weight", o.ngram.Weight, "the n-gram branch's share of the log-probabilities, in (0, 1)")
	return c
}

func runTrainSentiment(c *cobra.Command, g *globalOptions, o *trainSentimentOptions) error {
	if err := checkTrainOut(len(o.data) > 0, o.out); err != nil {
		return err
	}
	if o.init != "" {
		if err := checkInitFlags(c, o); err != nil {
			return err
		}
	}
	if o.initLM != "" {
		if err := applyInitLM(c, o); err != nil {
			return err
		}
	}
	dtype, cell, err := parseDTypeCell(o.dtype, o.cell)
	if err != nil {
		return err
	}
	if o.split != "block" && o.split != "random" {
		return usagef("--split must be block or random, got %q", o.split)
	}
	if o.valData == "" && (o.valFrac <= 0 || o.valFrac >= 1) {
		return usagef("--val-frac must be in (0, 1), got %v", o.valFrac)
	}
	if o.ngram.N != 0 {
		if err := o.ngram.Check(); err != nil {
			return usagef("--ngram options: %v", strings.TrimPrefix(err.Error(), "sentiment: "))
		}
	}
	if o.tokKind != "word" && o.tokKind != "bpe" {
		return usagef("--tokenizer must be word or bpe, got %q", o.tokKind)
	}
	if o.vocab < 10 {
		return usagef("--vocab must be at least 10, got %d", o.vocab)
	}
	if o.cfg.MaxLen <= 0 {
		return usagef("--max-len must be positive, got %d", o.cfg.MaxLen)
	}
	// Read every file, then choose the classes from all labels.
	var parts []sentiment.Part
	for _, p := range o.data {
		raw, err := readLabelled(c, g, p, &o.dataFlags)
		if err != nil {
			return err
		}
		if o.limit > 0 && len(raw) > o.limit {
			raw = raw[:o.limit]
		}
		parts = append(parts, sentiment.Part{Name: p, Examples: raw})
	}
	var valPart *sentiment.Part
	if o.valData != "" {
		raw, err := readLabelled(c, g, o.valData, &o.dataFlags)
		if err != nil {
			return err
		}
		valPart = &sentiment.Part{Name: o.valData, Examples: raw}
	}
	prep, err := sentiment.Prepare(parts, valPart, sentiment.PrepareOptions{Split: sentiment.Split(o.split), ValFrac: o.valFrac, Seed: o.splitSeed,
		Balanced: o.classWeights == "balanced"})
	if errors.Is(err, sentiment.ErrTooManyClasses) {
		return fmt.Errorf("%v (--label-col)", err)
	} else if err != nil {
		return err
	}
	names, data := prep.Labels, prep.Data
	for i, s := range prep.Splits {
		if o.split == string(sentiment.SplitBlock) {
			status(c, g, "%s: %s", o.data[i], describeBlockSplit(s.Block, names, s.Train, s.Val))
		}
	}
	if o.opt.ClassWeights, err = prep.ParseClassWeights(o.classWeights); err != nil {
		return classWeightsError(err)
	}
	dataSHA := sentimentDataSHA256(names, data)
	run, err := startTrain(c, g, sentimentResume, o.resume, dataSHA, c.Flags().Lookup("log").Value.String(), &o.opt.Options, o.out, o.checkpoint, dtype)
	if err != nil {
		return err
	}
	defer run.log.close()
	report := func(p sentiment.Progress) {
		run.report(p.Step, p.Steps, p.Epoch, p.LR, p.Loss,
			fmt.Sprintf("epoch %.2f loss %.3f val acc %s best %s %.0f tok/s", p.Epoch, p.Loss, fmtOr("%.4f", p.ValAcc), fmtOr("%.4f", p.BestValAcc), p.TokensPerSec),
			p.Evaluated, func() string {
				return fmt.Sprintf("step %d/%d epoch %.2f loss %.4f val loss %.4f val acc %.4f best %.4f lr %.2e %.0f tokens/s %s",
					p.Step, p.Steps, p.Epoch, p.Loss, p.ValLoss, p.ValAcc, p.BestValAcc, p.LR, p.TokensPerSec, p.Elapsed.Round(time.Second))
			}, logField{"val_loss", p.ValLoss}, logField{"val_acc", p.ValAcc}, logField{"best_val_acc", p.BestValAcc})
	}
	if o.init != "" { // the same in a resumed run: the optimizer's groups depend on it
		o.opt.ScaleFineTune(len(data.Train))
	}
	topt := o.opt
	if legacyRun(o.resume) {
		legacyZeros(&topt.Options, 100)
	}
	start := time.Now()
	var m *sentiment.Model
	var res sentiment.Result
	if o.resume != "" {
		status(c, g, "resuming from %s", o.resume)
		m, res, err = sentiment.Resume(c.Context(), o.resume, data, topt, report)
		if err == nil && !slices.Equal(m.Config.Labels, names) {
			return fmt.Errorf("the checkpoint's classes (%s) differ from the data's (%s)", strings.Join(m.Config.Labels, ", "), strings.Join(names, ", "))
		}
	} else {
		if o.init != "" {
			m, err = newSentimentFromModel(c, g, o, names, data)
		} else {
			m, err = newSentimentModelFor(c, g, o, cell, names, data)
		}
		if err != nil {
			return err
		}
		sentimentResume.record(c, m.Meta, dataSHA)
		status(c, g, "training %s %dx%d%s, %s pooling (%d parameters, vocab %d, classes %s) on %d reviews, validating on %d",
			cell, o.cfg.Layers, o.cfg.Hidden, map[bool]string{true: " bidirectional", false: ""}[m.Config.Bidirectional],
			m.Config.Pooling, m.Params.Len(), m.Config.Vocab, strings.Join(names, "/"), len(data.Train), len(data.Val))
		res, err = sentiment.Train(c.Context(), m, data, topt, report)
	}
	if err := run.finish(err, res.Steps); err != nil {
		return err
	}
	type pt = sentiment.Point
	if err := plotHistory(o.plot, "sentiment training", "loss (nats) / accuracy", res.History, func(p pt) int { return p.Step },
		historyCurve[pt]{name: "train loss", y: func(p pt) float64 { return p.Loss }},
		historyCurve[pt]{name: "validation loss", y: func(p pt) float64 { return p.ValLoss }},
		historyCurve[pt]{name: "validation accuracy", y: func(p pt) float64 { return p.ValAcc }}); err != nil {
		return err
	}
	if res.BestValAcc < 0 {
		return noEvaluationYet(c)
	}
	m.Meta["quality.val_accuracy"] = fmt.Sprintf("%.4f", res.BestValAcc)
	m.Meta["quality.val_loss"] = fmt.Sprintf("%.4f", res.BestValLoss)
	if o.ngram.N > 0 {
		if m, err = fitNGram(c, g, m, data, o.ngram); err != nil {
			return err
		}
	}
	m.Meta["training_time"] = time.Since(start).Round(time.Second).String()
	if err := m.Save(o.out, dtype); err != nil {
		return err
	}
	withNGram := ""
	if m.Config.NGram != nil {
		withNGram = ", " + m.Meta["quality.val_accuracy"] + " with the n-gram branch"
	}
	status(c, g, "%s after %d steps (%s): best validation accuracy %.4f (loss %.4f) at step %d%s; model written to %s",
		res.Stopped, res.Steps, time.Since(start).Round(time.Second), res.BestValAcc, res.BestValLoss, res.BestStep, withNGram, o.out)
	return nil
}

// fitNGram adds the n-gram branch to the trained model m and reports the
// validation accuracy with it, next to the recurrent part's.
func fitNGram(c *cobra.Command, g *globalOptions, m *sentiment.Model, data sentiment.Data, opt sentiment.NGramOptions) (*sentiment.Model, error) {
	status(c, g, "fitting the n-gram branch: 1- to %d-grams of %d+ reviews, on %d reviews", opt.N, opt.MinCount, len(data.Train))
	out, res, err := m.TrainNGram(c.Context(), data.Train, opt)
	if err != nil {
		return nil, fmt.Errorf("the n-gram branch (--ngram): %w", err)
	}
	rep, err := out.Evaluate(data.Val)
	if err != nil {
		return nil, err
	}
	out.Meta["quality.val_accuracy_rnn"] = out.Meta["quality.val_accuracy"]
	out.Meta["quality.val_accuracy"] = fmt.Sprintf("%.4f", rep.Accuracy)
	out.Meta["quality.val_loss"] = fmt.Sprintf("%.4f", rep.Loss)
	status(c, g, "n-gram branch: %d n-grams in %d of %d buckets (%s); validation accuracy %.4f with it, %s without",
		res.Features, res.Buckets, out.Config.NGram.Buckets, res.Elapsed.Round(time.Millisecond), rep.Accuracy, out.Meta["quality.val_accuracy_rnn"])
	return out, nil
}

// classWeightsError words sentiment.ParseClassWeights' error as one about
// --class-weights.
func classWeightsError(err error) error {
	var we *sentiment.ClassWeightsError
	switch {
	case !errors.As(err, &we):
		return err
	case we.Bad != "":
		return usagef("--class-weights: %q is not a non-negative number", we.Bad)
	}
	return usagef("--class-weights has %d numbers for %d classes (%s)", we.N, len(we.Labels), strings.Join(we.Labels, ", "))
}

// checkInitFlags refuses the flags that --init makes meaningless: the
// tokenizer, encoder and pooling come from the model.
func checkInitFlags(c *cobra.Command, o *trainSentimentOptions) error {
	if o.initLM != "" {
		return usagef("--init and --init-lm exclude each other: start from a classifier or from a language model")
	}
	if o.vectors != "" || o.w2vEpochs > 0 {
		return usagef("--init gives the embedding; it cannot be combined with --vectors or --word2vec-epochs")
	}
	for _, f := range []string{"cell", "embedding", "hidden", "layers", "unidirectional", "pooling", "tokenizer", "vocab", "min-freq", "max-len", "truncate"} {
		if c.Flags().Changed(f) {
			return usagef("--%s conflicts with --init: the tokenizer, encoder, pooling and truncation come from the model; leave the flag out", f)
		}
	}
	if o.init != "default" {
		return checkModelFile(o.init)
	}
	return nil
}

// newSentimentFromModel builds the classifier of a --init run: src's
// tokenizer and encoder, a new head unless the classes are src's, and
// fine-tuning options scaled to the run's length.
func newSentimentFromModel(c *cobra.Command, g *globalOptions, o *trainSentimentOptions, names []string, data sentiment.Data) (*sentiment.Model, error) {
	path := o.init
	if path == "default" {
		path = ""
	}
	src, err := loadSentiment(path)
	if err != nil {
		return nil, err
	}
	m, err := sentiment.NewFromModel(src, names, initRNG(o.opt.Seed))
	if err != nil {
		return nil, err
	}
	m.Meta["trained_on"] = strings.Join(o.data, ", ")
	m.Meta["init"] = o.init
	head := "a new head for " + strings.Join(names, "/")
	if slices.Equal(names, src.Config.Labels) {
		head = "its head (same classes)"
	}
	status(c, g, "starting from %s (%s %dx%d, vocab %d) with %s; fine-tuning: head only for %d steps, one more group every %d steps, rates / %.1f per group",
		o.init, src.Config.Cell, src.Config.Layers, src.Config.Hidden, src.Config.Vocab, head, o.opt.FreezeSteps, o.opt.UnfreezeEvery, o.opt.DiscriminativeLR)
	return m, nil
}

// describeBlockSplit says what --split block held out and dropped.
func describeBlockSplit(rep corpora.BlockReport, names []string, train, val int) string {
	msg := fmt.Sprintf("block split: %d for training, %d for validation (the last of each class); dropped %d at the boundaries", train, val, rep.Gap)
	for _, l := range rep.Linked {
		msg += fmt.Sprintf(", %d %s reviews %d-%d (%d rare names shared with other classes' validation reviews, median %.0f per window)",
			l.Items, names[l.Class], l.From, l.To, l.Links, l.Median)
	}
	return msg
}

// newSentimentModel trains the tokenizer on the training texts and builds
// and initialises the model, with pretrained vectors if asked.
func newSentimentModel(c *cobra.Command, g *globalOptions, o *trainSentimentOptions, cell rnn.Cell, names []string, data sentiment.Data) (*sentiment.Model, error) {
	tok, err := sentiment.TrainTokenizer(sentiment.Texts(data.Train), sentiment.TokenizerOptions{Kind: o.tokKind, Vocab: o.vocab, MinFreq: o.minFreq})
	if err != nil {
		return nil, err
	}
	o.cfg.Cell, o.cfg.Labels, o.cfg.Bidirectional = cell, names, !o.noBidirectional
	m, err := sentiment.New(o.cfg, tok)
	if err != nil {
		return nil, usageError{err}
	}
	m.Meta["trained_on"] = strings.Join(o.data, ", ")
	m.Init(initRNG(o.opt.Seed))
	if o.vectors != "" {
		v, err := embed.ReadVectors(o.vectors, embed.Auto)
		if err != nil {
			return nil, err
		}
		found, err := m.LoadVectors(v)
		if err != nil {
			return nil, err
		}
		status(c, g, "embedding: %d of %d words found in %s", found, m.Config.Vocab, o.vectors)
	}
	if o.w2vEpochs > 0 {
		t0 := time.Now()
		found, err := m.PretrainEmbedding(c.Context(), sentiment.Texts(data.Train), embed.Word2VecOptions{Epochs: o.w2vEpochs, MinCount: 1, Seed: o.opt.Seed}, nil)
		if err != nil {
			return nil, err
		}
		status(c, g, "embedding: skip-gram vectors for %d of %d words (%d epochs, %s)", found, m.Config.Vocab, o.w2vEpochs, time.Since(t0).Round(time.Second))
	}
	return m, nil
}

// ---- classify ----

// maxReviewBytes is the largest file classify reads as one review.
const maxReviewBytes = sentiment.MaxReviewBytes

// reviewName is how messages call a review's input: "stdin" for "-", and
// FILE:LINE for a record.
func reviewName(r corpora.Review) string {
	n := r.Path
	if n == "-" {
		n = "stdin"
	}
	if r.Line > 0 {
		n = fmt.Sprintf("%s:%d", n, r.Line)
	}
	return n
}

// errSkipped stands for a skipped review's reason, which corpora gives.
var errSkipped = errors.New("skipped")

// recordProblem rewords the corpora readers' advice to their callers
// (set MaxLineBytes, set ReplaceInvalidUTF8) as advice to the user.
func recordProblem(err error) error {
	switch {
	case errors.Is(err, corpora.ErrLineTooLong):
		return fmt.Errorf("line of more than %d MB: too large for one review", maxReviewBytes>>20)
	case errors.Is(err, corpora.ErrInvalidUTF8):
		msg, _, _ := strings.Cut(err.Error(), ";")
		return errors.New(msg + "; convert the input to UTF-8")
	}
	return err
}

type classifyOptions struct {
	model         string
	quantize      string
	asJSON        bool
	batch         int
	workers       int
	probs         bool
	noSummary     bool
	lines         bool
	k             int
	explain       bool
	explainMethod string
	color         string
	data          dataFlags
}

func newClassifyCmd(g *globalOptions) *cobra.Command {
	o := &classifyOptions{}
	c := &cobra.Command{
		Use:   "classify [--model MODEL] [--json] [--lines] [PATH...]",
		Short: "Classify review files as positive or negative (default: the IMDB model)",
		Long: `Classify reviews. Without --model the embedded default model is used: a
bidirectional GRU (256 units each way, max+mean pooling) pretrained as a
language model on IMDB reviews and fine-tuned on labelled IMDB reviews and
SST-2 phrases, with a linear n-gram branch mixed into its predictions, and
the classes negative and positive.

Each PATH is one review: a file, a folder (read recursively; hidden entries
skipped) or - for standard input. Each file gets one line: file, label and the
label's probability (with --json, one object per line: {"file", "label",
"probability"}), in the order of the arguments and, inside a folder, of the
file names. In a folder, what is not a regular file (a named pipe, socket or
device) and symbolic links to folders are skipped with a message on stderr.

With --lines each line of each PATH is one review, and each gets one output
line in input order: label and probability, so that the answers line up with
the input (with --json {"file", "line", "label", "probability"}). --format
(auto, lines, tsv, csv or jsonl; auto goes by the extension), --text-col,
--text-field and --header select the text of TSV, CSV or JSONL records as for
"rnnkit eval sentiment", and imply --lines; a header line gets no output line.
With no PATH, standard input (unless it is a terminal) is read one review per
line, as by translate: echo "Loved it." | rnnkit classify.

-k N prints the N most probable labels, each with its probability (with
--json, "top": [{"label", "probability"}]). --explain shows which words pushed
the prediction which way: each word's score is in nats of the predicted
label's log-odds, positive toward the label. --explain-method occlusion (the
default) measures the drop when the word is replaced by padding; gradient
takes gradient x input on the embeddings, one backward pass instead of one
forward pass per word. On a terminal the review is shown with its words
coloured (green toward the label, red against it); otherwise the line ends
with a list word:+0.123 ...; --json adds "explanation": [{"token", "score"}]
and "explanation_method".

A review that cannot be classified (an empty, binary, non-UTF-8, unreadable
or over 10 MB file; an empty or invalid line or record) is reported on stderr
and keeps its place in the output (an empty line with --lines, {"file",
"error"} with --json); the run goes on and the exit status is 1. The counts
per label end stderr (-q or --no-summary leaves them out). While a folder or
--lines input is classified, a progress line is shown on stderr when stderr
is a terminal.

Long reviews are cut as the model was trained (by default the first 100 and
the last 300 tokens of reviews longer than 400 tokens). Reviews are streamed
through every core in batches and the results printed in order as batches
complete, so memory stays flat whatever the input's size.`,
		Example: `  rnnkit classify review.txt
  rnnkit classify --json reviews/ > labels.jsonl
  echo "A wonderful, moving film." | rnnkit classify
  rnnkit classify --lines -k 2 reviews.txt
  rnnkit classify --header --text-col review reviews.csv
  rnnkit classify --json --text-field body reviews.jsonl
  echo "Loved the cast, hated the ending." | rnnkit classify --explain
  rnnkit classify --explain-method gradient --json review.txt
  rnnkit classify --model stars.safetensors --probs a.txt b.txt`,
		RunE: func(c *cobra.Command, args []string) error { return runClassify(c, g, o, args) },
	}
	f := c.Flags()
	f.StringVar(&o.model, "model", "", "model file (default: the embedded IMDB model)")
	f.BoolVar(&o.asJSON, "json", false, `one JSON object per line: {"file", "label", "probability"} or {"file", "error"}`)
	f.BoolVar(&o.lines, "lines", false, "each line (TSV/CSV/JSONL record) of each PATH is one review")
	o.data.addText(c, "with --lines: layout of the records: auto (by extension), lines, tsv, csv or jsonl")
	f.IntVarP(&o.k, "top-k", "k", 1, "print the k most probable labels, each with its probability")
	f.BoolVar(&o.probs, "probs", false, "also print the probability of every class")
	f.BoolVar(&o.explain, "explain", false, "show which words pushed the prediction which way")
	f.StringVar(&o.explainMethod, "explain-method", sentiment.ExplainOcclusion, "explanation method: occlusion or gradient (implies --explain)")
	f.StringVar(&o.color, "color", "auto", "colour the explained words: auto (when stdout is a terminal and NO_COLOR is unset), always or never")
	f.BoolVar(&o.noSummary, "no-summary", false, "do not print the summary")
	f.IntVar(&o.batch, "batch", 32, "reviews classified together")
	f.IntVar(&o.workers, "workers", 0, "parallel classifiers (default: the number of cores)")
	addQuantizeFlag(c, &o.quantize)
	return c
}

// isTerminal reports whether r or w is an interactive terminal.
func isTerminal(rw any) bool {
	f, ok := rw.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// checkModelFile refuses a --model that is not a regular file, such as a
// named pipe, whose opening would block forever.
func checkModelFile(path string) error {
	err := corpora.CheckRegular(path)
	if err == nil || !errors.Is(err, corpora.ErrNotRegular) {
		return nil // a missing file is reported by the loader
	}
	return fmt.Errorf("model file %s: %v; give the path of a .safetensors file", path, errors.Unwrap(err))
}

// topK returns the indices of the k largest probabilities, largest first.
func topK(p []float32, k int) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	return idx[:min(k, len(idx))]
}

// ANSI colours of explained words.
const (
	ansiReset     = "\033[0m"
	ansiGreen     = "\033[32m"
	ansiRed       = "\033[31m"
	ansiBoldGreen = "\033[1;32m"
	ansiBoldRed   = "\033[1;31m"
	ansiClearLine = "\r\033[K"
)

// writeExplanation writes e as a list token:+score, or with colour as the
// review's text with each word coloured by its score (bold from half the
// largest score, none below a tenth of it; a review cut in the middle by
// truncation shows " … " where the cut tokens were).
func writeExplanation(w *bufio.Writer, e *sentiment.Explanation, colour bool) {
	if !colour {
		for i, ts := range e.Tokens {
			if i > 0 {
				w.WriteByte(' ')
			}
			fmt.Fprintf(w, "%s:%+.3f", ts.Token, ts.Score)
		}
		return
	}
	var top float64
	for _, ts := range e.Tokens {
		top = max(top, math.Abs(ts.Score))
	}
	flat := strings.NewReplacer("\n", " ", "\r", " ", "\t", " ")
	end := -1
	for _, ts := range e.Tokens {
		if end >= 0 && ts.Start >= end {
			switch gap := e.Text[end:ts.Start]; {
			case strings.TrimSpace(gap) != "":
				w.WriteString(" … ")
			case gap != "":
				w.WriteByte(' ')
			}
		}
		end = ts.End
		s := 0.0
		if top > 0 {
			s = ts.Score / top
		}
		code := ""
		switch {
		case s >= 0.5:
			code = ansiBoldGreen
		case s >= 0.1:
			code = ansiGreen
		case s <= -0.5:
			code = ansiBoldRed
		case s <= -0.1:
			code = ansiRed
		}
		tok := flat.Replace(ts.Token)
		if code == "" {
			w.WriteString(tok)
		} else {
			w.WriteString(code + tok + ansiReset)
		}
	}
}

// clearingWriter writes clear (to stderr) before each write to w (stdout),
// so that output on the terminal of a progress line does not run on after
// the line.
type clearingWriter struct {
	w     io.Writer
	clear func()
}

func (cw clearingWriter) Write(p []byte) (int, error) {
	cw.clear()
	return cw.w.Write(p)
}

func runClassify(c *cobra.Command, g *globalOptions, o *classifyOptions, args []string) error {
	if o.batch <= 0 {
		return usagef("--batch must be positive, got %d", o.batch)
	}
	if o.k < 1 {
		return usagef("-k must be at least 1, got %d", o.k)
	}
	if o.explainMethod != sentiment.ExplainOcclusion && o.explainMethod != sentiment.ExplainGradient {
		return usagef("--explain-method must be %s or %s, got %q", sentiment.ExplainOcclusion, sentiment.ExplainGradient, o.explainMethod)
	}
	if c.Flags().Changed("explain-method") {
		o.explain = true
	}
	if o.color != "auto" && o.color != "always" && o.color != "never" {
		return usagef("--color must be auto, always or never, got %q", o.color)
	}
	for _, fl := range []string{"format", "text-col", "text-field", "header"} {
		if c.Flags().Changed(fl) {
			o.lines = true
		}
	}
	stdin := c.InOrStdin()
	if len(args) == 0 {
		if isTerminal(stdin) {
			return usagef("give PATH arguments (files, folders or - for stdin), or pipe reviews on stdin, one per line")
		}
		args, o.lines = []string{"-"}, true
	}
	nStdin := 0
	for _, a := range args {
		if a == "-" {
			nStdin++
		}
	}
	if nStdin > 1 {
		return usagef("- (standard input) can be given only once")
	}
	to := corpora.TextOptions{}
	if o.lines {
		ro := o.data.options()
		to = corpora.TextOptions{ReadOptions: corpora.ReadOptions{MaxLineBytes: maxReviewBytes}, Format: ro.Format, Text: ro.Text, Header: ro.Header}
		if _, err := corpora.TextFormat("", to); err != nil {
			return usagef("--format: %v", strings.TrimPrefix(err.Error(), "corpora: "))
		}
	}
	if o.model != "" {
		if err := checkModelFile(o.model); err != nil {
			return err
		}
	}
	if err := checkQuantize(o.quantize); err != nil {
		return err
	}
	m, err := loadSentimentQuantized(o.model, o.quantize)
	if err != nil {
		return err
	}
	labels := m.Config.Labels
	listTop := c.Flags().Changed("top-k") // JSON gets the "top" list
	unit := "files"
	if o.lines {
		unit = "reviews"
	}
	colour := o.color == "always" || (o.color == "auto" && isTerminal(c.OutOrStdout()) && os.Getenv("NO_COLOR") == "")
	workers := o.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	// A progress line on the terminal while a folder or a file of reviews is
	// classified. (Without a terminal no bar is made at all: newProgress's
	// silent bar of unknown length still runs a ticking goroutine.) Lines
	// written to stderr meanwhile start by clearing the bar's line.
	var bar *progressbar.ProgressBar
	showBar := o.lines
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			showBar = true
		}
	}
	clearLine := ""
	if showBar && !g.quiet && stderrIsTerminal(c) {
		bar = newProgress(c, g, -1, "classifying")
		defer bar.Finish()
		clearLine = ansiClearLine
	}
	errLine := func(format string, a ...any) { c.PrintErr(clearLine + fmt.Sprintf(format, a...) + "\n") }

	// folders in name order within chunks of 4096 entries: a folder of
	// millions of files streams in bounded memory
	walk := corpora.ReviewOptions{Lines: o.lines, Text: to, Stdin: stdin, Walk: corpora.WalkOptions{Chunk: 4096}}
	text := func(rv *corpora.Review) (string, error) {
		if rv.Line > 0 && rv.Err != nil {
			rv.Err = recordProblem(rv.Err)
		}
		switch {
		case rv.Err != nil || rv.Skip:
			return "", cmp.Or(rv.Err, errSkipped)
		case !o.lines:
			return corpora.ReadReview(rv.Path, stdin, maxReviewBytes)
		}
		t := rv.Text
		rv.Text = "" // not kept while the review waits for its turn
		return t, nil
	}
	explain := ""
	if o.explain {
		explain = o.explainMethod
	}

	var stdout io.Writer = c.OutOrStdout()
	if clearLine != "" && isTerminal(stdout) {
		stdout = clearingWriter{w: stdout, clear: func() { c.PrintErr(clearLine) }}
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	pr := &classifyPrinter{o: o, labels: labels, listTop: listTop, colour: colour, quiet: g.quiet, out: out, bar: bar, errLine: errLine,
		counts: make([]int, len(labels))}
	err = sentiment.ClassifyStream(c.Context(), m, corpora.WalkReviews(args, walk), text,
		sentiment.StreamOptions{Batch: o.batch, Workers: workers, Explain: explain, Sync: pr.flush}, pr.emit)
	if pr.werr != nil && err == pr.werr {
		return pr.werr
	}
	if c.Context().Err() != nil { // Ctrl-C or SIGTERM, even while a read blocks
		out.Flush()
		return fmt.Errorf("interrupted after %d %s", pr.total, plural(pr.total, unit))
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if bar != nil {
		bar.Finish()
	}
	if !o.noSummary {
		status(c, g, "%s", pr.summary(unit))
	}
	if pr.failed > 0 {
		return fmt.Errorf("%d of %d %s could not be classified", pr.failed, pr.total, plural(pr.total, unit))
	}
	return nil
}

// classifyPrinter prints classify's results as they are delivered, in
// input order, and counts them for the summary.
type classifyPrinter struct {
	o               *classifyOptions
	labels          []string
	listTop, colour bool // JSON gets the "top" list; explanations are coloured
	quiet           bool
	out             *bufio.Writer
	bar             *progressbar.ProgressBar
	errLine         func(format string, a ...any)

	counts                 []int // per label
	failed, total, skipped int
	werr                   error // the first error writing to stdout
}

// writeObj writes obj, naming the review, as one JSON line.
func (p *classifyPrinter) writeObj(obj map[string]any, r corpora.Review) {
	obj["file"] = r.Path
	if r.Line > 0 {
		obj["line"] = r.Line
	}
	p.werr = cmpErr(p.werr, writeJSONLine(p.out, obj))
}

// emit prints one review's result.
func (p *classifyPrinter) emit(r corpora.Review, res sentiment.Classified) {
	if r.Skip {
		p.skipped++
		if !p.quiet {
			p.out.Flush()
			p.errLine("rnnkit: %s: skipped: %v", reviewName(r), r.Err)
		}
		return
	}
	p.total++
	if p.bar != nil {
		p.bar.Add(1)
	}
	if res.Err != nil {
		p.failed++
		if p.o.asJSON {
			p.writeObj(map[string]any{"error": res.Err.Error()}, r)
		} else if p.o.lines && r.Line > 0 {
			p.out.WriteByte('\n') // the review keeps its place
		}
		p.out.Flush()
		p.errLine("rnnkit: %s: %v", reviewName(r), res.Err)
		return
	}
	pred, expl := res.Prediction, res.Explanation
	p.counts[pred.Class]++
	top := topK(pred.Probs, p.o.k)
	if p.o.asJSON {
		obj := map[string]any{"label": pred.Label, "probability": round4(pred.Probability)}
		if p.o.probs {
			pm := map[string]float64{}
			for k, l := range p.labels {
				pm[l] = round4(pred.Probs[k])
			}
			obj["probabilities"] = pm
		}
		if p.listTop {
			var tl []map[string]any
			for _, k := range top {
				tl = append(tl, map[string]any{"label": p.labels[k], "probability": round4(pred.Probs[k])})
			}
			obj["top"] = tl
		}
		if expl != nil {
			toks := make([]map[string]any, len(expl.Tokens))
			for i, ts := range expl.Tokens {
				toks[i] = map[string]any{"token": ts.Token, "score": math.Round(ts.Score*1e6) / 1e6}
			}
			obj["explanation"], obj["explanation_method"] = toks, expl.Method
		}
		p.writeObj(obj, r)
		return
	}
	if !p.o.lines {
		p.out.WriteString(r.Path)
		p.out.WriteByte('\t')
	}
	for i, k := range top {
		if i > 0 {
			p.out.WriteByte('\t')
		}
		fmt.Fprintf(p.out, "%s\t%.4f", p.labels[k], pred.Probs[k])
	}
	if p.o.probs {
		for k, l := range p.labels {
			fmt.Fprintf(p.out, "\t%s=%.4f", l, pred.Probs[k])
		}
	}
	if expl != nil {
		p.out.WriteByte('\t')
		writeExplanation(p.out, expl, p.colour)
	}
	p.out.WriteByte('\n')
}

// flush prints each batch as it completes (when no other result is ready),
// and stops the stream once stdout is closed (e.g. piped into head).
func (p *classifyPrinter) flush(idle bool) error {
	if p.werr == nil && idle {
		p.werr = p.out.Flush()
	}
	return p.werr
}

// summary is the counts per label that end stderr.
func (p *classifyPrinter) summary(unit string) string {
	var parts []string
	for k, l := range p.labels {
		parts = append(parts, fmt.Sprintf("%d %s", p.counts[k], l))
	}
	summary := fmt.Sprintf("%d %s: %s, %d failed", p.total, plural(p.total, unit), strings.Join(parts, ", "), p.failed)
	if p.skipped > 0 {
		summary += fmt.Sprintf(", %d skipped", p.skipped)
	}
	return summary
}

// plural is units ("files", "reviews") for n != 1, else the singular.
func plural(n int, units string) string {
	if n == 1 {
		return strings.TrimSuffix(units, "s")
	}
	return units
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func round4(x float32) float64 { return math.Round(float64(x)*1e4) / 1e4 }

// ---- eval ----

func newEvalSentimentCmd(g *globalOptions) *cobra.Command {
	var model, data, plotPath, quant string
	var asJSON bool
	d := &dataFlags{}
	c := &cobra.Command{
		Use:   "sentiment --data PATH [--model MODEL]",
		Short: "Measure a review classifier: accuracy, precision/recall/F1, confusion matrix, ROC AUC",
		Long: `Evaluate a review classifier on labelled reviews (the same layouts as
"rnnkit train sentiment": class folders, TSV/CSV or JSONL). Labels must be the
model's classes (for the default model 0/1, neg/pos or negative/positive).

Reports accuracy, mean cross entropy, per-class precision, recall and F1,
macro F1, the confusion matrix (rows: true class, columns: predicted) and, for
two classes, the ROC AUC of the second class's probability.`,
		Example: `  rnnkit eval sentiment --data aclImdb/test
  rnnkit eval sentiment --model stars.safetensors --data test.csv --header --text-col review --label-col stars
  rnnkit eval sentiment --data test.tsv --json --plot confusion.png`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if data == "" {
				return usagef("--data is required")
			}
			if err := checkQuantize(quant); err != nil {
				return err
			}
			m, err := loadSentimentQuantized(model, quant)
			if err != nil {
				return err
			}
			raw, err := readLabelled(c, g, data, d)
			if err != nil {
				return err
			}
			ex, err := sentiment.ToExamples(raw, m.Config.Labels)
			if err != nil {
				return fmt.Errorf("%s: %v", data, err)
			}
			t0 := time.Now()
			r, err := m.EvaluateWith(ex, sentiment.EvalOptions{Workers: runtime.GOMAXPROCS(0)})
			if err != nil {
				return err
			}
			status(c, g, "evaluated %d reviews in %s", r.N, time.Since(t0).Round(time.Millisecond))
			if plotPath != "" {
				if err := plotConfusion(plotPath, r); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(c, reportJSON(r))
			}
			printReport(c.OutOrStdout(), r)
			return nil
		},
	}
	c.Flags().StringVar(&model, "model", "", "model file (default: the embedded IMDB model)")
	c.Flags().StringVar(&data, "data", "", "labelled reviews (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object with every figure")
	c.Flags().StringVar(&plotPath, "plot", "", "draw the confusion matrix to this PNG")
	addQuantizeFlag(c, &quant)
	d.add(c)
	return c
}

// nanNull turns NaN into nil so the figure prints as JSON null.
func nanNull(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return math.Round(x*1e6) / 1e6
}

func reportJSON(r sentiment.Report) map[string]any {
	var classes []map[string]any
	for _, cr := range r.Classes {
		classes = append(classes, map[string]any{"label": cr.Label, "precision": nanNull(cr.Precision),
			"recall": nanNull(cr.Recall), "f1": nanNull(cr.F1), "support": cr.Support})
	}
	return map[string]any{"n": r.N, "accuracy": nanNull(r.Accuracy), "loss": nanNull(r.Loss), "macro_f1": nanNull(r.MacroF1),
		"roc_auc": nanNull(r.AUC), "classes": classes, "confusion": r.Confusion}
}

func fmtNaN(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.4f", x)
}

func printReport(w io.Writer, r sentiment.Report) {
	fmt.Fprintf(w, "reviews   %d\naccuracy  %.4f\nloss      %.4f\nmacro F1  %.4f\n", r.N, r.Accuracy, r.Loss, r.MacroF1)
	if !math.IsNaN(r.AUC) {
		fmt.Fprintf(w, "ROC AUC   %.4f\n", r.AUC)
	}
	width := 9
	for _, cr := range r.Classes {
		width = max(width, len(cr.Label)+1)
	}
	fmt.Fprintf(w, "\n%-*s %9s %9s %9s %9s\n", width, "class", "precision", "recall", "F1", "support")
	for _, cr := range r.Classes {
		fmt.Fprintf(w, "%-*s %9s %9s %9s %9d\n", width, cr.Label, fmtNaN(cr.Precision), fmtNaN(cr.Recall), fmtNaN(cr.F1), cr.Support)
	}
	fmt.Fprintf(w, "\nconfusion (rows: true, columns: predicted)\n%-*s", width, "")
	for _, cr := range r.Classes {
		fmt.Fprintf(w, " %9s", cr.Label)
	}
	fmt.Fprintln(w)
	for i, row := range r.Confusion {
		fmt.Fprintf(w, "%-*s", width, r.Classes[i].Label)
		for _, v := range row {
			fmt.Fprintf(w, " %9d", v)
		}
		fmt.Fprintln(w)
	}
}

// confusionGrid adapts a confusion matrix to plotter.GridXYZ (row 0 on top).
type confusionGrid [][]int

func (g confusionGrid) Dims() (c, r int)   { return len(g), len(g) }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }
func (g confusionGrid) Z(c, r int) float64 { return float64(g[len(g)-1-r][c]) }

func plotConfusion(path string, r sentiment.Report) error {
	n := len(r.Confusion)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("confusion matrix (accuracy %.4f)", r.Accuracy)
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "true"
	hm := plotter.NewHeatMap(confusionGrid(r.Confusion), moreland.SmoothBlueRed().Palette(64))
	p.Add(hm)
	var xys plotter.XYs
	var txt []string
	for i, row := range r.Confusion {
		for j, v := range row {
			xys = append(xys, plotter.XY{X: float64(j), Y: float64(n - 1 - i)})
			txt = append(txt, strconv.Itoa(v))
		}
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: txt})
	if err != nil {
		return err
	}
	p.Add(lb)
	var xt, yt []plot.Tick
	for i, cr := range r.Classes {
		xt = append(xt, plot.Tick{Value: float64(i), Label: cr.Label})
		yt = append(yt, plot.Tick{Value: float64(n - 1 - i), Label: cr.Label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(xt)
	p.Y.Tick.Marker = plot.ConstantTicks(yt)
	size := vg.Length(2+n) * vg.Inch
	if err := p.Save(size, size, path); err != nil {
		return fmt.Errorf("plot %s: %v", path, err)
	}
	return nil
}
