// Command rnnkit-beam runs rnnkit's three models as Apache Beam batch
// pipelines: classify reviews, translate sentences and generate text from
// seeds, over as many files and workers as the runner gives it.
//
//	rnnkit-beam classify --input 'reviews/**/*.txt' --output out/labels
//	rnnkit-beam classify --lines 'part-*.tsv' --text-col 1 --output out/labels
//	rnnkit-beam translate --input 'sentences-*.txt' --output out/es
//	rnnkit-beam generate --seeds seeds.txt --output out/gen
//
// It is its own Go module (cmd/rnnkit-beam/go.mod), so that rnnkit's library
// and the rnnkit command never depend on Beam, gRPC or protobuf. The same
// binary is the pipeline's launcher and, started by a runner with --worker,
// its worker. See docs/SCALE.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	if workerMode(os.Args[1:]) {
		// Started by a runner (Dataflow, Flink, Spark, a Prism worker pool)
		// as a worker: Beam's hook takes the process over and never returns.
		flag.Parse()
		beam.Init()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rnnkit-beam: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// workerMode reports whether the arguments are those a runner gives a Go
// SDK worker (--worker=true ...).
func workerMode(args []string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == "worker" || a == "worker=true" {
			return true
		}
	}
	return false
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// beamFlagsShown are Beam's own flags listed in --help; every other flag of
// the Beam SDK (rnnkit-beam beam-flags lists them) is accepted too.
var beamFlagsShown = map[string]bool{
	"runner": true, "endpoint": true, "environment_type": true, "environment_config": true,
	"job_name": true, "project": true, "region": true, "staging_location": true, "temp_location": true,
	"worker_binary": true, "num_workers": true, "max_num_workers": true, "worker_machine_type": true,
	"parallelism": true, "async": true,
}

// run executes one rnnkit-beam command line; the tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:   "rnnkit-beam",
		Short: "Run rnnkit's models as Apache Beam batch pipelines (classify, translate, generate)",
		Long: `rnnkit-beam runs rnnkit's models over many files as Apache Beam pipelines.
The default runner is Prism in loopback mode: the whole pipeline runs in this
process, no Docker needed. --runner dataflow, flink or spark (with Beam's
flags for them) runs the same pipeline on a cluster; see docs/SCALE.md.

Each command writes JSONL shards OUTPUT-SSSSS-of-NNNNN.jsonl, one object per
record, the same objects as "rnnkit classify --json", "rnnkit translate
--json" and "rnnkit generate --json" plus the record's file (and line), so
that outputs join back to inputs. Records that cannot be processed (empty,
not UTF-8, too long, refused by the model) go to the dead-letter shards
OUTPUT-errors-SSSSS-of-NNNNN.jsonl as {"file", "line", "error"}; they never
fail the pipeline. The output does not depend on how the runner splits the
work: a retried bundle writes the same bytes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetContext(ctx)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	// Beam's pipeline options are Go flags of the SDK; they become flags
	// of every command, most of them hidden from --help.
	pf := root.PersistentFlags()
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if pf.Lookup(f.Name) != nil || f.Name == "worker" {
			return
		}
		p := pflag.PFlagFromGoFlag(f)
		p.Shorthand = ""
		p.Hidden = !beamFlagsShown[f.Name]
		pf.AddFlag(p)
	})
	if r := pf.Lookup("runner"); r != nil && r.Value.String() == "" {
		r.DefValue = "prism"
		r.Usage = "Beam runner: prism (local, the default), dataflow, flink, spark, universal"
	}
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if !beam.Initialized() {
			beam.Init()
		}
		return nil
	}
	root.AddCommand(newClassifyCmd(), newTranslateCmd(), newGenerateCmd(), newBeamFlagsCmd())
	return root.Execute()
}

func newBeamFlagsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "beam-flags",
		Short: "List every Apache Beam pipeline flag the commands accept",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			flag.CommandLine.SetOutput(c.OutOrStdout())
			flag.CommandLine.PrintDefaults()
			return nil
		},
	}
}
