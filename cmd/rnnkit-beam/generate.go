package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"path"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/spf13/cobra"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*generateFn)(nil)).Elem())
}

// maxSeedLine is the longest seed line, in bytes.
const maxSeedLine = 64 << 10

type generateOptions struct {
	io       ioOptions
	seeds    []string
	prime    string
	stops    []string
	maxBytes int
	fn       generateFn
}

func newGenerateCmd() *cobra.Command {
	o := &generateOptions{}
	c := &cobra.Command{
		Use:   "generate --seeds PATTERN --output PREFIX [--model MODEL]",
		Short: "Generate text with a character-level model from every line of the seed files",
		Long: `Generate text from each seed, one seed per line, as "rnnkit generate --json"
does, as a Beam pipeline.

Each output line is the object of "rnnkit generate --json" with the seed's
file and line first: {"file", "line", "seed", "text", "rng_seed", "chars",
"mean_log_prob", "finish_reason", "stop"}. The random seed of a record is
derived from --rng-seed, the base name of its file and its line number (sample
i of --samples adds i), so a rerun, a retried bundle or a run on another
runner gives the same text, and
  rnnkit generate --json --seed SEED --rng-seed RNG_SEED (same flags)
replays any one of them. A blank line, a line that is not UTF-8 or is over
64 KB, or a seed with a character the model does not know (without
--skip-unknown) goes to the dead letters as {"file", "line", "error"}.`,
		Example: `  rnnkit-beam generate --seeds seeds.txt --output out/gen
  rnnkit-beam generate --seeds 'seeds-*.txt' --output out/gen -n 200 --temperature 0.7 --samples 3`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runGenerate(c, o) },
	}
	f := c.Flags()
	fn := &o.fn
	f.StringArrayVar(&o.seeds, "seeds", nil, "files of seeds, one per line (pattern; repeatable)")
	f.StringVar(&o.prime, "prime", charrnn.DefaultPrime, `text fed before each seed and not printed; '' starts from the zero state`)
	f.IntVarP(&fn.N, "n", "n", 500, "characters to generate per sample")
	f.Float64Var(&fn.Temperature, "temperature", 0.8, "sampling temperature: lower is more conservative, 0 is greedy")
	f.IntVar(&fn.TopK, "top-k", 0, "sample only among the K most likely characters (0 = all)")
	f.Float64Var(&fn.TopP, "top-p", 0, "nucleus sampling: smallest set with this probability mass (0 = off)")
	f.BoolVar(&fn.Greedy, "greedy", false, "always take the most likely character (same as --temperature 0)")
	f.StringArrayVar(&o.stops, "stop", nil, `end when the generated text ends with this (not printed; repeatable; \n and \t are read as newline and tab)`)
	f.IntVar(&fn.Samples, "samples", 1, "samples per seed; sample i uses the record's rng seed + i")
	f.Uint64Var(&fn.RNGSeed, "rng-seed", 0, "base of the random seeds derived per record")
	f.BoolVar(&fn.SkipUnknown, "skip-unknown", false, "drop seed and prime characters the model does not know instead of failing the record")
	f.IntVar(&o.maxBytes, "max-record-bytes", maxSeedLine, "the longest seed line in bytes")
	addIOFlags(c, &o.io, "charrnn", "seeds", 1)
	c.Flags().Lookup("batch").Hidden = true // generation is one sequence at a time
	c.Flags().Lookup("groups").Hidden = true
	return c
}

func runGenerate(c *cobra.Command, o *generateOptions) error {
	ctx := c.Context()
	fn := &o.fn
	switch {
	case len(o.seeds) == 0:
		return usagef("give --seeds PATTERN: files of seeds, one per line")
	case fn.N < 1:
		return usagef("-n must be at least 1, got %d", fn.N)
	case fn.Temperature < 0 || math.IsNaN(fn.Temperature) || math.IsInf(fn.Temperature, 0):
		return usagef("--temperature must be >= 0 (0 = greedy), got %v", fn.Temperature)
	case fn.TopP < 0 || fn.TopP > 1 || math.IsNaN(fn.TopP):
		return usagef("--top-p must be in [0, 1], got %v", fn.TopP)
	case fn.TopK < 0:
		return usagef("--top-k must be >= 0, got %d", fn.TopK)
	case fn.Samples < 1 || fn.Samples > 1<<20:
		return usagef("--samples must be in 1..%d, got %d", 1<<20, fn.Samples)
	case !utf8.ValidString(o.prime):
		return usagef("--prime is not valid UTF-8")
	case o.maxBytes < 1:
		return usagef("--max-record-bytes must be positive")
	}
	if fn.Temperature == 0 {
		fn.Greedy = true
	}
	if p := unescapeFlag(o.prime); p == "" {
		fn.NoPrime = true
	} else if p != charrnn.DefaultPrime {
		fn.Prime = p
	}
	for _, s := range o.stops {
		s = unescapeFlag(s)
		if s == "" || !utf8.ValidString(s) {
			return usagef("--stop %q must be non-empty UTF-8", s)
		}
		fn.Stops = append(fn.Stops, s)
	}
	if err := o.io.prepareOutput(); err != nil {
		return err
	}
	if err := checkInputs(ctx, o.seeds); err != nil {
		return err
	}
	fn.Model = o.io.model
	if err := fn.Setup(ctx); err != nil { // a wrong --model fails here, not on the workers
		return err
	}
	if _, err := fn.m.Start("", fn.options(0)); err != nil { // a bad --prime too
		return usagef("%v", err)
	}
	p, s := beam.NewPipelineWithRoot()
	records, bad := readRecords(s, o.seeds, &readFn{Mode: readLines, Format: "lines", MaxBytes: o.maxBytes}, true)
	res, bad2 := beam.ParDo2(s.Scope("generate"), fn, records)
	return finish(ctx, c.ErrOrStderr(), p, s, &o.io, res, bad, bad2)
}

// unescapeFlag reads \n, \t and \\ in a flag value as a newline, a tab
// and a backslash, as `rnnkit generate` does.
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

// generateFn generates Samples texts from each record's seed.
type generateFn struct {
	Model       string // "" = the embedded default
	N           int
	Temperature float64
	TopK        int
	TopP        float64
	Greedy      bool
	Prime       string
	NoPrime     bool
	Stops       []string
	SkipUnknown bool
	Samples     int
	RNGSeed     uint64

	m scoredGenerator
}

// scoredGenerator is a charrnn.Model or, for the default when it is several
// files (models.CharRNN), a charrnn.Ensemble.
type scoredGenerator interface {
	GenerateScored(ctx context.Context, seed string, opt charrnn.SampleOptions, emit func(string) error) (charrnn.Generation, error)
	Start(seed string, opt charrnn.SampleOptions) (*charrnn.Generator, error)
}

// generation is the object of `rnnkit generate --json` (cmd/rnnkit/charrnn.go)
// with the seed's file and line first.
type generation struct {
	File         string   `json:"file"`
	Line         int      `json:"line"`
	Seed         string   `json:"seed"`
	Text         string   `json:"text"`
	RNGSeed      uint64   `json:"rng_seed"`
	Chars        int      `json:"chars"`
	MeanLogProb  *float64 `json:"mean_log_prob"` // null when Chars is 0
	FinishReason string   `json:"finish_reason"` // "stop" or "length"
	Stop         string   `json:"stop,omitempty"`
}

func (f *generateFn) Setup(ctx context.Context) error {
	if f.Model != "" {
		m, err := loadCached(ctx, charrnn.Kind, f.Model, charrnn.Load, charrnn.LoadBytes)
		f.m = m
		return err
	}
	// The default: every file of models.CharRNN, as rnnkit generate runs it.
	var members []*charrnn.Model
	for _, name := range models.CharRNN {
		m, err := loadCached(ctx, name, "", charrnn.Load, charrnn.LoadBytes)
		if err != nil {
			return err
		}
		members = append(members, m)
	}
	e, err := charrnn.NewEnsemble(members...)
	f.m = e
	return err
}

func (f *generateFn) options(seed uint64) charrnn.SampleOptions {
	return charrnn.SampleOptions{N: f.N, Temperature: f.Temperature, TopK: f.TopK, TopP: f.TopP, Greedy: f.Greedy,
		Seed: seed, SkipUnknown: f.SkipUnknown, Prime: f.Prime, NoPrime: f.NoPrime, Stop: f.Stops}
}

// RecordSeed is the random seed of sample 0 of the record at line of file:
// a hash of base, the file's base name and the line, below 2^52 so that
// every sample's seed (plus i < 2^20) stays a JSON-exact integer.
func RecordSeed(base uint64, file string, line int) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], base)
	h.Write(b[:])
	h.Write([]byte(path.Base(strings.ReplaceAll(file, `\`, "/"))))
	binary.LittleEndian.PutUint64(b[:], uint64(line))
	h.Write(b[:])
	return h.Sum64() & (1<<52 - 1)
}

func (f *generateFn) ProcessElement(ctx context.Context, r Record, emit, dead func(Output)) error {
	base := RecordSeed(f.RNGSeed, r.File, r.Line)
	outs := make([]Output, 0, f.Samples)
	for i := range f.Samples {
		opt := f.options(base + uint64(i))
		var b strings.Builder
		res, err := f.m.GenerateScored(ctx, r.Text, opt, func(s string) error { b.WriteString(s); return nil })
		if err != nil {
			if ctx.Err() != nil {
				return err // cancelled: the runner retries the bundle
			}
			if errors.Is(err, charrnn.ErrUnknownChar) {
				err = fmt.Errorf("%v; pass --skip-unknown to drop such characters", err)
			}
			recordsDead.Inc(ctx, 1)
			dead(deadOutput(r, err))
			return nil
		}
		g := generation{File: r.File, Line: r.Line, Seed: r.Text, Text: b.String(), RNGSeed: opt.Seed, Chars: res.Chars,
			FinishReason: "length", Stop: res.Stop}
		if res.Chars > 0 {
			mlp := res.MeanLogProb()
			g.MeanLogProb = &mlp
		}
		if res.Stop != "" {
			g.FinishReason = "stop"
		}
		outs = append(outs, Output{Key: fmt.Sprintf("%s\x00%08d", r.key(), i), Line: jsonLine(g)})
	}
	for _, o := range outs {
		recordsOK.Inc(ctx, 1)
		emit(o)
	}
	return nil
}
