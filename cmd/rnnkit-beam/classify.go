package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/spf13/cobra"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*classifyFn)(nil)).Elem())
}

// addIOFlags registers the flags every command shares.
func addIOFlags(c *cobra.Command, o *ioOptions, kind, what string, batch int) {
	f := c.Flags()
	f.StringVar(&o.output, "output", "", "prefix of the output shards: PREFIX-SSSSS-of-NNNNN.jsonl (local or gs://)")
	f.StringVar(&o.deadLetter, "dead-letter", "", "prefix of the dead-letter shards (default OUTPUT-errors)")
	f.StringVar(&o.model, "model", "", fmt.Sprintf("%s model file every worker can read (local or gs://; default: the embedded default model)", kind))
	f.IntVar(&o.shards, "shards", 4, "number of output shards")
	f.IntVar(&o.errShards, "error-shards", 1, "number of dead-letter shards")
	f.IntVar(&o.batch, "batch", batch, what+" run through the model together")
	f.IntVar(&o.groups, "groups", 256, "groups the records are spread over (the parallelism; batches never straddle groups)")
}

type classifyOptions struct {
	io              ioOptions
	inputs, lines   []string
	format          string
	textField, tcol string
	header, probs   bool
	k               int
	maxBytes        int
	listTop         bool
}

func newClassifyCmd() *cobra.Command {
	o := &classifyOptions{}
	c := &cobra.Command{
		Use:   "classify (--input PATTERN | --lines PATTERN) --output PREFIX [--model MODEL]",
		Short: "Classify reviews with a sentiment model: each file, or each line, is one review",
		Long: `Classify reviews as "rnnkit classify --json" does, as a Beam pipeline.

--input PATTERN: each matching file is one review (a local folder stands for
every file under it, ** matches any number of folders; gs:// patterns too).
--lines PATTERN: each line of each matching file is one review, or each
TSV/CSV/JSONL record with --format, --text-col, --text-field and --header, as
"rnnkit classify --lines". Both flags repeat and mix.

Each output line is the object of "rnnkit classify --json":
{"file", "line" (with --lines), "label", "probability"} (plus "probabilities"
with --probs and "top" with -k). An empty, binary or non-UTF-8 file, one over
10 MB, or a bad line goes to the dead letters as {"file", "line", "error"}.`,
		Example: `  rnnkit-beam classify --input 'reviews/**/*.txt' --output out/labels
  rnnkit-beam classify --lines 'part-*.txt' --output out/labels --runner prism
  rnnkit-beam classify --lines reviews.tsv --header --text-col review --output out/labels --model m.safetensors`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.listTop = c.Flags().Changed("top-k")
			return runClassify(c, o)
		},
	}
	f := c.Flags()
	f.StringArrayVar(&o.inputs, "input", nil, "files to classify, one review per file (pattern; repeatable)")
	f.StringArrayVar(&o.lines, "lines", nil, "files to classify, one review per line or record (pattern; repeatable)")
	f.StringVar(&o.format, "format", "auto", "with --lines: layout of the records: auto (by extension), lines, tsv, csv or jsonl")
	f.StringVar(&o.tcol, "text-col", "", "TSV/CSV text column: header name or 0-based index (default 0)")
	f.StringVar(&o.textField, "text-field", "", "JSONL text field (default \"text\"; dots reach into objects)")
	f.BoolVar(&o.header, "header", false, "TSV/CSV: the first row names the columns")
	f.IntVarP(&o.k, "top-k", "k", 1, `list the k most probable labels ("top")`)
	f.BoolVar(&o.probs, "probs", false, `also give the probability of every class ("probabilities")`)
	f.IntVar(&o.maxBytes, "max-record-bytes", maxReviewBytes, "the largest review in bytes (a file, or a line with --lines)")
	addIOFlags(c, &o.io, "sentiment", "reviews", 32)
	return c
}

func runClassify(c *cobra.Command, o *classifyOptions) error {
	ctx := c.Context()
	if len(o.inputs) == 0 && len(o.lines) == 0 {
		return usagef("give --input PATTERN (one review per file) or --lines PATTERN (one per line)")
	}
	if o.k < 1 {
		return usagef("-k must be at least 1, got %d", o.k)
	}
	if o.maxBytes < 1 {
		return usagef("--max-record-bytes must be positive")
	}
	text := o.tcol
	if o.textField != "" {
		text = o.textField
	}
	if _, err := corpora.TextFormat("", corpora.TextOptions{Format: o.format}); err != nil {
		return usagef("--format: %v", err)
	}
	if err := o.io.prepareOutput(); err != nil {
		return err
	}
	if err := checkInputs(ctx, append(slices.Clone(o.inputs), o.lines...)); err != nil {
		return err
	}
	// Load the model here too: a wrong --model fails at once, not on the
	// workers. (In loopback mode the workers share this copy.)
	m, err := loadCached(ctx, sentiment.Kind, o.io.model, sentiment.Load, sentiment.LoadBytes)
	if err != nil {
		return err
	}
	fn := &classifyFn{Model: o.io.model, Batch: o.io.batch, Probs: o.probs}
	if o.listTop {
		fn.TopK = min(o.k, len(m.Config.Labels))
	}
	p, s := beam.NewPipelineWithRoot()
	var outs, dead []beam.PCollection
	add := func(patterns []string, rf *readFn) {
		if len(patterns) == 0 {
			return
		}
		records, bad := readRecords(s, patterns, rf, false)
		res, bad2 := beam.ParDo2(s.Scope("classify"), fn, groupRecords(s, records, o.io.groups))
		outs = append(outs, res)
		dead = append(dead, bad, bad2)
	}
	add(o.inputs, &readFn{Mode: readWhole, MaxBytes: o.maxBytes})
	add(o.lines, &readFn{Mode: readLines, Format: o.format, Text: text, Header: o.header, MaxBytes: o.maxBytes})
	return finish(ctx, c.ErrOrStderr(), p, s, &o.io, beam.Flatten(s, outs...), dead...)
}

// classifyFn classifies the records of each group with a sentiment model,
// Batch at a time.
type classifyFn struct {
	Model string // "" = the embedded default
	Batch int
	Probs bool // add "probabilities"
	TopK  int  // > 0: add "top" with this many labels

	m *sentiment.Model
}

func (f *classifyFn) Setup(ctx context.Context) error {
	var err error
	f.m, err = loadCached(ctx, sentiment.Kind, f.Model, sentiment.Load, sentiment.LoadBytes)
	return err
}

// ProcessElement classifies the records of one group, Batch at a time in
// their identity's order.
func (f *classifyFn) ProcessElement(ctx context.Context, _ int, records func(*Record) bool, emit, dead func(Output)) error {
	all := collect(records)
	for i := 0; i < len(all); i += f.Batch {
		f.classify(ctx, all[i:min(i+f.Batch, len(all))], emit, dead)
	}
	return nil
}

func (f *classifyFn) classify(ctx context.Context, recs []Record, emit, dead func(Output)) {
	ids := make([][]int32, len(recs))
	for i, r := range recs {
		ids[i] = f.m.Encode(r.Text)
	}
	preds, err := predict(f.m, ids)
	if err != nil && len(ids) > 1 { // find the review the model fails on
		preds = make([]sentiment.Prediction, len(ids))
		for i := range ids {
			var p []sentiment.Prediction
			if p, err = predict(f.m, ids[i:i+1]); err != nil {
				recordsDead.Inc(ctx, 1)
				dead(deadOutput(recs[i], err))
				continue
			}
			preds[i] = p[0]
		}
	} else if err != nil {
		recordsDead.Inc(ctx, 1)
		dead(deadOutput(recs[0], err))
		preds = nil
	}
	for i, p := range preds {
		if p.Probs == nil {
			continue // dead-lettered above
		}
		recordsOK.Inc(ctx, 1)
		emit(Output{Key: recs[i].key(), Line: jsonLine(classifyObject(recs[i], p, f.m.Config.Labels, f.Probs, f.TopK))})
	}
}

// predict runs the model, turning a panic into an error.
func predict(m *sentiment.Model, ids [][]int32) (preds []sentiment.Prediction, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("model error: %v", r)
		}
	}()
	return m.PredictIDs(ids), nil
}

// classifyObject is the object `rnnkit classify --json` prints for a
// review (cmd/rnnkit/sentiment.go).
func classifyObject(r Record, p sentiment.Prediction, labels []string, probs bool, topK int) map[string]any {
	obj := map[string]any{"file": r.File, "label": p.Label, "probability": round4(p.Probability)}
	if r.Line > 0 {
		obj["line"] = r.Line
	}
	if probs {
		pm := map[string]float64{}
		for k, l := range labels {
			pm[l] = round4(p.Probs[k])
		}
		obj["probabilities"] = pm
	}
	if topK > 0 {
		idx := make([]int, len(p.Probs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p.Probs[b], p.Probs[a]) })
		var tl []map[string]any
		for _, k := range idx[:min(topK, len(idx))] {
			tl = append(tl, map[string]any{"label": labels[k], "probability": round4(p.Probs[k])})
		}
		obj["top"] = tl
	}
	return obj
}

func round4(x float32) float64 { return math.Round(float64(x)*1e4) / 1e4 }
