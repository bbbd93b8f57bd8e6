package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/embed"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/spf13/cobra"
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

// dataFlags are the flags that select the layout of labelled data.
type dataFlags struct {
	format, textCol, labelCol, textField, labelField string
	header                                           bool
}

func (d *dataFlags) add(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&d.format, "format", "auto", "data layout: auto, imdb-dir (pos/ and neg/ folders, or one folder per class), tsv, csv or jsonl")
	f.StringVar(&d.textCol, "text-col", "", "TSV/CSV text column: header name or 0-based index (default 0)")
	f.StringVar(&d.labelCol, "label-col", "", "TSV/CSV label column: header name or index, negative from the end (default: last)")
	f.StringVar(&d.textField, "text-field", "", "JSONL text field (default \"text\"; dots reach into objects)")
	f.StringVar(&d.labelField, "label-field", "", "JSONL label field (default \"label\")")
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
	cfg                                 sentiment.Config
	opt                                 sentiment.TrainOptions
	dataFlags                           dataFlags
	noBidirectional                     bool
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

--val-frac of every data file (a seeded shuffle, --split-seed) is held out
for validation unless --val-data is given. The best model by validation
accuracy is written to --out whenever it improves, so stopping early never
loses it. A checkpoint (default: OUT.ckpt) is written at every evaluation and
on Ctrl-C; --resume CHECKPOINT continues exactly where it stopped (give the
same data and flags).

Reviews are cut to --max-len tokens by --truncate: head (first tokens), tail
(last) or head+tail (first quarter and last three quarters); the model keeps
the policy, and classify applies it too. --word2vec-epochs N first learns
skip-gram vectors from the training text to initialise the embedding;
--vectors loads pretrained ones (word2vec, GloVe or fastText .vec).`,
		Example: `  rnnkit train sentiment --data aclImdb/train --out imdb.safetensors
  rnnkit train sentiment --data train.tsv --out m.safetensors --epochs 3 --plot loss.png
  rnnkit train sentiment --data reviews.csv --header --text-col review --label-col stars --out stars.safetensors
  rnnkit train sentiment --data reviews.jsonl --text-field body --label-field rating --class-weights balanced --out m.safetensors
  rnnkit train sentiment --data train.tsv --out m.safetensors --word2vec-epochs 3 --pooling max+mean --cell gru
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
	f.Uint64Var(&o.splitSeed, "split-seed", 1, "seed of the validation split")
	f.IntVar(&o.limit, "limit", 0, "use only the first N examples of each data file (0 = all)")
	f.StringVar(&o.resume, "resume", "", "continue from this checkpoint")
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint path (default: OUT.ckpt)")
	f.IntVar(&o.opt.CheckpointEvery, "checkpoint-every", 0, "steps between checkpoints (default: every evaluation)")
	f.StringVar(&o.plot, "plot", "", "draw the loss and accuracy curves to this PNG")
	f.StringVar(&o.dtype, "dtype", "f32", "storage type of --out: f32 or f16 (half the size)")
	f.StringVar(&o.tokKind, "tokenizer", "word", "tokenizer trained on the data: word or bpe")
	f.IntVar(&o.vocab, "vocab", 25000, "vocabulary size, specials included")
	f.IntVar(&o.minFreq, "min-freq", 2, "drop words seen fewer times (word tokenizer)")
	f.StringVar(&o.vectors, "vectors", "", "pretrained word vectors for the embedding (word2vec text/binary, GloVe, .vec)")
	f.IntVar(&o.w2vEpochs, "word2vec-epochs", 0, "pretrain the embedding with skip-gram on the training text for N epochs (0 = off)")
	f.StringVar(&o.cell, "cell", "lstm", "recurrent cell: lstm or gru (rnn_tanh, rnn_relu also work)")
	f.IntVar(&o.cfg.Embedding, "embedding", 128, "embedding width")
	f.IntVar(&o.cfg.Hidden, "hidden", 128, "hidden units per layer and direction")
	f.IntVar(&o.cfg.Layers, "layers", 1, "stacked recurrent layers")
	f.BoolVar(&o.noBidirectional, "unidirectional", false, "one direction only (default: bidirectional)")
	f.StringVar(&o.cfg.Pooling, "pooling", "max+mean", "pooling over time: max, mean, last, attention, or several joined with +")
	f.Float32Var(&o.cfg.Dropout, "dropout", 0.3, "dropout between layers and on the pooled features")
	f.Float32Var(&o.cfg.EmbDropout, "emb-dropout", 0.1, "dropout on the embedding")
	f.IntVar(&o.cfg.MaxLen, "max-len", 400, "longest review in tokens; longer ones are cut by --truncate")
	f.StringVar(&o.cfg.Truncate, "truncate", "head+tail", "how long reviews are cut: head, tail or head+tail")
	f.IntVar(&o.opt.Batch, "batch", 32, "reviews per step (batches hold reviews of similar length)")
	f.Float64Var(&o.opt.Epochs, "epochs", 4, "passes over the training data")
	f.Float64Var(&o.opt.LR, "lr", 2e-3, "peak Adam learning rate (cosine schedule with warm-up)")
	f.IntVar(&o.opt.Warmup, "warmup", 100, "warm-up steps")
	f.Float64Var(&o.opt.Clip, "clip", 5, "global gradient-norm clip (negative = off)")
	f.Float64Var(&o.opt.WeightDecay, "weight-decay", 0, "L2 weight decay")
	f.StringVar(&o.classWeights, "class-weights", "", `class weights in the loss: "balanced" or one number per class, comma-separated (default: none)`)
	f.Float32Var(&o.opt.LabelSmoothing, "label-smoothing", 0, "label smoothing ε")
	f.IntVar(&o.opt.EvalEvery, "eval-every", 0, "steps between validation passes (default: 2 per epoch)")
	f.IntVar(&o.opt.Patience, "patience", 0, "early stopping: stop after this many evaluations without improvement (0 = off)")
	f.Uint64Var(&o.opt.Seed, "seed", 1, "random seed (initialization, batch order, dropout)")
	f.BoolVar(&o.opt.SkipNonFinite, "skip-nonfinite", false, "skip steps with a NaN/Inf loss or gradient instead of stopping")
	return c
}

func runTrainSentiment(c *cobra.Command, g *globalOptions, o *trainSentimentOptions) error {
	if len(o.data) == 0 || o.out == "" {
		return usagef("--data and --out are required")
	}
	dtype, err := parseDType(o.dtype)
	if err != nil {
		return err
	}
	cell, err := rnn.ParseCell(o.cell)
	if err != nil {
		return usageError{err}
	}
	if o.valData == "" && (o.valFrac <= 0 || o.valFrac >= 1) {
		return usagef("--val-frac must be in (0, 1), got %v", o.valFrac)
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
	var rawTrain, rawVal [][]sentiment.RawExample
	for _, p := range o.data {
		raw, err := readLabelled(c, g, p, &o.dataFlags)
		if err != nil {
			return err
		}
		if o.limit > 0 && len(raw) > o.limit {
			raw = raw[:o.limit]
		}
		rawTrain = append(rawTrain, raw)
	}
	if o.valData != "" {
		raw, err := readLabelled(c, g, o.valData, &o.dataFlags)
		if err != nil {
			return err
		}
		rawVal = append(rawVal, raw)
	}
	var labels []string
	for _, part := range append(slices.Clone(rawTrain), rawVal...) {
		for _, r := range part {
			labels = append(labels, r.Label)
		}
	}
	names := sentiment.ClassNames(labels)
	if len(names) < 2 {
		return fmt.Errorf("the data has only the label %q; a classifier needs at least two classes", names[0])
	}
	if len(names) > 100 {
		return fmt.Errorf("the data has %d distinct labels; is the label column right? (--label-col)", len(names))
	}
	var data sentiment.Data
	for i, part := range rawTrain {
		ex, err := sentiment.ToExamples(part, names)
		if err != nil {
			return fmt.Errorf("%s: %v", o.data[i], err)
		}
		if o.valData != "" {
			data.Train = append(data.Train, ex...)
			continue
		}
		tr, va := sentiment.SplitExamples(ex, o.valFrac, o.splitSeed)
		data.Train, data.Val = append(data.Train, tr...), append(data.Val, va...)
	}
	if o.valData != "" {
		if data.Val, err = sentiment.ToExamples(rawVal[0], names); err != nil {
			return fmt.Errorf("%s: %v", o.valData, err)
		}
	}
	if len(data.Val) == 0 || len(data.Train) == 0 {
		return fmt.Errorf("%d training and %d validation examples; need at least one of each (more data or a larger --val-frac)", len(data.Train), len(data.Val))
	}
	switch o.classWeights {
	case "", "none":
	case "balanced":
		o.opt.ClassWeights = sentiment.BalancedWeights(data.Train, len(names))
	default:
		parts := strings.Split(o.classWeights, ",")
		if len(parts) != len(names) {
			return usagef("--class-weights has %d numbers for %d classes (%s)", len(parts), len(names), strings.Join(names, ", "))
		}
		for _, p := range parts {
			w, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
			if err != nil || w < 0 || math.IsInf(w, 0) {
				return usagef("--class-weights: %q is not a non-negative number", p)
			}
			o.opt.ClassWeights = append(o.opt.ClassWeights, float32(w))
		}
	}
	o.opt.BestPath, o.opt.BestDType = o.out, dtype
	o.opt.CheckpointPath = checkpointPath(o.checkpoint, o.out)
	bar := newTrainingBar(c, g)
	report := func(p sentiment.Progress) {
		bar.update(p.Step, p.Steps, fmt.Sprintf("epoch %.2f loss %.3f val acc %s best %s %.0f tok/s", p.Epoch, p.Loss, fmtOr("%.4f", p.ValAcc), fmtOr("%.4f", p.BestValAcc), p.TokensPerSec))
		if p.Evaluated && bar.logs() {
			status(c, g, "step %d/%d epoch %.2f loss %.4f val loss %.4f val acc %.4f best %.4f lr %.2e %.0f tokens/s %s",
				p.Step, p.Steps, p.Epoch, p.Loss, p.ValLoss, p.ValAcc, p.BestValAcc, p.LR, p.TokensPerSec, p.Elapsed.Round(time.Second))
		}
	}
	start := time.Now()
	var m *sentiment.Model
	var res sentiment.Result
	if o.resume != "" {
		status(c, g, "resuming from %s", o.resume)
		m, res, err = sentiment.Resume(c.Context(), o.resume, data, o.opt, report)
		if err == nil && !slices.Equal(m.Config.Labels, names) {
			return fmt.Errorf("the checkpoint's classes (%s) differ from the data's (%s)", strings.Join(m.Config.Labels, ", "), strings.Join(names, ", "))
		}
	} else {
		m, err = newSentimentModel(c, g, o, cell, names, data)
		if err != nil {
			return err
		}
		status(c, g, "training %s %dx%d%s, %s pooling (%d parameters, vocab %d, classes %s) on %d reviews, validating on %d",
			cell, o.cfg.Layers, o.cfg.Hidden, map[bool]string{true: " bidirectional", false: ""}[m.Config.Bidirectional],
			m.Config.Pooling, m.Params.Len(), m.Config.Vocab, strings.Join(names, "/"), len(data.Train), len(data.Val))
		res, err = sentiment.Train(c.Context(), m, data, o.opt, report)
	}
	if err := bar.finish(err, res.Steps, o.opt.CheckpointPath); err != nil {
		return err
	}
	if o.plot != "" && len(res.History) > 0 {
		var tr, va, acc plotter.XYs
		for _, p := range res.History {
			tr = append(tr, plotter.XY{X: float64(p.Step), Y: p.Loss})
			va = append(va, plotter.XY{X: float64(p.Step), Y: p.ValLoss})
			acc = append(acc, plotter.XY{X: float64(p.Step), Y: p.ValAcc})
		}
		if err := plotLoss(o.plot, "sentiment training", "loss (nats) / accuracy",
			lossCurve{"train loss", tr}, lossCurve{"validation loss", va}, lossCurve{"validation accuracy", acc}); err != nil {
			return err
		}
	}
	if res.BestValAcc < 0 {
		return errors.New("training ended before the first evaluation; no model written")
	}
	m.Meta["quality.val_accuracy"] = fmt.Sprintf("%.4f", res.BestValAcc)
	m.Meta["quality.val_loss"] = fmt.Sprintf("%.4f", res.BestValLoss)
	m.Meta["training_time"] = time.Since(start).Round(time.Second).String()
	if err := m.Save(o.out, dtype); err != nil {
		return err
	}
	status(c, g, "%s after %d steps (%s): best validation accuracy %.4f (loss %.4f) at step %d; model written to %s",
		res.Stopped, res.Steps, time.Since(start).Round(time.Second), res.BestValAcc, res.BestValLoss, res.BestStep, o.out)
	return nil
}

// newSentimentModel trains the tokenizer on the training texts and builds
// and initialises the model, with pretrained vectors if asked.
func newSentimentModel(c *cobra.Command, g *globalOptions, o *trainSentimentOptions, cell rnn.Cell, names []string, data sentiment.Data) (*sentiment.Model, error) {
	var corpus bytes.Buffer
	for _, e := range data.Train {
		corpus.WriteString(sentiment.Clean(e.Text))
		corpus.WriteByte('\n')
	}
	var tok tokenize.Tokenizer
	var err error
	if o.tokKind == "bpe" {
		tok, err = tokenize.TrainBPE(&corpus, tokenize.BPEOptions{VocabSize: o.vocab, Lowercase: true, MinFreq: o.minFreq})
	} else {
		tok, err = tokenize.TrainWord(&corpus, tokenize.WordOptions{Lowercase: true, NFC: true, SplitPunct: true, MinFreq: o.minFreq, MaxVocab: o.vocab})
	}
	if err != nil {
		return nil, err
	}
	o.cfg.Cell, o.cfg.Labels, o.cfg.Bidirectional = cell, names, !o.noBidirectional
	m, err := sentiment.New(o.cfg, tok)
	if err != nil {
		return nil, usageError{err}
	}
	m.Meta["trained_on"] = strings.Join(o.data, ", ")
	m.Init(rand.New(rand.NewPCG(o.opt.Seed, 0x696e6974)))
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
		texts := make([]string, len(data.Train))
		for i, e := range data.Train {
			texts[i] = e.Text
		}
		t0 := time.Now()
		found, err := m.PretrainEmbedding(c.Context(), texts, embed.Word2VecOptions{Epochs: o.w2vEpochs, MinCount: 1, Seed: o.opt.Seed}, nil)
		if err != nil {
			return nil, err
		}
		status(c, g, "embedding: skip-gram vectors for %d of %d words (%d epochs, %s)", found, m.Config.Vocab, o.w2vEpochs, time.Since(t0).Round(time.Second))
	}
	return m, nil
}

// ---- classify ----

// maxReviewBytes is the largest file classify reads as one review.
const maxReviewBytes = 10 << 20

// reviewText checks that b is a review: not empty, not binary, UTF-8.
func reviewText(b []byte) (string, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return "", errors.New("file is empty")
	}
	if i := bytes.IndexByte(b[:min(len(b), 8000)], 0); i >= 0 {
		return "", fmt.Errorf("binary file (NUL byte at offset %d); give a UTF-8 text file", i)
	}
	if !utf8.Valid(b) {
		line := 1
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return "", fmt.Errorf("invalid UTF-8 on line %d (byte 0x%02x at offset %d); convert the file to UTF-8", line, b[i], i)
			}
			if r == '\n' {
				line++
			}
			i += n
		}
	}
	return string(b), nil
}

// readReview reads one review file (or stdin for "-").
func readReview(path string, stdin io.Reader) (string, error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", errors.Unwrap(err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return "", errors.Unwrap(err)
		}
		if st.IsDir() {
			return "", errors.New("is a directory")
		}
		if st.Size() > maxReviewBytes {
			return "", fmt.Errorf("file of %.1f MB is too large for one review (the limit is %d MB)", float64(st.Size())/1e6, maxReviewBytes>>20)
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxReviewBytes+1))
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err
		}
		return "", err
	}
	if len(b) > maxReviewBytes {
		return "", fmt.Errorf("more than %d MB: too large for one review", maxReviewBytes>>20)
	}
	return reviewText(b)
}

type classifyJob struct {
	seq  int
	path string
	err  error // set by the walker (unreadable folder, missing path)
}

type classifyResult struct {
	seq  int
	file string
	pred sentiment.Prediction
	err  error
}

// walkReviews sends every file under the paths to jobs, in order: files
// as given, folders recursively (entries sorted in chunks of 4096, so that
// a folder of millions of files is streamed in bounded memory; hidden
// entries skipped). acquire blocks while too many jobs are in flight.
func walkReviews(ctx context.Context, paths []string, send func(classifyJob) bool) {
	seq := 0
	emit := func(p string, err error) bool {
		ok := send(classifyJob{seq: seq, path: p, err: err})
		seq++
		return ok
	}
	var walkDir func(dir string) bool
	walkDir = func(dir string) bool {
		f, err := os.Open(dir)
		if err != nil {
			return emit(dir, errors.Unwrap(err))
		}
		defer f.Close()
		for {
			if ctx.Err() != nil {
				return false
			}
			entries, err := f.ReadDir(4096)
			slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					continue
				}
				p := filepath.Join(dir, e.Name())
				isDir := e.IsDir()
				if e.Type()&fs.ModeSymlink != 0 {
					if st, err := os.Stat(p); err == nil && st.IsDir() {
						isDir = false // do not follow folder symlinks (no cycles)
						continue
					}
				}
				if isDir {
					if !walkDir(p) {
						return false
					}
				} else if !emit(p, nil) {
					return false
				}
			}
			if err == io.EOF {
				return true
			}
			if err != nil {
				return emit(dir, errors.Unwrap(err))
			}
		}
	}
	for _, p := range paths {
		if p == "-" {
			if !emit(p, nil) {
				return
			}
			continue
		}
		st, err := os.Stat(p)
		switch {
		case err != nil:
			if !emit(p, errors.Unwrap(err)) {
				return
			}
		case st.IsDir():
			if !walkDir(p) {
				return
			}
		default:
			if !emit(p, nil) {
				return
			}
		}
	}
}

type classifyOptions struct {
	model     string
	asJSON    bool
	batch     int
	workers   int
	probs     bool
	noSummary bool
}

func newClassifyCmd(g *globalOptions) *cobra.Command {
	o := &classifyOptions{}
	c := &cobra.Command{
		Use:   "classify [--model MODEL] [--json] PATH...",
		Short: "Classify review files as positive or negative (default: the IMDB model)",
		Long: `Classify reviews: each file is one review. PATH may be a file, a folder (read
recursively; hidden files skipped) or - for standard input. Without --model the
embedded default model is used: a BiLSTM trained on the IMDB movie reviews,
with the classes negative and positive.

Each file gets one line: file, label and the label's probability (or, with
--json, one object per line: {"file", "label", "probability"}), in the order
of the arguments and, inside a folder, of the file names; then a summary
(stderr with --json). A file that cannot be classified (empty, binary, not
UTF-8, unreadable, larger than 10 MB) gets an error line instead
({"file", "error"} with --json) and the run goes on; the exit status is 1 if
any file failed.

Long reviews are cut as the model was trained (by default the first 100 and
the last 300 tokens of reviews longer than 400 tokens). Folders are streamed
through both cores in batches, so memory stays flat whatever their size.`,
		Example: `  rnnkit classify review.txt
  echo "A wonderful, moving film." | rnnkit classify -
  rnnkit classify --json reviews/ > labels.jsonl
  rnnkit classify --model stars.safetensors --probs a.txt b.txt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runClassify(c, g, o, args) },
	}
	f := c.Flags()
	f.StringVar(&o.model, "model", "", "model file (default: the embedded IMDB model)")
	f.BoolVar(&o.asJSON, "json", false, `one JSON object per line: {"file", "label", "probability"} or {"file", "error"}`)
	f.BoolVar(&o.probs, "probs", false, "also print the probability of every class")
	f.BoolVar(&o.noSummary, "no-summary", false, "do not print the summary")
	f.IntVar(&o.batch, "batch", 32, "reviews classified together")
	f.IntVar(&o.workers, "workers", 0, "parallel classifiers (default: the number of cores)")
	return c
}

func runClassify(c *cobra.Command, g *globalOptions, o *classifyOptions, args []string) error {
	if o.batch <= 0 {
		return usagef("--batch must be positive, got %d", o.batch)
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
	m, err := loadSentiment(o.model)
	if err != nil {
		return err
	}
	workers := o.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(c.Context())
	defer cancel()
	inflight := make(chan struct{}, 4*o.batch*workers) // bounds jobs not yet printed
	jobs := make(chan classifyJob, o.batch*workers)
	results := make(chan classifyResult, o.batch*workers)
	go func() {
		defer close(jobs)
		walkReviews(ctx, args, func(j classifyJob) bool {
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- j:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	stdin := c.InOrStdin()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []classifyJob
			var ids [][]int32
			var ok []classifyJob
			for j := range jobs {
				batch = append(batch[:0], j)
			gather:
				for len(batch) < o.batch {
					select {
					case j2, more := <-jobs:
						if !more {
							break gather
						}
						batch = append(batch, j2)
					default:
						break gather
					}
				}
				ids, ok = ids[:0], ok[:0]
				for _, j := range batch {
					if j.err == nil {
						var text string
						text, j.err = readReview(j.path, stdin)
						if j.err == nil {
							ids = append(ids, m.Encode(text))
							ok = append(ok, j)
							continue
						}
					}
					results <- classifyResult{seq: j.seq, file: j.path, err: j.err}
				}
				for i, p := range m.PredictIDs(ids) {
					results <- classifyResult{seq: ok[i].seq, file: ok[i].path, pred: p}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	out := bufio.NewWriter(c.OutOrStdout())
	defer out.Flush()
	counts := make([]int, len(m.Config.Labels))
	failed, total := 0, 0
	pending := map[int]classifyResult{}
	next := 0
	var werr error
	emit := func(r classifyResult) {
		total++
		if r.err != nil {
			failed++
			if o.asJSON {
				werr = cmpErr(werr, writeJSONTo(out, map[string]any{"file": r.file, "error": r.err.Error()}))
			} else {
				out.Flush()
				c.PrintErrf("rnnkit: %s: %v\n", r.file, r.err)
			}
			return
		}
		counts[r.pred.Class]++
		if o.asJSON {
			obj := map[string]any{"file": r.file, "label": r.pred.Label, "probability": round4(r.pred.Probability)}
			if o.probs {
				pm := map[string]float64{}
				for k, l := range m.Config.Labels {
					pm[l] = round4(r.pred.Probs[k])
				}
				obj["probabilities"] = pm
			}
			werr = cmpErr(werr, writeJSONTo(out, obj))
			return
		}
		fmt.Fprintf(out, "%s\t%s\t%.4f", r.file, r.pred.Label, r.pred.Probability)
		if o.probs {
			for k, l := range m.Config.Labels {
				fmt.Fprintf(out, "\t%s=%.4f", l, r.pred.Probs[k])
			}
		}
		out.WriteByte('\n')
	}
	for r := range results {
		pending[r.seq] = r
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			emit(p)
			<-inflight
		}
		if werr != nil { // stdout closed (e.g. piped into head): stop
			cancel()
			for range results {
			}
			return werr
		}
	}
	if err := c.Context().Err(); err != nil {
		return err
	}
	if !o.noSummary {
		var parts []string
		for k, l := range m.Config.Labels {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], l))
		}
		summary := fmt.Sprintf("%d files: %s, %d failed", total, strings.Join(parts, ", "), failed)
		if o.asJSON {
			out.Flush()
			status(c, g, "%s", summary)
		} else {
			fmt.Fprintf(out, "# %s\n", summary)
		}
	}
	if failed > 0 {
		out.Flush()
		return fmt.Errorf("%d of %d files could not be classified", failed, total)
	}
	return nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func round4(x float32) float64 { return math.Round(float64(x)*1e4) / 1e4 }

func writeJSONTo(w *bufio.Writer, v any) error {
	b, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

// ---- eval ----

func newEvalSentimentCmd(g *globalOptions) *cobra.Command {
	var model, data, plotPath string
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
			m, err := loadSentiment(model)
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
			r, err := evaluateParallel(m, ex)
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
	d.add(c)
	return c
}

// evaluateParallel runs Evaluate on both cores (halves of the examples) and
// merges the probabilities.
func evaluateParallel(m *sentiment.Model, ex []sentiment.Example) (sentiment.Report, error) {
	texts := make([]string, len(ex))
	labels := make([]int, len(ex))
	for i, e := range ex {
		texts[i], labels[i] = e.Text, e.Label
	}
	ids := m.EncodeAll(texts)
	C := len(m.Config.Labels)
	probs := make([]float32, len(ex)*C)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*len(ids)/workers, (w+1)*len(ids)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, p := range m.PredictIDs(ids[lo:hi]) {
				copy(probs[(lo+i)*C:(lo+i+1)*C], p.Probs)
			}
		}()
	}
	wg.Wait()
	return sentiment.Score(m.Config.Labels, labels, probs), nil
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

// jsonMarshal encodes v as compact JSON without HTML escaping.
func jsonMarshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
