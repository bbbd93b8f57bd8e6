package main

import (
	"encoding/json"
	"io"
	"os"

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
func newProgress(c *cobra.Command, g *globalOptions, total int64, desc string) *progressbar.ProgressBar {
	if g.quiet || !stderrIsTerminal(c) {
		return progressbar.NewOptions64(total, progressbar.OptionSetWriter(io.Discard))
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(c.ErrOrStderr()),
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
func writeJSON(c *cobra.Command, v any) error {
	enc := json.NewEncoder(c.OutOrStdout())
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
