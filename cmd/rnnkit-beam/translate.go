package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/spf13/cobra"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*translateFn)(nil)).Elem())
}

// maxTranslateLine is the longest line translate accepts, in bytes, as for
// `rnnkit translate`.
const maxTranslateLine = 64 << 10

type translateOptions struct {
	io       ioOptions
	inputs   []string
	from     string
	maxBytes int
	fn       translateFn
}

func newTranslateCmd() *cobra.Command {
	o := &translateOptions{}
	c := &cobra.Command{
		Use:   "translate --input PATTERN --output PREFIX [--model MODEL]",
		Short: "Translate every line of the input files with a seq2seq model",
		Long: `Translate sentences, one per line, as "rnnkit translate --json" does, as a
Beam pipeline.

Each output line is the object of "rnnkit translate --json" with the
sentence's file and line number first, so that translations join back to
their sources: {"file", "line", "translation", "source_tokens",
"target_tokens", "attention", "log_prob"} (and "nbest" with --nbest).
A blank line, a line that is not UTF-8, has a NUL byte, is over 64 KB or
over 400 tokens goes to the dead letters as {"file", "line", "error"}.`,
		Example: `  rnnkit-beam translate --input 'sentences-*.txt' --output out/es
  rnnkit-beam translate --input corpus.txt --output out/es --model seq2seq.safetensors --beam 1   # greedy, about 4x faster`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTranslate(c, o) },
	}
	f := c.Flags()
	f.StringArrayVar(&o.inputs, "input", nil, "files of sentences, one per line (pattern; repeatable)")
	f.StringVar(&o.from, "from", "en", "without --model: the embedded model's source language, en or es")
	f.IntVar(&o.fn.Beam, "beam", 5, "beam width (1 = greedy, fastest)")
	f.IntVar(&o.fn.NBest, "nbest", 1, "give the N best translations with scores (raises --beam to N if smaller)")
	f.Float64Var(&o.fn.LengthPenalty, "length-penalty", 1, "beam: rank hypotheses by log p / length^this (0 = none)")
	f.Float64Var(&o.fn.LexiconPenalty, "lexicon-penalty", 1, "beam: lower a hypothesis's score by this for each word found neither in the training targets nor in the source (0 = off)")
	f.Float64Var(&o.fn.NamePenalty, "name-penalty", 1, "beam: lower a hypothesis's score by this for each name or number of the source it leaves out (0 = off)")
	f.Float64Var(&o.fn.MaxLenRatio, "max-len-ratio", 2, "stop a translation after this many tokens per source token (+5)")
	f.BoolVar(&o.fn.CopyNames, "copy-names", true, "copy a name or number of the source that the translation lacks in place of the words that attended to it")
	f.BoolVar(&o.fn.KeepUnk, "keep-unk", false, "give <unk> instead of copying the attended source word")
	f.IntVar(&o.maxBytes, "max-record-bytes", maxTranslateLine, "the longest line in bytes")
	addIOFlags(c, &o.io, "seq2seq", "sentences", 64)
	return c
}

func runTranslate(c *cobra.Command, o *translateOptions) error {
	ctx := c.Context()
	fn := &o.fn
	switch {
	case len(o.inputs) == 0:
		return usagef("give --input PATTERN: files of sentences, one per line")
	case fn.Beam < 1 || fn.Beam > 64:
		return usagef("--beam must be in 1..64, got %d", fn.Beam)
	case fn.NBest < 1 || fn.NBest > 64:
		return usagef("--nbest must be in 1..64, got %d", fn.NBest)
	case fn.MaxLenRatio <= 0 || math.IsNaN(fn.MaxLenRatio):
		return usagef("--max-len-ratio must be > 0")
	case fn.LengthPenalty < 0 || math.IsNaN(fn.LengthPenalty):
		return usagef("--length-penalty must be >= 0")
	case o.maxBytes < 1:
		return usagef("--max-record-bytes must be positive")
	}
	switch o.from {
	case "en":
		fn.Default = "seq2seq"
	case "es":
		fn.Default = "seq2seq-es-en"
	default:
		return usagef("--from must be en or es, got %q", o.from)
	}
	if o.io.model != "" && c.Flags().Changed("from") {
		return usagef("--from chooses among the embedded models; with --model the file decides")
	}
	if err := o.io.prepareOutput(); err != nil {
		return err
	}
	if err := checkInputs(ctx, o.inputs); err != nil {
		return err
	}
	fn.Model, fn.Batch = o.io.model, o.io.batch
	if err := fn.Setup(ctx); err != nil { // a wrong --model fails here, not on the workers
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	records, bad := readRecords(s, o.inputs, &readFn{Mode: readLines, Format: "lines", MaxBytes: o.maxBytes}, false)
	res, bad2 := beam.ParDo2(s.Scope("translate"), fn, groupRecords(s, records, o.io.groups))
	return finish(ctx, c.ErrOrStderr(), p, s, &o.io, res, bad, bad2)
}

// translateFn translates the records of each group with a seq2seq model,
// Batch at a time.
type translateFn struct {
	Model          string // "" = the embedded model Default
	Default        string // "seq2seq" (en->es) or "seq2seq-es-en"
	Batch          int
	Beam, NBest    int
	LengthPenalty  float64
	LexiconPenalty float64
	NamePenalty    float64
	MaxLenRatio    float64
	KeepUnk        bool
	CopyNames      bool

	m   *seq2seq.Model
	ens []*seq2seq.Model // the rest of the default's ensemble (models.EnEs, models.EsEn)
}

// translation is the object of `rnnkit translate --json` with the
// sentence's file and line first.
type translation struct {
	File string `json:"file"`
	Line int    `json:"line"`
	seq2seq.Translation
}

func (f *translateFn) Setup(ctx context.Context) error {
	kind := f.Default
	if f.Model != "" {
		kind = seq2seq.Kind
	}
	var err error
	if f.m, err = loadCached(ctx, kind, f.Model, seq2seq.Load, seq2seq.LoadBytes); err != nil || f.Model != "" {
		return err
	}
	// The embedded default may be an ensemble, decoded as rnnkit translate
	// decodes it: its other files, with the first's tokenizers.
	files := models.EnEs
	if f.Default == "seq2seq-es-en" {
		files = models.EsEn
	}
	f.ens = nil
	for _, file := range files[1:] {
		m, err := loadCached(ctx, file, "", seq2seq.Load, seq2seq.LoadBytes)
		if err != nil {
			return err
		}
		if err := f.m.SameTokenizers(m); err != nil {
			return fmt.Errorf("%s.safetensors cannot be decoded with %s.safetensors: %w", file, f.Default, err)
		}
		f.ens = append(f.ens, m)
	}
	return nil
}

// options are the decoding options, as `rnnkit translate` sets them.
func (f *translateFn) options() seq2seq.TranslateOptions {
	o := seq2seq.TranslateOptions{Beam: max(f.Beam, f.NBest), NBest: f.NBest, LengthPenalty: f.LengthPenalty,
		MaxLenRatio: f.MaxLenRatio, Batch: f.Batch, KeepUnk: f.KeepUnk, LexiconPenalty: f.LexiconPenalty,
		NamePenalty: f.NamePenalty, CopyNames: f.CopyNames, Ensemble: f.ens}
	if o.LengthPenalty == 0 {
		o.LengthPenalty = -1 // none
	}
	return o
}

// ProcessElement translates the records of one group, Batch at a time in
// their identity's order.
func (f *translateFn) ProcessElement(ctx context.Context, _ int, records func(*Record) bool, emit, dead func(Output)) error {
	all := collect(records)
	for i := 0; i < len(all); i += f.Batch {
		if err := f.flush(ctx, all[i:min(i+f.Batch, len(all))], emit, dead); err != nil {
			return err
		}
	}
	return nil
}

// flush translates a batch of records. A sentence the model refuses (too
// long) goes to the dead letters and the rest are translated again; a
// cancelled context fails the bundle, which the runner retries.
func (f *translateFn) flush(ctx context.Context, recs []Record, emit, dead func(Output)) error {
	recs = slices.Clone(recs)
	for len(recs) > 0 {
		texts := make([]string, len(recs))
		for i, r := range recs {
			texts[i] = r.Text
		}
		trs, err := translateSafe(ctx, f.m, texts, f.options())
		var ie *seq2seq.InputError
		if errors.As(err, &ie) {
			recordsDead.Inc(ctx, 1)
			dead(deadOutput(recs[ie.Index], ie.Err))
			recs = append(recs[:ie.Index:ie.Index], recs[ie.Index+1:]...)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			if len(recs) == 1 {
				recordsDead.Inc(ctx, 1)
				dead(deadOutput(recs[0], err))
				return nil
			}
			for i := range recs { // find the sentence the model fails on
				if err := f.flushOne(ctx, recs[i], emit, dead); err != nil {
					return err
				}
			}
			return nil
		}
		for i, t := range trs {
			recordsOK.Inc(ctx, 1)
			emit(Output{Key: recs[i].key(), Line: jsonLine(translation{File: recs[i].File, Line: recs[i].Line, Translation: t})})
		}
		return nil
	}
	return nil
}

func (f *translateFn) flushOne(ctx context.Context, r Record, emit, dead func(Output)) error {
	trs, err := translateSafe(ctx, f.m, []string{r.Text}, f.options())
	var ie *seq2seq.InputError
	switch {
	case errors.As(err, &ie):
		err = ie.Err
	case err != nil && ctx.Err() != nil:
		return err
	}
	if err != nil {
		recordsDead.Inc(ctx, 1)
		dead(deadOutput(r, err))
		return nil
	}
	recordsOK.Inc(ctx, 1)
	emit(Output{Key: r.key(), Line: jsonLine(translation{File: r.File, Line: r.Line, Translation: trs[0]})})
	return nil
}

// translateSafe runs the model, turning a panic into an error.
func translateSafe(ctx context.Context, m *seq2seq.Model, texts []string, opt seq2seq.TranslateOptions) (trs []seq2seq.Translation, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("model error: " + errorString(r))
		}
	}()
	return m.Translate(ctx, texts, opt)
}

func errorString(r any) string {
	if e, ok := r.(error); ok {
		return e.Error()
	}
	if s, ok := r.(string); ok {
		return s
	}
	return "panic"
}
