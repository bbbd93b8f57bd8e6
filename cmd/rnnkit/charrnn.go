package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/spf13/cobra"
)

func addCharRNNCommands(root, train, eval *cobra.Command, g *globalOptions) {
	root.AddCommand(newGenerateCmd(g), newModelsCmd())
	train.AddCommand(newTrainCharRNNCmd(g))
	eval.AddCommand(newEvalCharRNNCmd(g))
}

// charEnsembleHelp is the help of --ensemble on generate and eval charrnn
// (seq2seq's is addEnsembleFlag's).
const charEnsembleHelp = "also %s with this model (repeatable; same tokenizer), averaging the models' next-character probabilities"

// loadCharRNN loads the models generate and eval charrnn run, quantized as
// --quantize says: --model, or the embedded default when path is empty
// (one file or several: defaultCharRNN), then each --ensemble file. It
// returns them as one ensemble (a single model is an ensemble of one) and
// where each came from, in order.
func loadCharRNN(path string, ensemble []string, quant string) (*charrnn.Ensemble, []string, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	var ms []*charrnn.Model
	var names []string
	load := quantizingLoader(quant, charrnn.Kind, charrnn.Load, charrnn.LoadQuantized)
	if path == "" {
		var err error
		if ms, names, err = defaultCharRNN(quant); err != nil {
			return nil, nil, err
		}
	} else {
		m, err := load(path)
		if err != nil {
			return nil, nil, err
		}
		ms, names = []*charrnn.Model{m}, []string{path}
	}
	own := len(ms) // the main model's files; the rest are --ensemble's
	for _, p := range ensemble {
		m, err := load(p)
		if err != nil {
			return nil, nil, fmt.Errorf("--ensemble %s: %w", p, err)
		}
		ms, names = append(ms, m), append(names, p)
	}
	e, err := charrnn.NewEnsemble(ms...)
	var te *charrnn.TokenizerError
	if errors.As(err, &te) {
		msg := te.Describe(names[te.Model], names[0])
		if te.Model >= own {
			msg = "--ensemble: " + msg
		}
		return nil, nil, errors.New(msg)
	}
	return e, names, err
}

// ensembleNames is what --json reports as "models": where each model came
// from when several generate or score together, nothing for one model.
func ensembleNames(names []string) []string {
	if len(names) < 2 {
		return nil
	}
	return names
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
	if err := corpora.CheckRegular(path); err != nil { // a named pipe would block the read
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if len(b) == 0 {
		return "", fmt.Errorf("%s: file is empty", path)
	}
	var te *corpora.TextError
	if err := corpora.CheckText(b); errors.As(err, &te) && !te.NUL {
		return "", fmt.Errorf("%s:%d: invalid UTF-8 (byte 0x%02x at offset %d); convert the file to UTF-8", path, te.Line, te.Byte, te.Offset)
	} else if err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	return string(b), nil
}

// maxRNGSeed is the largest --rng-seed: 2^53-1, the largest integer that
// JSON readers holding numbers as float64 (JavaScript, jq) keep exact.
const maxRNGSeed = 1<<53 - 1

type generateOptions struct {
	model, seed, prime string
	quantize           string
	ensemble           []string
	stops              []string
	opt                charrnn.SampleOptions
	rngSeed            uint64
	samples            int
	asJSON             bool
}

func newGenerateCmd(g *globalOptions) *cobra.Command {
	o := &generateOptions{}
	c := &cobra.Command{
		Use:   "generate",
		Short: "Generate text with a character-level model (default: tiny Shakespeare LSTM)",
		Long: `Generate text one character at a time from a character-level RNN.

The state is first warmed on --prime (default "\n\n", not printed: what comes
before a speaker's name or a paragraph in the training text, so that a seed
like "ROMEO:" starts a line as it does there), then on the whole --seed text.
Generation continues from it and streams to stdout as it is produced, after
the seed. --prime '' starts from the zero state as rnnkit did before priming;
the default prime is skipped when the model lacks its characters.

Without --model the embedded default model is used: a 2-layer LSTM trained on
tiny Shakespeare. A seed or prime character the model never saw is an error;
--skip-unknown drops such characters instead.

--ensemble FILE (repeatable) generates with several models at once: each is
warmed on the prime and seed, and every character is sampled from the mean
of the models' next-character probabilities (temperature, --top-k and
--top-p apply to that mean). The models must have the same tokenizer, as
models trained on the same text do.

Sampling:
  --temperature T   softmax temperature; 0 means greedy (as --greedy)
  --top-k, --top-p  sample among the K most likely characters, or the
                    smallest set with that probability mass
  -n N              characters to sample; -n 0 prints only the seed
  --stop S          end as soon as the generated text ends with S (repeat the
                    flag for several); S itself is not printed, and only
                    generated text is matched, never the seed
  --samples K       K samples; sample i (from 0) uses rng seed R+i, where R is
                    --rng-seed or drawn at random. In text mode they are
                    separated by a blank line and each one's seed goes to
                    stderr; with --json each is one JSON object.
  --rng-seed R      0 <= R <= 9007199254740991 (2^53-1): the same seed, model
                    and flags give the same text

In --prime and --stop the two-character sequences \n and \t mean a newline
and a tab (and \\ a backslash), so --stop '\n\n' ends at a blank line;
real newlines work too.

--json prints one JSON object per sample, each on one line:
  {"seed", "text", "rng_seed", "chars", "mean_log_prob", "finish_reason", "stop"}
where text is the generated text without the seed, chars its length in
characters, mean_log_prob the mean log-likelihood of text under the model at
temperature 1 after the prime and seed (nats/char, whatever the sampling
flags; null when chars is 0), finish_reason "stop" or "length", and stop the
stop sequence that ended it (absent otherwise). rng_seed replays the sample
with --rng-seed. With several models (--ensemble), "models" lists them, the
main one first, and mean_log_prob is under their mixture.

Ctrl-C stops generation with exit status 130 (SIGTERM: 143) after printing
what was generated.`,
		Example: `  rnnkit generate --seed "ROMEO:"
  rnnkit generate --seed "JULIET:" -n 1000 --temperature 0.6 --rng-seed 7
  rnnkit generate --model my.safetensors --seed "Once upon" --top-p 0.9
  rnnkit generate --temperature 0 -n 200                  # greedy
  rnnkit generate --seed "ROMEO:" --stop '\n\n'           # one speech
  rnnkit generate --seed "KING:" --samples 3 -n 100 --rng-seed 10 --json
  rnnkit generate --seed "ROMEO:" --prime ''              # from the zero state
  rnnkit generate --seed "ROMEO:" --ensemble other.safetensors   # two models' mean`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.check(c); err != nil {
				return err
			}
			if err := checkQuantize(o.quantize); err != nil {
				return err
			}
			m, names, err := loadCharRNN(o.model, o.ensemble, o.quantize)
			if err != nil {
				return err
			}
			if len(names) > 1 {
				status(c, g, "generating with %d models: %s", len(names), strings.Join(names, ", "))
			}
			base := o.rngSeed
			if !c.Flags().Changed("rng-seed") {
				base = rand.Uint64N(maxRNGSeed + 1 - uint64(o.samples-1))
			}
			// Ctrl-C or SIGTERM cancels the context: runGenerate prints what
			// was generated and returns context.Canceled, which run turns
			// into exit status 130 or 143.
			err = runGenerate(c.Context(), c, g, m, ensembleNames(names), o, base)
			if errors.Is(err, charrnn.ErrUnknownChar) {
				return fmt.Errorf("%v; pass --skip-unknown to drop such characters", err)
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&o.model, "model", "", "model file (default: the embedded tiny Shakespeare model)")
	f.StringArrayVar(&o.ensemble, "ensemble", nil, fmt.Sprintf(charEnsembleHelp, "generate"))
	f.StringVar(&o.seed, "seed", "", "text that starts the sample and warms the state")
	f.StringVar(&o.prime, "prime", charrnn.DefaultPrime, `text fed before the seed and not printed; '' starts from the zero state`)
	f.IntVarP(&o.opt.N, "n", "n", 500, "characters to generate (0 = print only the seed)")
	f.Float64Var(&o.opt.Temperature, "temperature", 0.8, "sampling temperature: lower is more conservative, 0 is greedy")
	f.IntVar(&o.opt.TopK, "top-k", 0, "sample only among the K most likely characters (0 = all)")
	f.Float64Var(&o.opt.TopP, "top-p", 0, "nucleus sampling: smallest set with this probability mass (0 = off)")
	f.BoolVar(&o.opt.Greedy, "greedy", false, "always take the most likely character (same as --temperature 0)")
	f.StringArrayVar(&o.stops, "stop", nil, `end when the generated text ends with this (not printed; repeatable; \n and \t are read as newline and tab)`)
	f.IntVar(&o.samples, "samples", 1, "number of samples; sample i uses rng seed R+i")
	f.Uint64Var(&o.rngSeed, "rng-seed", 0, "random seed R for reproducible output, 0 to 2^53-1 (default: random)")
	f.BoolVar(&o.opt.SkipUnknown, "skip-unknown", false, "drop seed and prime characters the model does not know instead of failing")
	f.BoolVar(&o.asJSON, "json", false, "print one JSON object per sample after generating it (no streaming; see above)")
	addQuantizeFlag(c, &o.quantize)
	return c
}

// check validates the flags and turns them into sampling options.
func (o *generateOptions) check(c *cobra.Command) error {
	opt := &o.opt
	switch {
	case opt.N < 0:
		return usagef("-n must be >= 0, got %d", opt.N)
	case opt.Temperature < 0 || math.IsNaN(opt.Temperature) || math.IsInf(opt.Temperature, 0):
		return usagef("--temperature must be >= 0 (0 = greedy), got %v", opt.Temperature)
	case opt.TopP < 0 || opt.TopP > 1 || math.IsNaN(opt.TopP):
		return usagef("--top-p must be in [0, 1], got %v", opt.TopP)
	case opt.TopK < 0:
		return usagef("--top-k must be >= 0, got %d", opt.TopK)
	case o.samples < 1:
		return usagef("--samples must be >= 1, got %d", o.samples)
	case o.rngSeed > maxRNGSeed-uint64(o.samples-1):
		if o.samples > 1 {
			return usagef("--rng-seed plus --samples-1 must be at most 2^53-1 = %d, got %d", uint64(maxRNGSeed), o.rngSeed)
		}
		return usagef("--rng-seed must be at most 2^53-1 = %d (so that JSON readers keep it exact), got %d", uint64(maxRNGSeed), o.rngSeed)
	case !utf8.ValidString(o.seed):
		return usagef("--seed is not valid UTF-8")
	case !utf8.ValidString(o.prime):
		return usagef("--prime is not valid UTF-8")
	}
	if opt.Temperature == 0 {
		opt.Greedy = true
	}
	opt.Prime, opt.NoPrime = "", false
	if p := unescapeFlag(o.prime); p == "" {
		opt.NoPrime = true
	} else if p != charrnn.DefaultPrime {
		opt.Prime = p
	}
	opt.Stop = nil
	for _, s := range o.stops {
		s = unescapeFlag(s)
		if s == "" {
			return usagef("--stop must not be empty")
		}
		if !utf8.ValidString(s) {
			return usagef("--stop %q is not valid UTF-8", s)
		}
		opt.Stop = append(opt.Stop, s)
	}
	return nil
}

// unescapeFlag reads the two-character sequences \n, \t and \\ in a flag
// value as a newline, a tab and a backslash; any other backslash stays.
func unescapeFlag(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// generateJSON is one sample of generate --json.
type generateJSON struct {
	Seed         string   `json:"seed"`
	Text         string   `json:"text"`
	RNGSeed      uint64   `json:"rng_seed"`
	Chars        int      `json:"chars"`
	MeanLogProb  *float64 `json:"mean_log_prob"` // null when Chars is 0
	FinishReason string   `json:"finish_reason"` // "stop" or "length"
	Stop         string   `json:"stop,omitempty"`
	Models       []string `json:"models,omitempty"` // the models, when several generate together
}

// runGenerate draws o.samples samples, sample i with rng seed base+i.
// models is what --json reports as "models".
func runGenerate(ctx context.Context, c *cobra.Command, g *globalOptions, m *charrnn.Ensemble, models []string, o *generateOptions, base uint64) error {
	generate := func(opt charrnn.SampleOptions, emit func(string) error) (charrnn.Generation, error) {
		if opt.N == 0 { // the library reads N 0 as its default; -n 0 only checks the seed and prime
			_, err := m.Start(o.seed, opt)
			return charrnn.Generation{}, err
		}
		return m.GenerateScored(ctx, o.seed, opt, emit)
	}
	if o.asJSON {
		for i := 0; i < o.samples; i++ {
			opt := o.opt
			opt.Seed = base + uint64(i)
			var b strings.Builder
			res, err := generate(opt, func(s string) error { b.WriteString(s); return nil })
			if err != nil {
				return err
			}
			r := generateJSON{Seed: o.seed, Text: b.String(), RNGSeed: opt.Seed, Chars: res.Chars, FinishReason: "length", Stop: res.Stop, Models: models}
			if res.Chars > 0 {
				mlp := res.MeanLogProb()
				r.MeanLogProb = &mlp
			}
			if res.Stop != "" {
				r.FinishReason = "stop"
			}
			if err := writeJSON(c, r); err != nil {
				return err
			}
		}
		return nil
	}
	w := bufio.NewWriter(c.OutOrStdout())
	defer w.Flush()
	for i := 0; i < o.samples; i++ {
		opt := o.opt
		opt.Seed = base + uint64(i)
		if o.samples > 1 {
			w.Flush()
			status(c, g, "sample %d of %d: --rng-seed %d", i+1, o.samples, opt.Seed)
			if i > 0 {
				w.WriteByte('\n') // a blank line between samples
			}
		}
		printed := false // the seed is echoed once it is known to be valid
		_, err := generate(opt, func(s string) error {
			if !printed {
				w.WriteString(o.seed)
				printed = true
			}
			w.WriteString(s)
			if strings.Contains(s, "\n") {
				return w.Flush() // stream line by line
			}
			return nil
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		if !printed {
			w.WriteString(o.seed)
			printed = o.seed != ""
		}
		if printed {
			w.WriteByte('\n')
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type trainCharOptions struct {
	data, out, resume, checkpoint, plot, dtype, cell, log string
	cfg                                                   charrnn.Config
	opt                                                   charrnn.TrainOptions
	initSeed                                              uint64
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
evaluation, at the end and on Ctrl-C; --resume CHECKPOINT continues exactly
where it stopped (use the same data and flags; a larger --epochs trains on
from a finished run).

--resume refuses a checkpoint whose run had another model shape (--cell,
--embedding, --hidden, --layers, --dropout, --emb-dropout, --weight-drop) than the flags
given, or another text or --val-frac: the checkpoint records them (and a
sha256 of the data). --plot draws the whole run, resumes included, and --log
FILE.jsonl appends one JSON object per evaluation: step, steps, epoch,
train_loss (the mean since the previous one), val_loss, best_val_loss, lr,
elapsed_s (seconds since this process started training) and time.`,
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
	addTrainLogFlag(c, &o.log)
	f.StringVar(&o.dtype, "dtype", "f32", "storage type of --out: f32, f16 (half the size) or int8 (weight matrices as int8 with a scale per row: about a quarter)")
	f.StringVar(&o.cell, "cell", "lstm", "recurrent cell: lstm, gru, rnn_tanh or rnn_relu")
	f.IntVar(&o.cfg.Embedding, "embedding", 64, "embedding width (0 = one-hot input)")
	f.IntVar(&o.cfg.Hidden, "hidden", 256, "hidden units per layer")
	f.IntVar(&o.cfg.Layers, "layers", 2, "stacked recurrent layers")
	f.Float32Var(&o.cfg.Dropout, "dropout", 0.1, "dropout between layers and before the output layer (0 = none)")
	f.Float32Var(&o.cfg.EmbDropout, "emb-dropout", 0, "dropout on the embedding")
	f.Float32Var(&o.cfg.WeightDrop, "weight-drop", 0, "DropConnect on the hidden-to-hidden weights (AWD-LSTM), one mask per step")
	f.IntVar(&o.opt.SeqLen, "seq-len", 64, "BPTT window length (truncation)")
	f.IntVar(&o.opt.Batch, "batch", 32, "parallel streams per step")
	f.Float64Var(&o.opt.Epochs, "epochs", 10, "passes over the training text")
	f.Float64Var(&o.opt.LR, "lr", 2e-3, "peak Adam learning rate (cosine schedule with warm-up)")
	f.IntVar(&o.opt.Warmup, "warmup", 100, "warm-up steps (0 = none)")
	f.Float64Var(&o.opt.Clip, "clip", 5, "global gradient-norm clip (0 or negative = off)")
	f.Float64Var(&o.opt.WeightDecay, "weight-decay", 0, "L2 weight decay")
	f.Float64Var(&o.opt.ValFrac, "val-frac", 0.1, "fraction of the text (at its end) held out for validation")
	f.IntVar(&o.opt.EvalEvery, "eval-every", 0, "steps between validation passes (default: 4 per epoch)")
	f.IntVar(&o.opt.Patience, "patience", 0, "stop after this many evaluations without improvement (0 = off)")
	f.Uint64Var(&o.opt.Seed, "seed", 1, "random seed (initialization and dropout; 0 is a seed like any other)")
	f.BoolVar(&o.opt.SkipNonFinite, "skip-nonfinite", false, "skip steps with a NaN/Inf loss or gradient instead of stopping")
	return c
}

// charRNNResume is what train charrnn --resume checks.
var charRNNResume = resumeSpec{
	kind:   charrnn.Kind,
	fixed:  []string{"cell", "embedding", "hidden", "layers", "dropout", "emb-dropout", "weight-drop"},
	data:   []string{"val-frac"},
	config: map[string]string{"cell": "cell", "embedding": "embedding", "hidden": "hidden", "layers": "layers", "dropout": "dropout", "emb-dropout": "emb_dropout", "weight-drop": "weight_drop"},
	norm:   map[string]func(string) string{"cell": normCell},
}

func parseDType(s string) (rnn.DType, error) {
	switch strings.ToLower(s) {
	case "f32", "float32":
		return rnn.F32, nil
	case "f16", "float16":
		return rnn.F16, nil
	case "int8", "i8":
		return rnn.Q8, nil
	}
	return "", usagef("--dtype must be f32, f16 or int8, got %q", s)
}

// parseDTypeCell parses the --dtype and --cell of a training command.
func parseDTypeCell(dtype, cell string) (rnn.DType, rnn.Cell, error) {
	dt, err := parseDType(dtype)
	if err != nil {
		return dt, 0, err
	}
	c, err := rnn.ParseCell(cell)
	if err != nil {
		return dt, c, usageError{err}
	}
	return dt, c, nil
}

func runTrainCharRNN(c *cobra.Command, g *globalOptions, o *trainCharOptions) error {
	if err := checkTrainOut(o.data != "", o.out); err != nil {
		return err
	}
	dtype, cell, err := parseDTypeCell(o.dtype, o.cell)
	if err != nil {
		return err
	}
	text, err := readTextFile(o.data)
	if err != nil {
		return err
	}
	// The fingerprint covers the split too: the library holds out the last
	// --val-frac of the text.
	h := newDataHash()
	h.add(text, strconv.FormatFloat(o.opt.ValFrac, 'g', -1, 64))
	dataSHA := h.sum()
	run, err := startTrain(c, g, charRNNResume, o.resume, dataSHA, o.log, &o.opt.Options, o.out, o.checkpoint, dtype)
	if err != nil {
		return err
	}
	defer run.log.close()
	topt := o.opt
	if legacyRun(o.resume) {
		legacyZeros(&topt.Options, 100)
		if !(topt.ValFrac > 0 && topt.ValFrac < 1) {
			topt.ValFrac = 0.1
		}
	} else if !(topt.ValFrac > 0 && topt.ValFrac < 1) {
		return usagef("--val-frac must be in (0, 1), got %v", topt.ValFrac)
	}
	report := func(p charrnn.Progress) {
		run.report(p.Step, p.Steps, p.Epoch, p.LR, p.Loss,
			fmt.Sprintf("epoch %.2f loss %.3f val %s best %s %.0f chars/s", p.Epoch, p.Loss, fmtOr("%.3f", p.ValLoss), fmtOr("%.3f", p.BestValLoss), p.CharsPerSec),
			p.Evaluated, func() string {
				return fmt.Sprintf("step %d/%d epoch %.2f loss %.4f val %.4f best %.4f lr %.2e %.0f chars/s %s",
					p.Step, p.Steps, p.Epoch, p.Loss, p.ValLoss, p.BestValLoss, p.LR, p.CharsPerSec, p.Elapsed.Round(1e9))
			}, logField{"val_loss", p.ValLoss}, logField{"best_val_loss", p.BestValLoss})
	}
	var m *charrnn.Model
	var res charrnn.Result
	if o.resume != "" {
		status(c, g, "resuming from %s", o.resume)
		m, res, err = charrnn.Resume(c.Context(), o.resume, text, topt, report)
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
		charRNNResume.record(c, m.Meta, dataSHA)
		m.Init(initRNG(o.opt.Seed))
		status(c, g, "training %s %dx%d (%d parameters, vocab %d) on %s (%d chars)",
			cell, o.cfg.Layers, o.cfg.Hidden, m.Params.Len(), m.Config.Vocab, o.data, len(text))
		res, err = charrnn.Train(c.Context(), m, text, topt, report)
	}
	if err := run.finish(err, res.Steps); err != nil {
		return err
	}
	type pt = charrnn.Point
	if err := plotHistory(o.plot, "charrnn training", "loss (nats/char)", res.History, func(p pt) int { return p.Step },
		historyCurve[pt]{name: "train", y: func(p pt) float64 { return p.Loss }},
		historyCurve[pt]{name: "validation", y: func(p pt) float64 { return p.ValLoss }}); err != nil {
		return err
	}
	if math.IsInf(res.BestValLoss, 1) {
		return noEvaluationYet(c)
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
	var model, data, quant string
	var ensemble []string
	var opt charrnn.EvalOptions
	var asJSON bool
	c := &cobra.Command{
		Use:   "charrnn --data FILE [--model MODEL]",
		Short: "Measure a character model's loss (nats/char, bits/char, perplexity) on a text",
		Long: `Measure a character model on a UTF-8 text: the mean negative log-likelihood
of each character given the text before it (nats/char, with bits/char and
perplexity), computed at temperature 1 over the whole vocabulary. Characters
outside the model's vocabulary are scored as <unk>. No prime is used.

How the text is walked, for n characters, --streams N and --window T:
  1. The text is cut into B = max(1, min(N, (n-1)/T)) contiguous streams of
     S+1 characters, S = (n-1)/B (integer division): stream b is characters
     b*S to b*S+S. They run side by side as one batch.
  2. Each stream starts from the zero state and its first character is only
     context; the other S are each scored once. The last (n-1) mod B
     characters of the text are not scored.
  3. Each stream is read in windows of T characters and the state is carried
     from one window to the next (truncated BPTT without gradients), unless
     --stateless starts every window from the zero state again (in PyTorch,
     calling the model on each window with h=None).

The default (--streams 16 --window 256) is how training measures validation
loss. --streams 1 is a plain single-stream full pass, what a PyTorch loop
over the whole text with the hidden state carried gives: one stream, state
carried throughout, every character after the first scored once. --json
reports the mode used (streams, window, stateless) with the result.

--ensemble FILE (repeatable) scores the mean of several models'
next-character probabilities, each model walking the text as above; the
models must have the same tokenizer. The mixture's loss is at most the mean
of the models' own losses; --json lists the models used as "models".`,
		Example: `  rnnkit eval charrnn --data heldout.txt
  rnnkit eval charrnn --model my.safetensors --data heldout.txt --json
  rnnkit eval charrnn --data heldout.txt --streams 1                 # one pass over the whole text
  rnnkit eval charrnn --data heldout.txt --window 128 --stateless    # independent 128-char chunks
  rnnkit eval charrnn --model a.safetensors --ensemble b.safetensors --data heldout.txt   # the two models' mean`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if data == "" {
				return usagef("--data is required")
			}
			if opt.Streams < 1 || opt.Window < 1 {
				return usagef("--streams and --window must be at least 1, got %d and %d", opt.Streams, opt.Window)
			}
			if err := checkQuantize(quant); err != nil {
				return err
			}
			text, err := readTextFile(data)
			if err != nil {
				return err
			}
			m, names, err := loadCharRNN(model, ensemble, quant)
			if err != nil {
				return err
			}
			r, err := m.EvaluateWith(text, opt)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c, struct {
					charrnn.EvalResult
					Models []string `json:"models,omitempty"`
				}{r, ensembleNames(names)})
			}
			streams, carried := fmt.Sprintf("%d streams", r.Streams), "state carried across"
			if r.Streams == 1 {
				streams = "1 stream"
			}
			if r.Stateless {
				carried = "state reset at each of"
			}
			fmt.Fprintf(c.OutOrStdout(), "loss %.4f nats/char, %.4f bits/char, perplexity %.3f over %d chars (%s, %s the %d-char windows)\n",
				r.Loss, r.BitsPerChar, r.Perplexity, r.Chars, streams, carried, r.Window)
			if len(names) > 1 {
				fmt.Fprintf(c.OutOrStdout(), "the mean of %d models' probabilities: %s\n", len(names), strings.Join(names, ", "))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&model, "model", "", "model file (default: the embedded tiny Shakespeare model)")
	f.StringVar(&data, "data", "", "UTF-8 text to evaluate on (required)")
	f.StringArrayVar(&ensemble, "ensemble", nil, fmt.Sprintf(charEnsembleHelp, "score"))
	f.IntVar(&opt.Streams, "streams", charrnn.DefaultEvalStreams, "contiguous streams scored side by side (at most one per --window characters); 1 = one pass over the whole text")
	f.IntVar(&opt.Window, "window", charrnn.DefaultEvalWindow, "characters per forward window")
	f.BoolVar(&opt.Stateless, "stateless", false, "start every window from the zero state instead of carrying the state over")
	f.BoolVar(&asJSON, "json", false, "print one JSON object: loss, bits_per_char, perplexity, chars, streams, window, stateless (and models, with --ensemble)")
	addQuantizeFlag(c, &quant)
	return c
}
