package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// globalOptions are the flags every command shares.
type globalOptions struct {
	quiet   bool
	threads int
}

// usageError marks an error as bad usage (exit status 2).
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// NewRootCmd builds the whole command tree. Tests call it to run commands
// in-process with SetArgs/SetOut/ExecuteC.
func NewRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:     "rnnkit",
		Version: version,
		Short:   "Recurrent neural networks over text: generate, classify, translate",
		Long: `rnnkit trains and runs recurrent neural networks (RNN, LSTM, GRU) over text.
It ships four default models, embedded in this binary:

  generate   a character-level LSTM trained on tiny Shakespeare (one-to-many)
  classify   a review sentiment classifier trained on IMDB (many-to-one)
  translate  English->Spanish and Spanish->English translators with attention
             (many-to-many)

"rnnkit serve" serves all of them over HTTP.

Every command also takes --model FILE to use a model you trained yourself with
"rnnkit train". Model files are safetensors, loadable in PyTorch.`,
		Example: `  rnnkit generate --seed "ROMEO:"
  rnnkit train charrnn --data input.txt --out shakespeare.safetensors
  rnnkit models`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "no progress bars or status lines on stderr")
	root.PersistentFlags().IntVar(&g.threads, "threads", 0, "cores to use (default: all; on a shared machine, fewer leaves the rest to others)")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if g.threads < 0 {
			return usagef("--threads must be 0 (all cores) or more, got %d", g.threads)
		}
		if g.threads > 0 {
			runtime.GOMAXPROCS(g.threads)
		}
		return nil
	}
	root.SetVersionTemplate(fmt.Sprintf("rnnkit {{.Version}} (%s %s/%s)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })

	train := &cobra.Command{
		Use:   "train",
		Short: "Train a model (charrnn, sentiment, seq2seq, lm)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usagef("missing model type: charrnn, sentiment, seq2seq or lm")
		},
	}
	eval := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate a model on labelled data (charrnn, sentiment, seq2seq)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usagef("missing model type: charrnn, sentiment or seq2seq")
		},
	}
	root.AddCommand(train, eval, newVersionCmd())
	// Each application adds its commands here (one constructor per file).
	addCharRNNCommands(root, train, eval, g)
	addSentimentCommands(root, train, eval, g)
	train.AddCommand(newTrainLMCmd(g)) // language-model pretraining of the classifier's encoder (lm.go)
	addSeq2seqCommands(root, train, eval, g)
	addTokenizerCommands(root, g)
	addEmbedCommands(root, g)
	addCorporaCommands(root, g)
	root.AddCommand(newServeCmd(g), newInspectCmd(), newConvertCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the rnnkit version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if asJSON {
				return writeJSON(c, map[string]string{"version": version, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH})
			}
			fmt.Fprintf(c.OutOrStdout(), "rnnkit %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return c
}

// run executes the CLI and maps errors to exit codes: 0 success, 1 failure,
// 2 bad usage, and 128+N after signal N (130 for SIGINT, 143 for SIGTERM):
// the first SIGINT or SIGTERM cancels the command's context, so it stops
// cleanly (training writes its checkpoint first); a second one exits at
// once. Errors are printed as one line on stderr.
func run(args []string) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		cancel(signalError{s})
		if s, ok := <-sigs; ok {
			fmt.Fprintf(os.Stderr, "rnnkit: %v again; exiting now\n", s)
			os.Exit(signalExitCode(s))
		}
	}()
	root := NewRootCmd()
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	var se signalError
	interrupted := errors.As(context.Cause(ctx), &se)
	var ee exitError
	switch {
	case err == nil && !interrupted:
		return 0
	case errors.As(err, &ee):
		// the command has reported its failures itself
	case err != nil && !(interrupted && errors.Is(err, context.Canceled)):
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(os.Stderr, "rnnkit: %s\n", msg)
		var ue usageError
		if errors.As(err, &ue) || isCobraUsageErr(err) {
			fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", commandPath(root, args))
			return 2
		}
	}
	if interrupted {
		return signalExitCode(se.sig)
	}
	if ee.code != 0 {
		return ee.code
	}
	return 1
}

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "interrupted by " + e.sig.String() }

// signalExitCode is the shell's status for a process ended by sig.
func signalExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// exitError ends a command with status code after it has reported its
// failures itself (for example one message per bad input line), so run
// prints nothing more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// commandPath names the subcommand args select ("rnnkit train seq2seq"), so
// a usage error points at the help that explains it.
func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return root.Name()
	}
	return c.CommandPath()
}

func isCobraUsageErr(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "accepts ") || strings.HasPrefix(s, "requires at least") || strings.Contains(s, "arg(s)")
}
