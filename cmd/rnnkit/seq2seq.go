package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// addSeq2seqCommands registers the seq2seq commands: train seq2seq, eval seq2seq, and the inference command.
func addSeq2seqCommands(root, train, eval *cobra.Command, g *globalOptions) {
	root.AddCommand(newTranslateCmd(g))
	train.AddCommand(newTrainSeq2seqCmd(g))
	eval.AddCommand(newEvalSeq2seqCmd(g))
}

// loadSeq2seq loads --model, or the embedded default when path is empty.
func loadSeq2seq(path string) (*seq2seq.Model, error) {
	return loadModel(path, seq2seq.Kind, seq2seq.Load, seq2seq.LoadBytes)
}

// loadSeq2seqAs is loadSeq2seq with the arithmetic a checked --quantize
// value asks for; a model run int8 is loaded with seq2seq.LoadQuantized, so
// an int8 file's weights are taken as stored.
func loadSeq2seqAs(path, quant string) (*seq2seq.Model, error) {
	return loadModel(path, seq2seq.Kind, quantizingLoader(quant, seq2seq.Kind, seq2seq.Load, seq2seq.LoadQuantized),
		quantizingBytesLoader(quant, seq2seq.LoadBytes, seq2seq.LoadBytesQuantized))
}

// translators are the embedded translation models by direction, each one
// file or an ensemble of several (models.EnEs, models.EsEn); the first is
// the default.
var translators = []struct {
	from, to string
	files    *[]string
}{
	{"en", "es", &models.EnEs},
	{"es", "en", &models.EsEn},
}

// translatorFiles is the list of files of the embedded from->to
// translator (to "" = into any language) and the direction's target
// language; the files are nil when there is none.
func translatorFiles(from, to string) ([]string, string) {
	for _, t := range translators {
		if t.from == from && (to == "" || t.to == to) {
			return *t.files, t.to
		}
	}
	return nil, to
}

// noTranslator is the error for a direction no embedded model translates.
func noTranslator(from, to string) error {
	return usagef("no embedded model translates %s into %s; the embedded ones are en->es and es->en (or pass --model FILE)", from, to)
}

// defaultTranslator loads the embedded translator from into to: its main
// model and the rest of its ensemble, with where each came from
// ("embedded:models/FILE.safetensors"), quantized as quant says.
func defaultTranslator(from, to, quant string) ([]*seq2seq.Model, []string, error) {
	files, to := translatorFiles(from, to)
	if len(files) == 0 {
		return nil, nil, noTranslator(from, to)
	}
	ms, names, err := loadDefaultFiles(files, "the default "+from+"->"+to+" translator",
		quantizingBytesLoader(quant, seq2seq.LoadBytes, seq2seq.LoadBytesQuantized))
	if err != nil {
		return nil, nil, err
	}
	for i, m := range ms[1:] {
		if err := ms[0].SameTokenizers(m); err != nil {
			return nil, nil, fmt.Errorf("%s cannot be decoded with %s: %w", names[i+1], names[0], err)
		}
	}
	return ms, names, nil
}

// loadTranslator loads the main model of the embedded translator from
// into to (without the rest of its ensemble), unquantized.
func loadTranslator(from, to string) (*seq2seq.Model, error) {
	return loadTranslatorAs(from, to, "none")
}

// loadTranslatorAs is loadTranslator with the arithmetic a checked
// --quantize value asks for.
func loadTranslatorAs(from, to, quant string) (*seq2seq.Model, error) {
	files, to := translatorFiles(from, to)
	if len(files) == 0 {
		return nil, noTranslator(from, to)
	}
	ms, _, err := loadDefaultFiles(files[:1], "", quantizingBytesLoader(quant, seq2seq.LoadBytes, seq2seq.LoadBytesQuantized))
	if err != nil {
		return nil, err
	}
	return ms[0], nil
}

// addEnsembleFlag adds --ensemble, the models decoded together with the
// translator.
func addEnsembleFlag(c *cobra.Command, paths *[]string) {
	c.Flags().StringArrayVar(paths, "ensemble", nil, "also decode with this translator (repeatable; same tokenizers), averaging the models' next-token log-probabilities")
}

// addBackFlags adds --back-weight and --back-model (noisy-channel
// re-ranking of the beam by the opposite direction's model).
func addBackFlags(c *cobra.Command, model *string, weight *float64) {
	c.Flags().Float64Var(weight, "back-weight", 1, "beam: add this times how well the opposite direction's model translates each candidate back into the source (its mean log-probability per token; 0 = off)")
	c.Flags().StringVar(model, "back-model", "", "the opposite direction's translator for --back-weight (default: the embedded one, when the model is an embedded default)")
}

// backNeedsModel is the usage error of --back-weight with a --model whose
// opposite direction is not known.
const backNeedsModel = "--back-weight with --model needs --back-model: the translator for the opposite direction"

// loadBack loads the translator that re-ranks translations from language
// from into to (--back-weight): path (--back-model) if given, else the
// embedded to->from model; quantized as --quantize says.
func loadBack(path, from, to, quant string) (*seq2seq.Model, error) {
	if path != "" {
		m, err := loadSeq2seqAs(path, quant)
		if err != nil {
			return nil, fmt.Errorf("--back-model %s: %w", path, err)
		}
		return m, nil
	}
	return loadTranslatorAs(to, from, quant)
}

// loadEnsemble loads the --ensemble models (quantized as --quantize says).
func loadEnsemble(paths []string, quant string) ([]*seq2seq.Model, error) {
	var out []*seq2seq.Model
	for _, p := range paths {
		m, err := loadSeq2seqAs(p, quant)
		if err != nil {
			return nil, fmt.Errorf("--ensemble %s: %w", p, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// sentencesHelp is the help of --sentences (translate, eval seq2seq).
const sentencesHelp = "translate a line of several sentences one sentence at a time and join the translations (a sentence ends at . ! ? or … before a capital letter; false = the whole line at once)"

// maxTranslateLine is the longest input line translate accepts, in bytes.
const maxTranslateLine = 64 << 10

type translateOptions struct {
	model, attention, from, to string
	quantize                   string
	ensemble                   []string
	backModel                  string
	asJSON                     bool
	opt                        seq2seq.TranslateOptions
}

func newTranslateCmd(g *globalOptions) *cobra.Command {
	o := &translateOptions{}
	c := &cobra.Command{
		Use:   "translate [TEXT...]",
		Short: "Translate sentences between English and Spanish (default: English to Spanish)",
		Long: `Translate sentences with an encoder-decoder RNN with attention.

Each TEXT argument is translated; with no TEXT, stdin is read one sentence per
line and one translation per line is written, in order (blank lines stay
blank), so whole files translate with a pipe. A line that cannot be
translated (invalid UTF-8, a NUL byte, too long) is reported on stderr with
its line number and gives an empty output line (a JSON object with "error"
under --json); the rest is translated and the exit status is 1. A long stdin
job shows its progress on stderr when stderr is a terminal.

Two translators are embedded: English->Spanish (the default) and
Spanish->English (--from es), each an ensemble of two int8 models decoded
together (rnnkit models lists them). --from auto detects the language of
each sentence and uses the translator for it. A sentence that looks like
the other language gets a warning on stderr. --model FILE uses a model you
trained instead (--ensemble adds more).

Decoding is a beam search of width 5 by default (--beam 1 is greedy and about
4 times faster); --nbest K lists the K best hypotheses with their scores
(Moses format "N ||| translation ||| log_prob score" in text mode, an "nbest"
list with --json). --back-weight W re-ranks the beam's hypotheses by how well
the model of the opposite direction translates each back into the source
(noisy-channel re-ranking): W (default 1; 0 = off) times its mean
log-probability per token is added to each score. The embedded models
re-rank each other; with --model, give the opposite one as --back-model.
An unknown source word the model cannot spell is copied
through from the source (the word it attended to most). --json prints one
object per sentence with the tokens and the attention matrix (one row per
target token, one column per source token); --attention draws the matrix as
a heatmap PNG (FILE, or FILE-2.png, ... for later sentences).`,
		Example: `  rnnkit translate "Where is the train station?"
  rnnkit translate --from es "¿Dónde está la estación de tren?"
  rnnkit translate --from auto "Good morning." "Buenos días."
  rnnkit translate --beam 1 "I would like a cup of coffee, please."
  rnnkit translate < english.txt > spanish.txt
  rnnkit translate --nbest 3 "I am tired."
  rnnkit translate --json --attention align.png "The cat is sleeping."
  rnnkit translate --model my-en-fr.safetensors "Hello."`,
		RunE: func(c *cobra.Command, args []string) error { return runTranslate(c, g, o, args) },
	}
	f := c.Flags()
	f.StringVar(&o.model, "model", "", "model file (default: the embedded model for --from/--to)")
	f.StringVar(&o.from, "from", "en", "source language of the embedded models: en, es or auto (detect per sentence)")
	f.StringVar(&o.to, "to", "", "target language (default: the other one of en and es)")
	f.IntVar(&o.opt.Beam, "beam", 5, "beam width (1 = greedy, fastest)")
	f.IntVar(&o.opt.NBest, "nbest", 1, "print the N best translations with scores (raises --beam to N if smaller)")
	f.Float64Var(&o.opt.LengthPenalty, "length-penalty", 1, "beam: rank hypotheses by log p / length^this (0 = none)")
	f.Float64Var(&o.opt.LexiconPenalty, "lexicon-penalty", 1, "beam: lower a hypothesis's score by this for each word found neither in the training targets nor in the source (0 = off)")
	f.Float64Var(&o.opt.NamePenalty, "name-penalty", 1, "beam: lower a hypothesis's score by this for each name or number of the source it leaves out (0 = off)")
	f.BoolVar(&o.opt.CopyNames, "copy-names", true, "copy a name or number of the source that the translation lacks in place of the words that attended to it")
	f.BoolVar(&o.opt.SplitSentences, "sentences", true, sentencesHelp)
	f.Float64Var(&o.opt.MaxLenRatio, "max-len-ratio", 2, "stop a translation after this many tokens per source token (+5)")
	f.IntVar(&o.opt.Batch, "batch", 64, "sentences decoded together")
	f.BoolVar(&o.opt.KeepUnk, "keep-unk", false, "print <unk> instead of copying the attended source word")
	f.BoolVar(&o.asJSON, "json", false, "one JSON object per sentence: translation, tokens, attention matrix, log_prob (and nbest)")
	f.StringVar(&o.attention, "attention", "", "draw the attention heatmap to this PNG")
	addQuantizeFlag(c, &o.quantize)
	addEnsembleFlag(c, &o.ensemble)
	addBackFlags(c, &o.backModel, &o.opt.BackWeight)
	return c
}

// translateJob is one input sentence and where it goes: line is its stdin
// line (0 for an argument), bad the reason it cannot be translated.
type translateJob struct {
	text string
	line int
	bad  string
}

// translator routes sentences to the model for their language.
type translator struct {
	c      *cobra.Command
	g      *globalOptions
	o      *translateOptions
	models map[string]*seq2seq.Model // by source language; "" for --model
	// ensembles are the other models of each embedded translator that is
	// an ensemble (models.EnEs, models.EsEn), by source language.
	ensembles map[string][]*seq2seq.Model
	warned    int
}

func (tr *translator) model(lang string) (*seq2seq.Model, error) {
	if m, ok := tr.models[lang]; ok {
		return m, nil
	}
	ms, _, err := defaultTranslator(lang, tr.o.to, tr.o.quantize)
	if err != nil {
		return nil, err
	}
	tr.models[lang], tr.ensembles[lang] = ms[0], ms[1:]
	return ms[0], nil
}

// back returns the translator that re-ranks translations from lang by
// translating them back (--back-weight): --back-model, or the embedded
// model of the opposite direction; nil for a --model without --back-model.
func (tr *translator) back(lang string) (*seq2seq.Model, error) {
	key := "back:" + lang
	if tr.o.backModel != "" {
		key = "back"
	}
	if m, ok := tr.models[key]; ok {
		return m, nil
	}
	if tr.o.backModel == "" && tr.o.model != "" {
		if tr.c.Flags().Changed("back-weight") {
			return nil, usagef(backNeedsModel)
		}
		return nil, nil // the default applies where the opposite model is known
	}
	to := tr.o.to
	if to == "" {
		to = map[string]string{"en": "es", "es": "en"}[lang]
	}
	m, err := loadBack(tr.o.backModel, lang, to, tr.o.quantize)
	if err != nil {
		return nil, err
	}
	tr.models[key] = m
	return m, nil
}

// source picks the source language of one sentence and warns when it looks
// like the other language.
func (tr *translator) source(job translateJob) string {
	if tr.o.model != "" {
		return ""
	}
	got := seq2seq.DetectLanguage(job.text)
	if tr.o.from == "auto" {
		if got == "" {
			return "en"
		}
		return got
	}
	if got != "" && got != tr.o.from {
		tr.warned++
		if tr.warned <= 3 {
			where := "the sentence"
			if job.line > 0 {
				where = fmt.Sprintf("stdin:%d", job.line)
			}
			status(tr.c, tr.g, "warning: %s looks like %s, not %s; use --from %s or --from auto", where, langName(got), langName(tr.o.from), got)
		}
	}
	return tr.o.from
}

func langName(code string) string {
	switch code {
	case "en":
		return "English"
	case "es":
		return "Spanish"
	}
	return code
}

// translate translates a chunk of jobs, keeping their order. A stdin
// sentence the model refuses (too long) is marked bad and the rest go on.
func (tr *translator) translate(jobs []translateJob) ([]seq2seq.Translation, error) {
	for {
		out, err := tr.translateOnce(jobs)
		var ie *seq2seq.InputError
		if err == nil || !errors.As(err, &ie) || jobs[0].line == 0 {
			return out, err
		}
		jobs[ie.Index].bad = ie.Err.Error()
	}
}

func (tr *translator) translateOnce(jobs []translateJob) ([]seq2seq.Translation, error) {
	out := make([]seq2seq.Translation, len(jobs))
	byLang := map[string][]int{}
	var langs []string
	for i, j := range jobs {
		if j.bad != "" {
			continue
		}
		l := tr.source(j)
		if _, ok := byLang[l]; !ok {
			langs = append(langs, l)
		}
		byLang[l] = append(byLang[l], i)
	}
	for _, l := range langs {
		m, err := tr.model(l)
		if err != nil {
			return nil, err
		}
		idx := byLang[l]
		texts := make([]string, len(idx))
		for k, i := range idx {
			texts[k] = jobs[i].text
		}
		opt := tr.o.opt
		if e := tr.ensembles[l]; len(e) > 0 {
			opt.Ensemble = append(slices.Clip(e), opt.Ensemble...)
		}
		if opt.BackWeight > 0 && opt.Beam > 1 {
			if opt.Back, err = tr.back(l); err != nil {
				return nil, err
			}
		}
		trs, err := m.Translate(tr.c.Context(), texts, opt)
		var ie *seq2seq.InputError
		if errors.As(err, &ie) {
			return nil, &seq2seq.InputError{Index: idx[ie.Index], Err: ie.Err} // the job's index
		}
		if err != nil {
			return nil, err
		}
		for k, i := range idx {
			out[i] = trs[k]
		}
	}
	return out, nil
}

func runTranslate(c *cobra.Command, g *globalOptions, o *translateOptions, args []string) error {
	if o.opt.Beam < 1 || o.opt.Beam > 64 {
		return usagef("--beam must be in 1..64, got %d", o.opt.Beam)
	}
	if o.opt.NBest < 1 || o.opt.NBest > 64 {
		return usagef("--nbest must be in 1..64, got %d", o.opt.NBest)
	}
	o.opt.Beam = max(o.opt.Beam, o.opt.NBest)
	if o.opt.Batch < 1 {
		return usagef("--batch must be >= 1, got %d", o.opt.Batch)
	}
	if o.opt.MaxLenRatio <= 0 || math.IsNaN(o.opt.MaxLenRatio) {
		return usagef("--max-len-ratio must be > 0")
	}
	if o.opt.LengthPenalty < 0 || math.IsNaN(o.opt.LengthPenalty) {
		return usagef("--length-penalty must be >= 0")
	} else if o.opt.LengthPenalty == 0 {
		o.opt.LengthPenalty = -1 // none
	}
	switch o.from {
	case "en", "es", "auto":
	default:
		return usagef("--from must be en, es or auto, got %q", o.from)
	}
	switch o.to {
	case "", "en", "es":
	default:
		return usagef("--to must be en or es, got %q", o.to)
	}
	if o.to != "" && o.to == o.from {
		return usagef("--from and --to are both %s", o.from)
	}
	if o.model != "" && (c.Flags().Changed("from") || c.Flags().Changed("to")) {
		return usagef("--from and --to choose among the embedded models; with --model the file decides")
	}
	if err := checkQuantize(o.quantize); err != nil {
		return err
	}
	for i, a := range args {
		if !utf8.ValidString(a) {
			return usagef("argument %d is not valid UTF-8", i+1)
		}
		if len(a) > maxTranslateLine {
			return usagef("argument %d is %d bytes long (at most %d); split it into sentences", i+1, len(a), maxTranslateLine)
		}
	}
	if len(o.ensemble) > 0 && o.from == "auto" && o.model == "" {
		return usagef("--ensemble needs one direction: give --from en or --from es (or --model)")
	}
	ens, err := loadEnsemble(o.ensemble, o.quantize)
	if err != nil {
		return err
	}
	o.opt.Ensemble = ens
	tr := &translator{c: c, g: g, o: o, models: map[string]*seq2seq.Model{}, ensembles: map[string][]*seq2seq.Model{}}
	if o.model != "" {
		m, err := loadSeq2seqAs(o.model, o.quantize)
		if err != nil {
			return err
		}
		tr.models[""] = m
	} else if o.from != "auto" {
		if _, err := tr.model(o.from); err != nil {
			return err
		}
	}
	w := bufio.NewWriter(c.OutOrStdout())
	defer w.Flush()
	n, failed := 0, 0
	emit := func(jobs []translateJob) error {
		trs, err := tr.translate(jobs)
		if err != nil {
			var ie *seq2seq.InputError
			if errors.As(err, &ie) && jobs[0].line == 0 {
				return usagef("argument %d: %v", ie.Index+1, ie.Err)
			}
			return err
		}
		for i, t := range trs {
			n++
			if jobs[i].bad != "" {
				failed++
				c.PrintErrf("rnnkit: stdin:%d: %s\n", jobs[i].line, jobs[i].bad)
				if o.asJSON {
					if err := writeJSONLine(w, map[string]any{"line": jobs[i].line, "error": jobs[i].bad}); err != nil {
						return err
					}
				} else {
					w.WriteByte('\n')
				}
				continue
			}
			switch {
			case o.asJSON:
				if err := writeJSONLine(w, t); err != nil {
					return err
				}
			case o.opt.NBest > 1:
				for _, a := range t.NBest {
					fmt.Fprintf(w, "%d ||| %s ||| %.4f %.4f\n", n-1, a.Text, a.LogProb, a.Score)
				}
			default:
				w.WriteString(t.Text)
				w.WriteByte('\n')
			}
			if o.attention != "" && len(t.Target) > 0 {
				path := o.attention
				if n > 1 {
					ext := filepath.Ext(path)
					path = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(path, ext), n, ext)
				}
				if err := plotAttention(path, t); err != nil {
					return err
				}
			}
		}
		return w.Flush()
	}
	defer func() {
		if tr.warned > 3 {
			status(c, g, "warning: %d sentences in all look like another language than --from %s", tr.warned, o.from)
		}
	}()
	if len(args) > 0 {
		jobs := make([]translateJob, len(args))
		for i, a := range args {
			jobs[i] = translateJob{text: a}
		}
		return emit(jobs)
	}
	if f, ok := c.InOrStdin().(*os.File); ok && f == os.Stdin && isTerminalFile(f) {
		status(c, g, "reading sentences from the terminal, one per line; end with Ctrl-D")
	}
	bar := newProgress(c, g, -1, "translating")
	defer bar.Finish()
	sc := bufio.NewScanner(c.InOrStdin())
	sc.Buffer(make([]byte, 0, 64<<10), maxTranslateLine)
	var chunk []translateJob
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		job := translateJob{text: s, line: line}
		if !utf8.ValidString(s) {
			job.bad = "invalid UTF-8; convert the input to UTF-8"
		} else if strings.IndexByte(s, 0) >= 0 {
			job.bad = "NUL byte (binary input?); give UTF-8 text, one sentence per line"
		}
		chunk = append(chunk, job)
		if len(chunk) == 256 {
			if err := emit(chunk); err != nil {
				return err
			}
			bar.Add(len(chunk))
			chunk = chunk[:0]
		}
	}
	if err := sc.Err(); err != nil {
		if len(chunk) > 0 {
			if err := emit(chunk); err != nil {
				return err
			}
		}
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("stdin:%d: line longer than %d KB; give one sentence per line", line+1, maxTranslateLine>>10)
		}
		return fmt.Errorf("stdin: %v", err)
	}
	if line == 0 {
		return errors.New("stdin: empty input; give TEXT arguments or sentences on stdin, one per line")
	}
	if len(chunk) > 0 {
		if err := emit(chunk); err != nil {
			return err
		}
		bar.Add(len(chunk))
	}
	if failed > 0 {
		c.PrintErrf("rnnkit: %d of %d lines could not be translated\n", failed, line)
		return exitError{1}
	}
	return nil
}

// isTerminalFile reports whether f is an interactive terminal.
func isTerminalFile(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// attnGrid adapts an attention matrix to plotter.GridXYZ: columns are source
// tokens, rows target tokens (first at the top).
type attnGrid struct{ a [][]float32 }

func (g attnGrid) Dims() (c, r int)   { return len(g.a[0]), len(g.a) }
func (g attnGrid) Z(c, r int) float64 { return float64(g.a[len(g.a)-1-r][c]) }
func (g attnGrid) X(c int) float64    { return float64(c) }
func (g attnGrid) Y(r int) float64    { return float64(r) }
func (g attnGrid) Min() float64       { return 0 }
func (g attnGrid) Max() float64       { return 1 }

func tokenTicks(labels []string, reverse bool) plot.TickerFunc {
	return func(min, max float64) []plot.Tick {
		ts := make([]plot.Tick, len(labels))
		for i, l := range labels {
			v := i
			if reverse {
				v = len(labels) - 1 - i
			}
			ts[i] = plot.Tick{Value: float64(v), Label: strings.ReplaceAll(l, "▁", "_")}
		}
		return ts
	}
}

// plotAttention draws tr's attention matrix as a heatmap.
func plotAttention(path string, tr seq2seq.Translation) error {
	if len(tr.Attention) == 0 || len(tr.Attention[0]) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = tr.Text
	p.X.Label.Text = "source"
	p.Y.Label.Text = "translation"
	h := plotter.NewHeatMap(attnGrid{tr.Attention}, moreland.SmoothBlueRed().Palette(64))
	p.Add(h)
	p.X.Tick.Marker = tokenTicks(tr.Source, false)
	p.Y.Tick.Marker = tokenTicks(tr.Target, true)
	p.X.Tick.Label.Rotation = math.Pi / 3
	p.X.Tick.Label.XAlign = -1
	w := vg.Length(3+0.35*float64(len(tr.Source))) * vg.Inch
	hh := vg.Length(2.5+0.3*float64(len(tr.Target))) * vg.Inch
	if err := p.Save(w, hh, path); err != nil {
		return fmt.Errorf("attention plot %s: %v", path, err)
	}
	return nil
}

type trainSeq2seqOptions struct {
	data, out, resume, checkpoint, plot, dtype, cell, attention, tokenizer, valOut string
	license, attribution, log, init                                                string
	splitSeed                                                                      string
	reverse, segments                                                              bool
	srcVocab, tgtVocab, maxPairs                                                   int
	cfg                                                                            seq2seq.Config
	opt                                                                            seq2seq.TrainOptions
	valFrac                                                                        float64
	split                                                                          string
	jointVocab                                                                     int
	splitPunct, openMarks                                                          bool
	aug                                                                            seq2seq.AugmentOptions
}

// seq2seqResume is what train seq2seq --resume checks.
var seq2seqResume = resumeSpec{
	kind: seq2seq.Kind,
	fixed: []string{"cell", "embedding", "enc-hidden", "enc-layers", "dec-hidden", "dec-layers", "attention", "attn-hidden",
		"input-feeding", "tie-embeddings", "dropout", "tokenizer", "src-vocab", "tgt-vocab", "joint-vocab", "split-punct", "open-marks"},
	data: []string{"reverse", "max-pairs", "split", "val-frac", "seed", "augment-names", "augment-nopunct", "augment-lower",
		"augment-segments", "augment-short", "init", "split-seed", "bpe-dropout"},
	// checkpoints of runs from before these flags ran as these values
	since: map[string]string{"augment-segments": "false", "augment-short": "0", "init": "", "open-marks": "false", "split-seed": "", "bpe-dropout": "0"},
	config: map[string]string{"cell": "cell", "embedding": "embedding", "enc-hidden": "enc_hidden", "enc-layers": "enc_layers",
		"dec-hidden": "dec_hidden", "dec-layers": "dec_layers", "attention": "attention", "input-feeding": "input_feeding",
		"tie-embeddings": "tie_embeddings", "dropout": "dropout"},
	norm: map[string]func(string) string{"cell": normCell, "attention": strings.ToLower},
}

func newTrainSeq2seqCmd(g *globalOptions) *cobra.Command {
	o := &trainSeq2seqOptions{}
	c := &cobra.Command{
		Use:   "seq2seq --data PAIRS --out MODEL.safetensors",
		Short: "Train a translator (encoder-decoder RNN with attention) on sentence pairs",
		Long: `Train an encoder-decoder translator with attention on sentence pairs in the
Tatoeba/manythings TSV format: Source<TAB>Target per line (an optional third
attribution column is ignored). --reverse swaps the columns, so spa.txt
(English<TAB>Spanish) trains Spanish->English.

A BPE vocabulary is learnt per side from the training pairs (or one for both
sides with --joint-vocab, which segments names alike on both sides so they
copy through), with sentence punctuation split from words (--split-punct) and
the word after ¡ or ¿ spelt as after a space (--open-marks).
--val-frac of the pairs is the validation split: by default whole clusters of
near-duplicates are held out (--split cluster: pairs whose sources or targets
match after normalising case, punctuation and contractions, whose sources
share their content words, or whose long sources are one word apart), so no
validation sentence has a near-paraphrase in training and validation BLEU
predicts BLEU on new sentences; --split source holds out exact source
sentences only, which runs about 16 BLEU high on Tatoeba. The training pairs
are augmented (never the validation pairs): copies with names swapped for
other or invented names (--augment-names), without final punctuation
(--augment-nopunct) and lowercased (--augment-lower); 0 turns each off. Its BLEU is measured every epoch (or --eval-every
steps) and the best model by validation BLEU is written to --out whenever it
improves. A checkpoint (default: OUT.ckpt) is written at each evaluation and
on Ctrl-C; --resume CHECKPOINT continues where it stopped (same data and
flags: a flag that shapes the model or its vocabularies must repeat the
checkpoint's run, and the pairs, their split and augmentation must be the
same, which the checkpoint's sha256 of them checks). --val-out writes the
held-out pairs, for "rnnkit eval seq2seq". --log FILE.jsonl appends one JSON
object per evaluation: step, steps, epoch, train_loss (the mean since the
previous one), val_bleu, best_val_bleu, lr, elapsed_s and time.`,
		Example: `  rnnkit train seq2seq --data spa.txt --out en-es.safetensors
  rnnkit train seq2seq --data spa.txt --out es-en.safetensors --reverse
  rnnkit train seq2seq --data spa.txt --out small.safetensors --vocab 4000 --enc-hidden 128 --dec-hidden 256 --epochs 3 --plot bleu.png
  rnnkit train seq2seq --data spa.txt --out en-es.safetensors --resume en-es.safetensors.ckpt`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTrainSeq2seq(c, g, o) },
	}
	f := c.Flags()
	f.StringVar(&o.data, "data", "", "sentence pairs, Source<TAB>Target per line (required)")
	f.StringVar(&o.out, "out", "", "where to write the best model (required)")
	f.BoolVar(&o.reverse, "reverse", false, "swap the columns: translate from the second into the first")
	f.StringVar(&o.resume, "resume", "", "continue from this checkpoint")
	f.StringVar(&o.init, "init", "", `start from this translator's weights and tokenizers ("default": the embedded one for the direction) with a fresh optimizer and schedule; the flags that shape the model come from it (with --resume, the checkpoint's weights are used)`)
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint path (default: OUT.ckpt)")
	f.IntVar(&o.opt.CheckpointEvery, "checkpoint-every", 0, "steps between checkpoints (default: every evaluation)")
	f.StringVar(&o.plot, "plot", "", "draw training loss and validation BLEU curves to this PNG")
	addTrainLogFlag(c, &o.log)
	f.StringVar(&o.dtype, "dtype", "f32", "storage type of --out: f32, f16 (half the size) or int8 (weight matrices as int8 with a scale per row: about a quarter)")
	f.StringVar(&o.valOut, "val-out", "", "write the held-out validation pairs (TSV) to this file")
	f.IntVar(&o.maxPairs, "max-pairs", 0, "use only the first N pairs (0 = all)")
	f.StringVar(&o.license, "license", "", "licence of the training data, kept in the model metadata")
	f.StringVar(&o.attribution, "attribution", "", "attribution of the training data, kept in the model metadata")

	f.StringVar(&o.tokenizer, "tokenizer", "bpe", "vocabulary per side: bpe (subwords) or word")
	f.IntVar(&o.srcVocab, "src-vocab", 6000, "source vocabulary size")
	f.IntVar(&o.tgtVocab, "tgt-vocab", 6000, "target vocabulary size")
	f.IntVar(&o.jointVocab, "joint-vocab", 0, "one BPE vocabulary of this size for both sides (0 = one per side, --src-vocab/--tgt-vocab)")
	f.BoolVar(&o.splitPunct, "split-punct", true, "BPE: punctuation is its own token (\"Hello.\" and \"Hello!\" share \"Hello\")")
	f.BoolVar(&o.openMarks, "open-marks", true, "BPE with --split-punct: the word after ¡ or ¿ starts with ▁ as after a space (\"¡Hola!\" gives ▁ ¡ ▁Hola, as \"Hola.\" does)")
	f.StringVar(&o.split, "split", "cluster", "validation split: cluster (near-duplicates held out together) or source (exact sources)")
	def := seq2seq.DefaultAugmentOptions()
	f.Float64Var(&o.aug.Names, "augment-names", def.Names, "share of training pairs with a name that get a copy with another name (0 = off)")
	f.Float64Var(&o.aug.NoPunct, "augment-nopunct", def.NoPunct, "share of training pairs that get a copy without final punctuation (0 = off)")
	f.Float64Var(&o.aug.Lower, "augment-lower", def.Lower, "share of training pairs that get a lowercased copy (0 = off)")
	f.IntVar(&o.aug.Short, "augment-short", def.Short, "extra copies of each training pair whose source has at most 3 words (greetings, thanks, short answers)")
	f.BoolVar(&o.segments, "augment-segments", true, "also train on the sentences inside multi-sentence pairs and on pairs without the name they address (\"Good luck, Tom.\" gives \"Good luck.\"), except near-duplicates of validation pairs")
	f.StringVar(&o.cell, "cell", "gru", "recurrent cell: gru or lstm")
	f.IntVar(&o.cfg.Embedding, "embedding", 128, "embedding width (both sides)")
	f.IntVar(&o.cfg.EncHidden, "enc-hidden", 256, "encoder hidden units per direction")
	f.IntVar(&o.cfg.EncLayers, "enc-layers", 1, "stacked bidirectional encoder layers")
	f.IntVar(&o.cfg.DecHidden, "dec-hidden", 256, "decoder hidden units")
	f.IntVar(&o.cfg.DecLayers, "dec-layers", 1, "stacked decoder layers")
	f.StringVar(&o.attention, "attention", "additive", "attention: additive (Bahdanau), dot or general (Luong)")
	f.IntVar(&o.cfg.AttnHidden, "attn-hidden", 0, "additive attention width (default: --dec-hidden)")
	f.BoolVar(&o.cfg.InputFeeding, "input-feeding", false, "feed the previous attention context into the decoder")
	f.BoolVar(&o.cfg.TieEmbeddings, "tie-embeddings", false, "tie the output layer to the target embedding (smaller, faster softmax input)")
	f.Float32Var(&o.cfg.Dropout, "dropout", 0.2, "dropout on embeddings, between layers and before the output layer (0 = none)")

	f.IntVar(&o.opt.Batch, "batch", 64, "pairs per step (length-bucketed)")
	f.Float64Var(&o.opt.Epochs, "epochs", 10, "passes over the training pairs")
	f.Float64Var(&o.opt.LR, "lr", 1e-3, "peak Adam learning rate (cosine schedule with warm-up)")
	f.IntVar(&o.opt.Warmup, "warmup", 200, "warm-up steps (0 = none)")
	f.Float64Var(&o.opt.Clip, "clip", 5, "global gradient-norm clip (0 or negative = off)")
	f.Float32Var(&o.opt.LabelSmoothing, "label-smoothing", 0.1, "label smoothing ε (0 = off)")
	f.Float64Var(&o.opt.TeacherForcing, "teacher-forcing", 1, "probability of feeding the gold previous token, else the model's own (0 = always its own)")
	f.IntVar(&o.opt.MaxLen, "max-len", 50, "skip training pairs with more tokens on either side")
	f.Float64Var(&o.opt.BPEDropout, "bpe-dropout", 0, "BPE-dropout: re-encode the training pairs every epoch with each merge skipped with this probability, so words are also seen in finer pieces (0 = off; 0.1 is usual)")
	f.Float64Var(&o.valFrac, "val-frac", 0.02, "fraction of source sentences held out for validation")
	f.IntVar(&o.opt.ValMax, "val-max", 1000, "validation sentences translated per evaluation (0 = all)")
	f.IntVar(&o.opt.EvalEvery, "eval-every", 0, "steps between validation BLEU measurements (default: once per epoch)")
	f.IntVar(&o.opt.Patience, "patience", 0, "stop after this many evaluations without improvement (0 = off)")
	f.Uint64Var(&o.opt.Seed, "seed", 1, "random seed (split, initialization, batches, dropout; 0 is a seed like any other)")
	f.StringVar(&o.splitSeed, "split-seed", "", "random seed of the split and the augmentation only (default: --seed); models trained with one --split-seed and different --seed values share their validation pairs and tokenizers, so they can be decoded together (--ensemble)")
	f.BoolVar(&o.opt.SkipNonFinite, "skip-nonfinite", false, "skip steps with a NaN/Inf loss or gradient instead of stopping")
	return c
}

// checkSeq2seqInitFlags refuses, with --init, the flags that shape the
// model and a model file that is not there: it runs before the data are
// read, so the mistake costs no time.
func checkSeq2seqInitFlags(c *cobra.Command, o *trainSeq2seqOptions) error {
	for _, name := range seq2seqResume.fixed {
		if f := c.Flags().Lookup(name); f != nil && f.Changed {
			return usagef("--%s shapes the model, and --init %s has its own; leave --%s out", name, o.init, name)
		}
	}
	if o.init == "default" {
		return nil
	}
	if _, err := os.Stat(o.init); err != nil {
		return fmt.Errorf("--init: %w", err)
	}
	return checkModelFile(o.init)
}

// loadInitTranslator loads --init for fine-tuning: a file, or "default"
// for the embedded model of the direction --reverse picks. The flags that
// shape a model must be left out, as the model has its own.
func loadInitTranslator(c *cobra.Command, o *trainSeq2seqOptions) (*seq2seq.Model, error) {
	if err := checkSeq2seqInitFlags(c, o); err != nil {
		return nil, err
	}
	var m *seq2seq.Model
	var err error
	if o.init == "default" {
		from, to := "en", "es"
		if o.reverse {
			from, to = to, from
		}
		m, err = loadTranslator(from, to)
	} else {
		m, err = loadSeq2seq(o.init)
	}
	if err != nil {
		return nil, fmt.Errorf("--init %s: %w", o.init, err)
	}
	for k := range m.Meta {
		if strings.HasPrefix(k, "quality.") {
			delete(m.Meta, k) // measured on the old run's split
		}
	}
	m.Meta["init"] = o.init
	return m, nil
}

func writePairs(path string, pairs []seq2seq.Pair) error {
	var b strings.Builder
	for _, p := range pairs {
		b.WriteString(p.Source + "\t" + p.Target + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func runTrainSeq2seq(c *cobra.Command, g *globalOptions, o *trainSeq2seqOptions) error {
	if err := checkTrainOut(o.data != "", o.out); err != nil {
		return err
	}
	dtype, err := parseDType(o.dtype)
	if err != nil {
		return err
	}
	cell, err := rnn.ParseCell(o.cell)
	if err != nil || (cell != rnn.GRU && cell != rnn.LSTM) {
		return usagef("--cell must be gru or lstm, got %q", o.cell)
	}
	attn, err := rnn.ParseAttention(o.attention)
	if err != nil {
		return usageError{err}
	}
	if o.valFrac <= 0 || o.valFrac >= 1 {
		return usagef("--val-frac must be in (0, 1), got %v", o.valFrac)
	}
	if c.Flags().Changed("open-marks") && o.openMarks && (!o.splitPunct || o.tokenizer != seq2seq.TokenizerBPE) {
		return usagef("--open-marks needs --tokenizer bpe with --split-punct (it sets ¡ and ¿ apart from the punctuation those split off)")
	}
	if o.init != "" && o.resume == "" {
		if err := checkSeq2seqInitFlags(c, o); err != nil {
			return err
		}
	}
	if o.opt.ValMax == 0 {
		o.opt.ValMax = -1
	}
	if st, err := os.Stat(o.data); err != nil {
		return err
	} else if st.IsDir() {
		return fmt.Errorf("%s is a directory; give a Source<TAB>Target file", o.data)
	} else if err := corpora.CheckRegular(o.data); err != nil {
		return err
	} else if st.Size() == 0 {
		return fmt.Errorf("%s: file is empty", o.data)
	}
	pairs, err := seq2seq.ReadPairsFile(o.data, o.reverse)
	if err != nil {
		return err
	}
	if o.maxPairs > 0 && len(pairs) > o.maxPairs {
		pairs = pairs[:o.maxPairs]
	}
	splitSeed := o.opt.Seed
	if o.splitSeed != "" {
		if splitSeed, err = strconv.ParseUint(o.splitSeed, 10, 64); err != nil {
			return usagef("--split-seed must be a non-negative integer, got %q", o.splitSeed)
		}
	}
	var trainPairs, val []seq2seq.Pair
	switch o.split {
	case "cluster":
		var st corpora.ClusterStats
		trainPairs, val, st = seq2seq.ClusterSplitPairs(pairs, o.valFrac, splitSeed, seq2seq.ClusterOptions{})
		status(c, g, "validation split: %d clusters of near-duplicates, the largest %d pairs (%d clusters over the cap stay in training)", st.Clusters, st.Largest, st.Capped)
		if len(val) == 0 {
			status(c, g, "warning: the near-duplicate clusters are too large to hold any out; holding out exact source sentences instead (--split source)")
			trainPairs, val = seq2seq.SplitPairs(pairs, o.valFrac, splitSeed)
		}
	case "source":
		trainPairs, val = seq2seq.SplitPairs(pairs, o.valFrac, splitSeed)
	default:
		return usagef("--split must be cluster or source, got %q", o.split)
	}
	if len(val) == 0 || len(trainPairs) == 0 {
		return fmt.Errorf("%s: %d pairs are too few to hold out a validation split; use more pairs or a larger --val-frac", o.data, len(pairs))
	}
	if o.segments {
		found := seq2seq.SegmentPairs(trainPairs)
		segs := seq2seq.DropNearDuplicates(found, val)
		trainPairs = append(slices.Clip(trainPairs), segs...)
		status(c, g, "added %d shorter pairs found inside training pairs (%d more were near-duplicates of validation pairs)", len(segs), len(found)-len(segs))
	}
	lexicon := seq2seq.TargetLexicon(trainPairs) // before augmentation: no invented names
	o.aug.Seed = splitSeed
	if n := len(trainPairs); o.aug != (seq2seq.AugmentOptions{Seed: o.aug.Seed}) {
		trainPairs = seq2seq.Augment(trainPairs, o.aug)
		status(c, g, "augmented %d training pairs with %d altered copies", n, len(trainPairs)-n)
	}
	if o.valOut != "" {
		if err := writePairs(o.valOut, val); err != nil {
			return err
		}
	}
	h := newDataHash()
	for _, part := range [][]seq2seq.Pair{trainPairs, val} {
		h.add(strconv.Itoa(len(part)))
		for _, p := range part {
			h.add(p.Source, p.Target)
		}
	}
	dataSHA := h.sum()
	run, err := startTrain(c, g, seq2seqResume, o.resume, dataSHA, o.log, &o.opt.Options, o.out, o.checkpoint, dtype)
	if err != nil {
		return err
	}
	defer run.log.close()
	o.opt.Val = val
	topt := o.opt
	if legacyRun(o.resume) {
		legacyZeros(&topt.Options, 200)
		if !(topt.TeacherForcing > 0 && topt.TeacherForcing <= 1) {
			topt.TeacherForcing = 1
		}
	} else if !(topt.TeacherForcing >= 0 && topt.TeacherForcing <= 1) {
		return usagef("--teacher-forcing must be a probability in [0, 1], got %v", topt.TeacherForcing)
	}
	report := func(p seq2seq.Progress) {
		run.report(p.Step, p.Steps, p.Epoch, p.LR, p.Loss,
			fmt.Sprintf("epoch %.2f loss %.3f BLEU %s best %s %.0f pairs/s", p.Epoch, p.Loss, fmtOr("%.1f", p.ValBLEU), fmtOr("%.1f", bestOr(p.BestBLEU)), p.PairsPerSec),
			p.Evaluated, func() string {
				return fmt.Sprintf("step %d/%d epoch %.2f loss %.4f val BLEU %.2f best %.2f lr %.2e %.0f pairs/s %s",
					p.Step, p.Steps, p.Epoch, p.Loss, p.ValBLEU, p.BestBLEU, p.LR, p.PairsPerSec, p.Elapsed.Round(1e9))
			}, logField{"val_bleu", p.ValBLEU}, logField{"best_val_bleu", p.BestBLEU})
	}
	var m *seq2seq.Model
	var res seq2seq.Result
	switch {
	case o.resume != "":
		status(c, g, "resuming from %s", o.resume)
		m, res, err = seq2seq.Resume(c.Context(), o.resume, trainPairs, topt, report)
	case o.init != "":
		if m, err = loadInitTranslator(c, o); err != nil {
			return err
		}
		m.Meta["trained_on"] = filepath.Base(o.data)
		seq2seqResume.recordData(c, m.Meta, dataSHA)
		m.SetLexicon(lexicon)
		status(c, g, "fine-tuning %s (%d parameters, vocab %d/%d) on %d pairs, validating on %d pairs",
			o.init, m.Params.Len(), m.Config.SrcVocab, m.Config.TgtVocab, len(trainPairs), len(val))
		res, err = seq2seq.Train(c.Context(), m, trainPairs, topt, report)
	default:
		if o.tokenizer != seq2seq.TokenizerBPE && o.tokenizer != seq2seq.TokenizerWord {
			return usagef("--tokenizer must be bpe or word, got %q", o.tokenizer)
		}
		src, tgt, terr := seq2seq.TrainTokenizers(trainPairs, seq2seq.TokenizerOptions{Kind: o.tokenizer,
			SrcVocab: o.srcVocab, TgtVocab: o.tgtVocab, JointVocab: o.jointVocab, SplitPunct: o.splitPunct, OpenMarks: o.openMarks})
		if terr != nil {
			return terr
		}
		o.cfg.Cell, o.cfg.Attention = cell, attn
		m, err = seq2seq.New(o.cfg, src, tgt)
		if err != nil {
			return usageError{err}
		}
		m.Meta["trained_on"] = filepath.Base(o.data)
		seq2seqResume.record(c, m.Meta, dataSHA)
		m.SetLexicon(lexicon)
		if o.reverse {
			m.Meta["direction"] = "reverse (second column -> first)"
		}
		if o.license != "" {
			m.Meta["license"] = o.license
		}
		if o.attribution != "" {
			m.Meta["attribution"] = o.attribution
		}
		m.Init(initRNG(o.opt.Seed))
		status(c, g, "training %s seq2seq (%d parameters, vocab %d/%d, %s attention) on %d pairs, validating on %d pairs",
			cell, m.Params.Len(), m.Config.SrcVocab, m.Config.TgtVocab, attn, len(trainPairs), len(val))
		res, err = seq2seq.Train(c.Context(), m, trainPairs, topt, report)
	}
	if err := run.finish(err, res.Steps); err != nil {
		return err
	}
	type pt = seq2seq.Point
	if err := plotHistory(o.plot, "seq2seq training", "loss (nats/token) and BLEU/10", res.History, func(p pt) int { return p.Step },
		historyCurve[pt]{name: "train loss", y: func(p pt) float64 { return p.Loss }},
		historyCurve[pt]{name: "validation BLEU / 10", y: func(p pt) float64 { return p.ValBLEU / 10 }}); err != nil {
		return err
	}
	if res.BestBLEU < 0 {
		return noEvaluationYet(c)
	}
	m.Meta["quality.val_bleu"] = fmt.Sprintf("%.2f", res.BestBLEU)
	m.Meta["quality.val_chrf2"] = fmt.Sprintf("%.2f", res.BestChrF)
	m.Meta["quality.val_sentences"] = fmt.Sprint(res.ValSentences)
	if err := m.Save(o.out, dtype); err != nil {
		return err
	}
	status(c, g, "%s after %d steps: best validation BLEU %.2f (chrF2 %.2f) at step %d; model written to %s",
		res.Stopped, res.Steps, res.BestBLEU, res.BestChrF, res.BestStep, o.out)
	return nil
}

func newEvalSeq2seqCmd(g *globalOptions) *cobra.Command {
	var (
		model, data string
		quant       string
		asJSON      bool
		reverse     bool
		hypsOut     string
		scoreFile   string
		ensemble    []string
		backModel   string
		opt         seq2seq.TranslateOptions
	)
	c := &cobra.Command{
		Use:   "seq2seq --data PAIRS [--model MODEL]",
		Short: "Score a translator with corpus BLEU (sacreBLEU-compatible) and chrF2",
		Long: `Translate the source column of a Source<TAB>Target file and score the
translations with corpus BLEU (sacreBLEU's defaults: 13a tokenization, exp
smoothing; the signature is printed) and chrF2. When a source sentence
appears on several lines, all its targets are its references.

--score FILE scores another system's output instead of a model: FILE holds
one translation per line of --data (for a repeated source the first line's
translation counts), so any translator is measured on the same sentences.`,
		Example: `  rnnkit eval seq2seq --data heldout.tsv
  rnnkit eval seq2seq --model es-en.safetensors --data heldout.tsv --reverse --beam 5
  rnnkit eval seq2seq --data heldout.tsv --json --hyps out.txt
  cut -f1 heldout.tsv | apertium -u eng-spa > apertium.txt; rnnkit eval seq2seq --data heldout.tsv --score apertium.txt`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkQuantize(quant); err != nil {
				return err
			}
			if data == "" {
				return usagef("--data is required")
			}
			if opt.Beam < 1 || opt.Beam > 64 {
				return usagef("--beam must be in 1..64, got %d", opt.Beam)
			}
			if st, err := os.Stat(data); err != nil {
				return err
			} else if err := corpora.CheckRegular(data); err != nil {
				return err
			} else if st.Size() == 0 {
				return fmt.Errorf("%s: file is empty", data)
			}
			pairs, err := seq2seq.ReadPairsFile(data, reverse)
			if err != nil {
				return err
			}
			if scoreFile != "" {
				text, err := readTextFile(scoreFile)
				if err != nil {
					return err
				}
				lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
				if len(lines) != len(pairs) {
					return fmt.Errorf("%s has %d lines but %s has %d pairs; give one translation per pair", scoreFile, len(lines), data, len(pairs))
				}
				first := map[string]string{}
				for i, p := range pairs {
					if _, ok := first[p.Source]; !ok {
						first[p.Source] = strings.TrimSpace(lines[i])
					}
				}
				srcs, refs := seq2seq.GroupReferences(pairs)
				hyps := make([]string, len(srcs))
				for i, s := range srcs {
					hyps[i] = first[s]
				}
				ev := seq2seq.Evaluation{BLEU: seq2seq.BLEU(hyps, refs), ChrF: seq2seq.ChrF(hyps, refs), Sentences: len(srcs), Pairs: len(pairs)}
				return printEval(c, ev, asJSON)
			}
			var m *seq2seq.Model
			if model == "" { // the embedded en->es translator, with its ensemble
				ms, _, err := defaultTranslator("en", "es", quant)
				if err != nil {
					return err
				}
				m, opt.Ensemble = ms[0], ms[1:]
			} else {
				if m, err = loadSeq2seqAs(model, quant); err != nil {
					return err
				}
			}
			more, err := loadEnsemble(ensemble, quant)
			if err != nil {
				return err
			}
			opt.Ensemble = append(opt.Ensemble, more...)
			if opt.BackWeight > 0 && opt.Beam > 1 {
				if backModel == "" && model != "" && !c.Flags().Changed("back-weight") {
					opt.BackWeight = 0 // the default applies where the opposite model is known
				} else if backModel == "" && model != "" {
					return usagef(backNeedsModel)
				} else if opt.Back, err = loadBack(backModel, "en", "es", quant); err != nil {
					return err
				}
			}
			ev, trs, err := m.Evaluate(c.Context(), pairs, opt)
			if err != nil {
				return fmt.Errorf("%s: %v", data, err)
			}
			if hypsOut != "" {
				var b strings.Builder
				for _, t := range trs {
					b.WriteString(t.Text + "\n")
				}
				if err := os.WriteFile(hypsOut, []byte(b.String()), 0o644); err != nil {
					return err
				}
			}
			return printEval(c, ev, asJSON)
		},
	}
	f := c.Flags()
	f.StringVar(&model, "model", "", "model file (default: the embedded English->Spanish model)")
	f.StringVar(&data, "data", "", "Source<TAB>Target pairs to score on (required)")
	addEnsembleFlag(c, &ensemble)
	addBackFlags(c, &backModel, &opt.BackWeight)
	f.BoolVar(&reverse, "reverse", false, "swap the columns (for a model trained with --reverse)")
	f.IntVar(&opt.Beam, "beam", 5, "beam width (1 = greedy)")
	f.Float64Var(&opt.LengthPenalty, "length-penalty", 1, "beam: rank hypotheses by log p / length^this")
	f.Float64Var(&opt.LexiconPenalty, "lexicon-penalty", 1, "beam: lower a hypothesis's score by this for each word found neither in the training targets nor in the source (0 = off)")
	f.Float64Var(&opt.NamePenalty, "name-penalty", 1, "beam: lower a hypothesis's score by this for each name or number of the source it leaves out (0 = off)")
	f.BoolVar(&opt.CopyNames, "copy-names", true, "copy a name or number of the source that the translation lacks in place of the words that attended to it")
	f.BoolVar(&opt.SplitSentences, "sentences", true, sentencesHelp)
	f.BoolVar(&asJSON, "json", false, "print one JSON object with bleu, chrf2, sentences, pairs")
	f.StringVar(&hypsOut, "hyps", "", "also write the translations, one per distinct source, to this file")
	f.StringVar(&scoreFile, "score", "", "score these translations (one per line of --data) instead of a model's")
	addQuantizeFlag(c, &quant)
	return c
}

func printEval(c *cobra.Command, ev seq2seq.Evaluation, asJSON bool) error {
	if asJSON {
		return writeJSON(c, ev)
	}
	fmt.Fprintln(c.OutOrStdout(), ev.BLEU)
	fmt.Fprintln(c.OutOrStdout(), ev.ChrF)
	fmt.Fprintf(c.OutOrStdout(), "%d source sentences, %d pairs\n", ev.Sentences, ev.Pairs)
	return nil
}
