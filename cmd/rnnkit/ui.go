package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// stderrIsTerminal reports whether the command's stderr is an interactive
// terminal. Progress bars and colour are shown only then.
func stderrIsTerminal(c *cobra.Command) bool {
	f, ok := c.ErrOrStderr().(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress returns a progress bar on stderr, or a silent one when stderr
// is not a terminal or --quiet is set. total < 0 means unknown length.
//
// The bar is driven only from the caller's goroutine: progressbar v3.19.1
// animates a bar of unknown length from a ticker goroutine that races with
// Describe and Set (go test -race), so the silent bar is invisible (no
// goroutine, nothing rendered) and the visible one has no ticker (its
// spinner moves when the bar is updated).
func newProgress(c *cobra.Command, g *globalOptions, total int64, desc string) *progressbar.ProgressBar {
	if g.quiet || !stderrIsTerminal(c) {
		return progressbar.NewOptions64(total, progressbar.OptionSetWriter(io.Discard), progressbar.OptionSetVisibility(false))
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(c.ErrOrStderr()),
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000), // 100 ms
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionClearOnFinish(),
	)
}

// status prints a one-line status message on stderr unless --quiet.
func status(c *cobra.Command, g *globalOptions, format string, a ...any) {
	if g.quiet {
		return
	}
	c.PrintErrf(format+"\n", a...)
}

// writeJSON prints v as one line of JSON on the command's stdout.
func writeJSON(c *cobra.Command, v any) error { return writeJSONLine(c.OutOrStdout(), v) }

// writeJSONLine writes v to w as one line of JSON, "<" and "&" unescaped.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// trainingBar is the terminal side that every `rnnkit train` command shares:
// a progress bar whose length is learned from the first report, plus the
// plain status lines that replace it when stderr is not a terminal.
type trainingBar struct {
	c           *cobra.Command
	g           *globalOptions
	bar         *progressbar.ProgressBar
	start, last time.Time // of the run and of the last plain progress line
	first       int       // the first step reported (after a resume, not 1)
	firstAt     time.Time // when it was reported
}

// progressEvery is how often a run whose stderr is not a terminal (nohup,
// a log file, CI) prints a plain progress line.
var progressEvery = time.Minute

func newTrainingBar(c *cobra.Command, g *globalOptions) *trainingBar {
	now := time.Now()
	return &trainingBar{c: c, g: g, bar: newTrainingProgress(c, g), start: now, last: now, first: -1}
}

// newTrainingProgress is newProgress for training: the bar's own time-left
// estimate is off, because it counts the steps before a resume as done in
// no time; the description carries timeLeft's instead.
func newTrainingProgress(c *cobra.Command, g *globalOptions) *progressbar.ProgressBar {
	if g.quiet || !stderrIsTerminal(c) {
		return newProgress(c, g, -1, "training")
	}
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(c.ErrOrStderr()),
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionSetDescription("training"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000), // 100 ms
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionClearOnFinish(),
	)
}

// update moves the bar to step of steps with a one-line description and the
// time left. Without a terminal it prints the same as a plain line, at most
// once a minute.
func (t *trainingBar) update(step, steps int, desc string) {
	t.updateAt(time.Now(), step, steps, desc)
}

func (t *trainingBar) updateAt(now time.Time, step, steps int, desc string) {
	if t.first < 0 {
		t.first, t.firstAt = step, now
	}
	left := t.timeLeft(now, step, steps)
	if t.bar.GetMax64() != int64(steps) {
		t.bar.ChangeMax64(int64(steps))
	}
	t.bar.Describe(desc + ", " + left + " left")
	t.bar.Set(step)
	if !t.logs() || now.Sub(t.last) < progressEvery {
		return
	}
	t.last = now
	status(t.c, t.g, "step %d/%d (%.1f%%), %s, elapsed %s, about %s left",
		step, steps, 100*float64(step)/float64(max(steps, 1)), desc, now.Sub(t.start).Round(time.Second), left)
}

// timeLeft estimates the time to step steps at the rate of the steps done in
// this process since the first report: after a resume, the steps before it
// took no time here, and counting them would make the estimate far too
// short. "unknown" until a second step is reported.
func (t *trainingBar) timeLeft(now time.Time, step, steps int) string {
	done := step - t.first
	if steps <= step {
		return "0s"
	}
	if done <= 0 {
		return "unknown"
	}
	per := float64(now.Sub(t.firstAt)) / float64(done)
	return time.Duration(per * float64(steps-step)).Round(time.Second).String()
}

// logs reports whether evaluations should be printed as status lines: when
// there is no bar to show them (stderr is not a terminal) and not --quiet.
func (t *trainingBar) logs() bool { return !t.g.quiet && !stderrIsTerminal(t.c) }

// finish closes the bar. A run stopped by Ctrl-C or SIGTERM is not an error:
// it says where the checkpoint is and how to resume, and returns nil.
func (t *trainingBar) finish(err error, step int, checkpoint string) error {
	t.bar.Finish()
	if errors.Is(err, context.Canceled) {
		status(t.c, t.g, "interrupted at step %d; checkpoint %s; resume with: --resume %s", step, checkpoint, checkpoint)
		return nil
	}
	return err
}

// noEvaluationYet is the error of a training run that ended before its
// first evaluation, so wrote no model: when it was interrupted, only the
// interruption (the checkpoint and how to resume have been printed; the
// exit status is 130 or 143).
func noEvaluationYet(c *cobra.Command) error {
	if err := c.Context().Err(); err != nil {
		return err
	}
	return errors.New("training ended before the first evaluation; no model written")
}

// fmtOr formats v, or gives "-" when it is NaN or infinite (a validation
// figure before the first evaluation).
func fmtOr(format string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// bestOr is a best-so-far score for fmtOr: NaN (shown as "-") while it is
// still negative, the trainers' mark for "nothing measured yet".
func bestOr(v float64) float64 {
	if v < 0 {
		return math.NaN()
	}
	return v
}

// checkpointPath is --checkpoint, or OUT.ckpt when it is not given.
func checkpointPath(flag, out string) string {
	if flag != "" {
		return flag
	}
	return out + ".ckpt"
}

// checkWritable fails at once when the model file path cannot be written
// (a missing or read-only folder), rather than at the first evaluation of a
// training run: it creates and removes a temporary file beside path.
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".probe-*")
	if err != nil {
		return fmt.Errorf("cannot write --out %s: %v", path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
