package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rnnkit/rnnkit/fit"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/spf13/cobra"
	"gonum.org/v1/plot/plotter"
)

// What every `rnnkit train` command shares besides its progress bar (ui.go):
// the record of a run that --resume checks, and the --log file.

// Free metadata keys that the training commands write into every checkpoint
// and model (docs/FORMAT.md): the fingerprint of the data a run trains on,
// and the flags a resume must repeat.
const (
	metaDataSHA256   = "data_sha256"
	metaTrainOptions = "train_options"
)

// resumeSpec lists, for one training command, the flags that --resume
// checks against the run that wrote the checkpoint.
type resumeSpec struct {
	kind string
	// fixed are the flags that shape the model or its tokenizer: on resume
	// they come from the checkpoint, so giving another value is refused.
	fixed []string
	// data are the flags that choose the data or its split; the data's
	// fingerprint decides, and these name what differs.
	data []string
	// config maps a fixed flag to its config key, to check checkpoints
	// written before train_options was recorded ("!" before the key: the
	// flag is the negation of a boolean key).
	config map[string]string
	// norm canonicalises a flag's value before comparing ("LSTM" = "lstm").
	norm map[string]func(string) string
	// since maps a data flag added after the first checkpoints were
	// written to the value those runs had, which a record without the
	// flag is taken to hold.
	since map[string]string
}

// record stores the run's flags and data fingerprint in meta, the model's
// metadata, from which every checkpoint and model of the run inherits them
// (a resumed run keeps the checkpoint's).
func (s resumeSpec) record(c *cobra.Command, meta map[string]string, dataSHA256 string) {
	opts := map[string]string{}
	for _, name := range append(slices.Clone(s.fixed), s.data...) {
		if f := c.Flags().Lookup(name); f != nil {
			opts[name] = s.canon(name, f.Value.String())
		}
	}
	b, _ := json.Marshal(opts)
	meta[metaTrainOptions] = string(b)
	meta[metaDataSHA256] = dataSHA256
	meta[metaZeros] = zerosLiteral
}

// metaZeros records how a run reads its flags' zeros: zerosLiteral (a
// zero --warmup, --clip, --seed or --teacher-forcing means zero) in every
// run since it was added; a checkpoint without it was written before, and
// resumes with the old meanings (legacyZeros).
const (
	metaZeros    = "train_zeros"
	zerosLiteral = "literal"
)

// legacyRun reports whether resume names a checkpoint of a run that read
// zeros the old way. A file that cannot be read is not legacy: the
// library's Resume reports what is wrong with it.
func legacyRun(resume string) bool {
	if resume == "" {
		return false
	}
	_, meta, err := rnn.ReadHeader(resume)
	return err == nil && meta[metaZeros] != zerosLiteral
}

// recordData is record for a run whose model came from elsewhere (--init):
// only its data flags are the run's own.
func (s resumeSpec) recordData(c *cobra.Command, meta map[string]string, dataSHA256 string) {
	s.fixed = nil
	s.record(c, meta, dataSHA256)
}

func (s resumeSpec) canon(flag, v string) string {
	if n := s.norm[flag]; n != nil {
		return n(v)
	}
	return v
}

// check refuses to resume from the checkpoint at path with a fixed flag
// given another value than the original run's, or on other data. A
// checkpoint without a record (older rnnkit) is checked against its config
// only, and one without a fingerprint is not checked for its data.
func (s resumeSpec) check(c *cobra.Command, path, dataSHA256 string) error {
	if err := checkModelFile(path); err != nil {
		return err
	}
	_, meta, err := rnn.ReadHeader(path)
	if err != nil {
		return err
	}
	if meta[rnn.MetaKind] != s.kind {
		return nil // the trainer's Resume says what the file is
	}
	var rec map[string]string
	if v, ok := meta[metaTrainOptions]; ok {
		_ = json.Unmarshal([]byte(v), &rec)
	}
	var cfg map[string]any
	_ = json.Unmarshal([]byte(meta[rnn.MetaConfig]), &cfg)
	fl := c.Flags()
	for _, name := range s.fixed {
		f := fl.Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		want, ok := rec[name]
		if rec == nil {
			want, ok = configFlagValue(cfg, s.config[name])
		}
		if !ok {
			continue
		}
		if got := s.canon(name, f.Value.String()); got != s.canon(name, want) {
			return usagef("--%s %s differs from the checkpoint's %s: a resumed run keeps the model and tokenizer of the run that wrote %s; leave --%s out, or start a new run without --resume",
				name, got, want, path, name)
		}
	}
	want := meta[metaDataSHA256]
	if want == "" || want == dataSHA256 {
		return nil
	}
	var diffs []string
	for _, name := range s.data {
		f := fl.Lookup(name)
		v, ok := rec[name]
		if !ok && rec != nil {
			v, ok = s.since[name]
		}
		if ok && f != nil && s.canon(name, f.Value.String()) != v {
			diffs = append(diffs, fmt.Sprintf("--%s %s (now %s)", name, v, s.canon(name, f.Value.String())))
		}
	}
	hint := ""
	if len(diffs) > 0 {
		hint = "; the checkpoint's run had " + strings.Join(diffs, ", ")
	}
	return fmt.Errorf("--resume %s: the training data differs from the checkpoint's run (its %s is %.12s..., this data's %.12s...): resume with the same --data and data flags%s",
		path, metaDataSHA256, want, dataSHA256, hint)
}

// configFlagValue formats config[key] as its flag would print it.
func configFlagValue(cfg map[string]any, key string) (string, bool) {
	neg := strings.HasPrefix(key, "!")
	key = strings.TrimPrefix(key, "!")
	v, ok := cfg[key]
	if key == "" || !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x != neg), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(float64(float32(x)), 'g', -1, 32), true
	}
	return "", false
}

// normCell reads a --cell value as rnn.ParseCell does.
func normCell(s string) string {
	if c, err := rnn.ParseCell(s); err == nil {
		return c.String()
	}
	return s
}

// normList lowercases a "+"-joined list and drops its spaces ("Max + mean").
func normList(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }

// dataHash is the fingerprint of a run's training data: the sha256 of its
// parts, each prefixed by its length, in the order they are added.
type dataHash struct{ h hash.Hash }

func newDataHash() dataHash { return dataHash{sha256.New()} }

func (d dataHash) add(parts ...string) {
	for _, s := range parts {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		d.h.Write(n[:])
		io.WriteString(d.h, s)
	}
}

func (d dataHash) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// trainLog is --log FILE.jsonl: one JSON object per evaluation, appended
// (a resumed run adds to the file of the run it continues).
type trainLog struct {
	f       *os.File
	start   time.Time
	lossSum float64
	lossN   int
	err     error
}

// openTrainLog opens --log for appending; a nil *trainLog (no --log) does
// nothing.
func openTrainLog(path string) (*trainLog, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot write --log %s: %v", path, err)
	}
	return &trainLog{f: f, start: time.Now()}, nil
}

// logField is one figure of a record; NaN and Inf are written as null.
type logField struct {
	key string
	v   float64
}

// step counts the training loss of one step towards the next record's
// train_loss: the mean over the steps since the previous record.
func (l *trainLog) step(loss float64) {
	if l != nil {
		l.lossSum += loss
		l.lossN++
	}
}

// eval appends one record: step, steps, epoch, train_loss, the
// validation figures, lr, elapsed_s (seconds since this process started
// training) and time (UTC, RFC 3339). A failed write is kept for close.
func (l *trainLog) eval(step, steps int, epoch, lr float64, val ...logField) {
	if l == nil || l.f == nil || l.err != nil {
		return
	}
	fields := []logField{{"epoch", epoch}, {"train_loss", l.lossSum / float64(max(l.lossN, 1))}}
	fields = append(fields, val...)
	fields = append(fields, logField{"lr", lr}, logField{"elapsed_s", math.Round(time.Since(l.start).Seconds()*1000) / 1000})
	var b strings.Builder
	fmt.Fprintf(&b, `{"step":%d,"steps":%d`, step, steps)
	for _, f := range fields {
		v := "null"
		if !math.IsNaN(f.v) && !math.IsInf(f.v, 0) {
			v = strconv.FormatFloat(f.v, 'g', -1, 64)
		}
		fmt.Fprintf(&b, `,%q:%s`, f.key, v)
	}
	fmt.Fprintf(&b, `,"time":%q}`+"\n", time.Now().UTC().Format(time.RFC3339))
	l.lossSum, l.lossN = 0, 0
	if _, err := io.WriteString(l.f, b.String()); err != nil {
		l.err = fmt.Errorf("--log %s: %v", l.f.Name(), err)
	}
}

// close closes the file (once; a second call only returns the error) and
// returns the first error.
func (l *trainLog) close() error {
	if l == nil || l.f == nil {
		return l.firstErr()
	}
	if err := l.f.Close(); err != nil && l.err == nil {
		l.err = fmt.Errorf("--log %s: %v", l.f.Name(), err)
	}
	l.f = nil
	return l.err
}

func (l *trainLog) firstErr() error {
	if l == nil {
		return nil
	}
	return l.err
}

// addTrainLogFlag registers --log on a training command; with path nil the
// value is read with c.Flags().Lookup("log").
func addTrainLogFlag(c *cobra.Command, path *string) {
	if path == nil {
		path = new(string)
	}
	c.Flags().StringVar(path, "log", "", "append one JSON object per evaluation to this file (step, epoch, losses, metrics, lr, time)")
}

// sentimentResume is what train sentiment --resume checks.
var sentimentResume = resumeSpec{
	kind: sentiment.Kind,
	fixed: []string{"cell", "embedding", "hidden", "layers", "unidirectional", "pooling", "dropout", "emb-dropout", "max-len", "truncate",
		"tokenizer", "vocab", "min-freq", "init", "init-lm"},
	data: []string{"val-frac", "split", "split-seed", "limit", "val-data", "format", "text-col", "label-col", "text-field", "label-field", "header"},
	config: map[string]string{"cell": "cell", "embedding": "embedding", "hidden": "hidden", "layers": "layers", "unidirectional": "!bidirectional",
		"pooling": "pooling", "dropout": "dropout", "emb-dropout": "emb_dropout", "max-len": "max_len", "truncate": "truncate"},
	norm: map[string]func(string) string{"cell": normCell, "pooling": normList, "truncate": normList},
}

// sentimentDataSHA256 is the fingerprint of train sentiment's data: the
// class names, then the training and the validation reviews with their
// labels, in order.
func sentimentDataSHA256(names []string, data sentiment.Data) string {
	h := newDataHash()
	h.add(strconv.Itoa(len(names)))
	h.add(names...)
	for _, part := range [][]sentiment.Example{data.Train, data.Val} {
		h.add(strconv.Itoa(len(part)))
		for _, e := range part {
			h.add(strconv.Itoa(e.Label), e.Text)
		}
	}
	return h.sum()
}

// checkLabelledFormat makes an unknown --format of labelled data a usage
// error (exit status 2) before any file is read.
func checkLabelledFormat(format string) error {
	known := []string{sentiment.FormatAuto, sentiment.FormatIMDBDir, sentiment.FormatTSV, sentiment.FormatCSV, sentiment.FormatJSONL}
	if !slices.Contains(known, strings.ToLower(format)) {
		return usagef("--format must be %s or %s, got %q", strings.Join(known[:len(known)-1], ", "), known[len(known)-1], format)
	}
	return nil
}

// legacyZeros gives the shared training flags the meaning they had before
// zero began to mean zero, for a run resumed from a checkpoint written
// then (legacyRun), so that it continues exactly with the flags it began
// with: --warmup 0 or less is the command's default warm-up, --clip 0 is 5
// and --seed 0 trains like --seed 1. The model's initialization uses the
// seed as given.
func legacyZeros(o *fit.Options, warmup int) {
	if o.Warmup <= 0 {
		o.Warmup = warmup
	}
	if o.Clip == 0 {
		o.Clip = 5
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// checkTrainOut checks what every train command checks first: --data and
// --out are given, and --out can be written.
func checkTrainOut(haveData bool, out string) error {
	if !haveData || out == "" {
		return usagef("--data and --out are required")
	}
	return checkWritable(out)
}

// initRNG is the random source of a new model's initialization: a stream
// of --seed as given (legacyZeros does not apply to it).
func initRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x696e6974)) }

// trainRun is the terminal side of one `rnnkit train` run: the progress
// bar (or plain lines), the --log file and the checkpoint that an
// interruption names.
type trainRun struct {
	c          *cobra.Command
	g          *globalOptions
	bar        *trainingBar
	log        *trainLog
	checkpoint string
}

// startTrain begins a run: it checks --resume (when given) against spec
// and the data's fingerprint, opens --log, and points opt at --out for the
// best model (in dtype) and at --checkpoint (default OUT.ckpt). The caller
// closes the log (finish, or a deferred t.log.close on an early return).
func startTrain(c *cobra.Command, g *globalOptions, spec resumeSpec, resume, dataSHA, logPath string,
	opt *fit.Options, out, checkpoint string, dtype rnn.DType) (*trainRun, error) {
	if resume != "" {
		if err := spec.check(c, resume, dataSHA); err != nil {
			return nil, err
		}
	}
	tlog, err := openTrainLog(logPath)
	if err != nil {
		return nil, err
	}
	opt.BestPath, opt.BestDType = out, dtype
	opt.CheckpointPath = checkpointPath(checkpoint, out)
	return &trainRun{c: c, g: g, bar: newTrainingBar(c, g), log: tlog, checkpoint: opt.CheckpointPath}, nil
}

// report shows one step: the bar with desc and the step's loss towards
// --log; after an evaluation, the log's record (epoch, lr and fields) and,
// when there is no bar to show it, the status line that line formats.
func (t *trainRun) report(step, steps int, epoch, lr, loss float64, desc string, evaluated bool, line func() string, fields ...logField) {
	t.bar.update(step, steps, desc)
	t.log.step(loss)
	if !evaluated {
		return
	}
	t.log.eval(step, steps, epoch, lr, fields...)
	if t.bar.logs() {
		status(t.c, t.g, "%s", line())
	}
}

// finish ends the run after the library's Train or Resume returned err at
// step: the bar closes (an interruption is reported, not an error:
// trainingBar.finish) and --log is closed.
func (t *trainRun) finish(err error, step int) error {
	if err := t.bar.finish(err, step, t.checkpoint); err != nil {
		return err
	}
	return t.log.close()
}

// historyCurve is one curve of --plot: a figure of each point of a run's
// history; with gaps, the points where it is NaN are left out.
type historyCurve[P any] struct {
	name string
	y    func(P) float64
	gaps bool
}

// plotHistory draws --plot (nothing when path is empty or the run has no
// history): the curves over the points' steps.
func plotHistory[P any](path, title, ylabel string, hist []P, step func(P) int, curves ...historyCurve[P]) error {
	if path == "" || len(hist) == 0 {
		return nil
	}
	lc := make([]lossCurve, len(curves))
	for i, cv := range curves {
		lc[i].Name = cv.name
		for _, p := range hist {
			if y := cv.y(p); !cv.gaps || !math.IsNaN(y) {
				lc[i].XY = append(lc[i].XY, plotter.XY{X: float64(step(p)), Y: y})
			}
		}
	}
	return plotLoss(path, title, ylabel, lc...)
}
