package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/spf13/cobra"
	"gonum.org/v1/plot/plotter"
)

func addCharRNNCommands(root, train, eval *cobra.Command, g *globalOptions) {
	root.AddCommand(newGenerateCmd(g), newModelsCmd())
	train.AddCommand(newTrainCharRNNCmd(g))
	eval.AddCommand(newEvalCharRNNCmd(g))
}

// loadCharRNN loads --model, or the embedded default when path is empty.
func loadCharRNN(path string) (*charrnn.Model, error) {
	return loadModel(path, charrnn.Kind, charrnn.Load, charrnn.LoadBytes)
}

// readTextFile reads a whole UTF-8 text file for training or evaluation,
// with errors that name the file and the problem.
func readTextFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s is a directory; give a text file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if len(b) == 0 {
		return "", fmt.Errorf("%s: file is empty", path)
	}
	if i := strings.IndexByte(string(b[:min(len(b), 8000)]), 0); i >= 0 {
		return "", fmt.Errorf("%s: binary file (NUL byte at offset %d); give a UTF-8 text file", path, i)
	}
	if !utf8.Valid(b) {
		line := 1
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return "", fmt.Errorf("%s:%d: invalid UTF-8 (byte 0x%02x at offset %d); convert the file to UTF-8", path, line, b[i], i)
			}
			if r == '\n' {
				line++
			}
			i += n
		}
	}
	return string(b), nil
}

func newGenerateCmd(g *globalOptions) *cobra.Command {
	var (
		model  string
		seed   string
		opt    charrnn.SampleOptions
		rseed  int64
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "generate",
		Short: "Generate text with a character-level model (default: tiny Shakespeare LSTM)",
		Long: `Generate text one character at a time from a character-level RNN.

The whole --seed text warms up the model's state first; generation continues
from it and streams to stdout as it is produced. Without --model the embedded
default model is used: a 2-layer LSTM trained on tiny Shakespeare.

A seed character the model never saw is an error; --skip-unknown drops such
characters instead.`,
		Example: `  rnnkit generate --seed "ROMEO:"
  rnnkit generate --seed "JULIET:" -n 1000 --temperature 0.6 --rng-seed 7
  rnnkit generate --model my.safetensors --seed "Once upon" --top-p 0.9
  rnnkit generate --greedy -n 200`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opt.N < 0 {
				return usagef("-n must be >= 0, got %d", opt.N)
			}
			if opt.Temperature <= 0 || math.IsNaN(opt.Temperature) {
				return usagef("--temperature must be > 0, got %v", opt.Temperature)
			}
			if opt.TopP < 0 || opt.TopP > 1 {
				return usagef("--top-p must be in [0, 1], got %v", opt.TopP)
			}
			if opt.TopK < 0 {
				return usagef("--top-k must be >= 0, got %d", opt.TopK)
			}
			if !utf8.ValidString(seed) {
				return usagef("--seed is not valid UTF-8")
			}
			m, err := loadCharRNN(model)
			if err != nil {
				return err
			}
			if c.Flags().Changed("rng-seed") {
				opt.Seed = uint64(rseed)
			} else {
				opt.Seed = rand.Uint64()
			}
			if asJSON {
				var b strings.Builder
				if err := m.Generate(c.Context(), seed, opt, func(s string) error { b.WriteString(s); return nil }); err != nil {
					return err
				}
				return writeJSON(c, map[string]any{"seed": seed, "text": b.String(), "rng_seed": opt.Seed})
			}
			w := bufio.NewWriter(c.OutOrStdout())
			defer w.Flush()
			printed := false // the seed is echoed once it is known to be valid
			err = m.Generate(c.Context(), seed, opt, func(s string) error {
				if !printed {
					w.WriteString(seed)
					printed = true
				}
				w.WriteString(s)
				if s == "\n" {
					return w.Flush() // stream line by line
				}
				return nil
			})
			if errors.Is(err, context.Canceled) {
				err = nil
			}
			if errors.Is(err, charrnn.ErrUnknownChar) {
				return fmt.Errorf("%v; pass --skip-unknown to drop such characters", err)
			}
			if err != nil {
				return err
			}
			if !printed {
				w.WriteString(seed)
			}
			return w.WriteByte('\n')
		},
	}
	f := c.Flags()
	f.StringVar(&model, "model", "", "model file (default: the embedded tiny Shakespeare model)")
	f.StringVar(&seed, "seed", "", "text that starts the sample and warms the state")
	f.IntVarP(&opt.N, "n", "n", 500, "characters to generate")
	f.Float64Var(&opt.Temperature, "temperature", 0.8, "sampling temperature: lower is more conservative")
	f.IntVar(&opt.TopK, "top-k", 0, "sample only among the K most likely characters (0 = all)")
	f.Float64Var(&opt.TopP, "top-p", 0, "nucleus sampling: smallest set with this probability mass (0 = off)")
	f.BoolVar(&opt.Greedy, "greedy", false, "always take the most likely character")
	f.Int64Var(&rseed, "rng-seed", 0, "random seed for reproducible output (default: random)")
	f.BoolVar(&opt.SkipUnknown, "skip-unknown", false, "drop seed characters the model does not know instead of failing")
	f.BoolVar(&asJSON, "json", false, `print one JSON object {"seed", "text", "rng_seed"} after generating (no streaming)`)
	return c
}

type trainCharOptions struct {
	data, out, resume, checkpoint, plot, dtype, cell string
	cfg                                              charrnn.Config
	opt                                              charrnn.TrainOptions
	initSeed                                         uint64
}

func newTrainCharRNNCmd(g *globalOptions) *cobra.Command {
	o := &trainCharOptions{}
	c := &cobra.Command{
		Use:   "charrnn --data FILE --out MODEL.safetensors",
		Short: "Train a character-level generator on a UTF-8 text file",
		Long: `Train a character-level language model (embedding, stacked RNN/LSTM/GRU,
Linear, softmax) on any UTF-8 text with stateful truncated BPTT.

The last --val-frac of the file is held out for validation. The best model by
validation loss is written to --out whenever it improves, so stopping early
never loses it. A checkpoint (default: --out with .ckpt) is written at every
evaluation and on Ctrl-C; --resume CHECKPOINT continues exactly where it
stopped (use the same data and flags).`,
		Example: `  rnnkit train charrnn --data input.txt --out shakespeare.safetensors
  rnnkit train charrnn --data input.txt --out small.safetensors --hidden 128 --layers 1 --epochs 3
  rnnkit train charrnn --data input.txt --out s.safetensors --plot loss.png --patience 4
  rnnkit train charrnn --data input.txt --out s.safetensors --resume s.safetensors.ckpt`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTrainCharRNN(c, g, o) },
	}
	f := c.Flags()
	f.StringVar(&o.data, "data", "", "UTF-8 training text (required)")
	f.StringVar(&o.out, "out", "", "where to write the best model (required)")
	f.StringVar(&o.resume, "resume", "", "continue from this checkpoint")
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint path (default: OUT.ckpt)")
	f.IntVar(&o.opt.CheckpointEvery, "checkpoint-every", 0, "steps between checkpoints (default: every evaluation)")
	f.StringVar(&o.plot, "plot", "", "draw train/validation loss curves to this PNG")
	f.StringVar(&o.dtype, "dtype", "f32", "storage type of --out: f32 or f16 (half the size)")
	f.StringVar(&o.cell, "cell", "lstm", "recurrent cell: lstm, gru, rnn_tanh or rnn_relu")
	f.IntVar(&o.cfg.Embedding, "embedding", 64, "embedding width (0 = one-hot input)")
	f.IntVar(&o.cfg.Hidden, "hidden", 256, "hidden units per layer")
	f.IntVar(&o.cfg.Layers, "layers", 2, "stacked recurrent layers")
	f.Float32Var(&o.cfg.Dropout, "dropout", 0.1, "dropout between layers and before the output layer")
	f.Float32Var(&o.cfg.EmbDropout, "emb-dropout", 0, "dropout on the embedding")
	f.IntVar(&o.opt.SeqLen, "seq-len", 64, "BPTT window length (truncation)")
	f.IntVar(&o.opt.Batch, "batch", 32, "parallel streams per step")
	f.Float64Var(&o.opt.Epochs, "epochs", 10, "passes over the training text")
	f.Float64Var(&o.opt.LR, "lr", 2e-3, "peak Adam learning rate (cosine schedule with warm-up)")
	f.IntVar(&o.opt.Warmup, "warmup", 100, "warm-up steps")
	f.Float64Var(&o.opt.Clip, "clip", 5, "global gradient-norm clip (negative = off)")
	f.Float64Var(&o.opt.WeightDecay, "weight-decay", 0, "L2 weight decay")
	f.Float64Var(&o.opt.ValFrac, "val-frac", 0.1, "fraction of the text (at its end) held out for validation")
	f.IntVar(&o.opt.EvalEvery, "eval-every", 0, "steps between validation passes (default: 4 per epoch)")
	f.IntVar(&o.opt.Patience, "patience", 0, "stop after this many evaluations without improvement (0 = off)")
	f.Uint64Var(&o.opt.Seed, "seed", 1, "random seed (initialization and dropout)")
	f.BoolVar(&o.opt.SkipNonFinite, "skip-nonfinite", false, "skip steps with a NaN/Inf loss or gradient instead of stopping")
	return c
}

func parseDType(s string) (rnn.DType, error) {
	switch strings.ToLower(s) {
	case "f32", "float32":
		return rnn.F32, nil
	case "f16", "float16":
		return rnn.F16, nil
	}
	return "", usagef("--dtype must be f32 or f16, got %q", s)
}

func runTrainCharRNN(c *cobra.Command, g *globalOptions, o *trainCharOptions) error {
	if o.data == "" || o.out == "" {
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
	text, err := readTextFile(o.data)
	if err != nil {
		return err
	}
	o.opt.BestPath, o.opt.BestDType = o.out, dtype
	o.opt.CheckpointPath = checkpointPath(o.checkpoint, o.out)
	bar := newTrainingBar(c, g)
	report := func(p charrnn.Progress) {
		bar.update(p.Step, p.Steps, fmt.Sprintf("epoch %.2f loss %.3f val %s best %s %.0f chars/s", p.Epoch, p.Loss, fmtOr("%.3f", p.ValLoss), fmtOr("%.3f", p.BestValLoss), p.CharsPerSec))
		if p.Evaluated && bar.logs() {
			status(c, g, "step %d/%d epoch %.2f loss %.4f val %.4f best %.4f lr %.2e %.0f chars/s %s",
				p.Step, p.Steps, p.Epoch, p.Loss, p.ValLoss, p.BestValLoss, p.LR, p.CharsPerSec, p.Elapsed.Round(1e9))
		}
	}
	var m *charrnn.Model
	var res charrnn.Result
	if o.resume != "" {
		status(c, g, "resuming from %s", o.resume)
		m, res, err = charrnn.Resume(c.Context(), o.resume, text, o.opt, report)
	} else {
		tok, terr := tokenize.TrainRune(strings.NewReader(text), tokenize.RuneOptions{})
		if terr != nil {
			return terr
		}
		o.cfg.Cell = cell
		m, err = charrnn.New(o.cfg, tok)
		if err != nil {
			return usageError{err}
		}
		m.Meta["trained_on"] = o.data
		m.Init(rand.New(rand.NewPCG(o.opt.Seed, 0x696e6974)))
		status(c, g, "training %s %dx%d (%d parameters, vocab %d) on %s (%d chars)",
			cell, o.cfg.Layers, o.cfg.Hidden, m.Params.Len(), m.Config.Vocab, o.data, len(text))
		res, err = charrnn.Train(c.Context(), m, text, o.opt, report)
	}
	if err := bar.finish(err, res.Steps, o.opt.CheckpointPath); err != nil {
		return err
	}
	if o.plot != "" && len(res.History) > 0 {
		var tr, va plotter.XYs
		for _, p := range res.History {
			tr = append(tr, plotter.XY{X: float64(p.Step), Y: p.Loss})
			va = append(va, plotter.XY{X: float64(p.Step), Y: p.ValLoss})
		}
		if err := plotLoss(o.plot, "charrnn training", "loss (nats/char)", lossCurve{"train", tr}, lossCurve{"validation", va}); err != nil {
			return err
		}
	}
	if math.IsInf(res.BestValLoss, 1) {
		return errors.New("training ended before the first evaluation; no model written")
	}
	m.Meta["quality.val_loss_nats_per_char"] = fmt.Sprintf("%.4f", res.BestValLoss)
	if err := m.Save(o.out, dtype); err != nil {
		return err
	}
	status(c, g, "%s after %d steps: best validation loss %.4f nats/char (%.3f bits/char) at step %d; model written to %s",
		res.Stopped, res.Steps, res.BestValLoss, res.BestValLoss/math.Ln2, res.BestStep, o.out)
	return nil
}

func newEvalCharRNNCmd(g *globalOptions) *cobra.Command {
	var model, data string
	var asJSON bool
	c := &cobra.Command{
		Use:   "charrnn --data FILE [--model MODEL]",
		Short: "Measure a character model's loss (nats/char, bits/char, perplexity) on a text",
		Example: `  rnnkit eval charrnn --data heldout.txt
  rnnkit eval charrnn --model my.safetensors --data heldout.txt --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if data == "" {
				return usagef("--data is required")
			}
			text, err := readTextFile(data)
			if err != nil {
				return err
			}
			m, err := loadCharRNN(model)
			if err != nil {
				return err
			}
			r, err := m.Evaluate(text)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c, r)
			}
			fmt.Fprintf(c.OutOrStdout(), "loss %.4f nats/char, %.4f bits/char, perplexity %.3f over %d chars\n", r.Loss, r.BitsPerChar, r.Perplexity, r.Chars)
			return nil
		},
	}
	c.Flags().StringVar(&model, "model", "", "model file (default: the embedded tiny Shakespeare model)")
	c.Flags().StringVar(&data, "data", "", "UTF-8 text to evaluate on (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object: loss, bits_per_char, perplexity, chars")
	return c
}
