package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rnnkit/rnnkit/internal/atomicfile"
	"github.com/rnnkit/rnnkit/sentiment"
)

type corporaSplitOptions struct {
	trainOut, valOut, split, outFormat string
	valFrac                            float64
	splitSeed                          uint64
	dataFlags                          dataFlags
}

// newCorporaSplitCmd is "corpora split": the validation split of train
// sentiment, written to files, so that a run with --val-data (or any other
// tool) sees exactly the reviews train sentiment would hold out.
func newCorporaSplitCmd(g *globalOptions) *cobra.Command {
	o := &corporaSplitOptions{}
	c := &cobra.Command{
		Use:   "split DATA",
		Short: "Split labelled reviews into training and validation files",
		Long: `Split a labelled data file (or class folders) into a training file and a
validation file, exactly as "rnnkit train sentiment" splits each --data file
when --val-data is not given. Reading takes the same flags as train
sentiment.

--split block (the default) holds out the last --val-frac of each class in
file order and drops the reviews at the boundaries that share rare names
with the held-out ones, so that no film is on both sides: on IMDB, whose
files are grouped by film, this predicts accuracy on new films. --split
random is a seeded shuffle (--split-seed); it shares films and runs high.

The outputs are TSV (text, a tab, the label name), CSV or JSONL, by
--out-format or else by the extension of each file (.csv, .jsonl; anything
else is TSV). Both read back with the default columns. Each file is written
atomically: an interrupted run leaves no partial file.`,
		Example: `  rnnkit corpora split imdb/train.tsv --train-out imdb-train.tsv --val-out imdb-val.tsv
  rnnkit corpora split sst2/train.tsv --header --text-col sentence --label-col label \
    --split random --train-out sst2-train.tsv --val-out sst2-val.tsv
  rnnkit train sentiment --data imdb-train.tsv --val-data imdb-val.tsv --out m.safetensors`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runCorporaSplit(c, g, o, args[0]) },
	}
	f := c.Flags()
	f.StringVar(&o.trainOut, "train-out", "", "write the training examples to this file (required)")
	f.StringVar(&o.valOut, "val-out", "", "write the validation examples to this file (required)")
	f.StringVar(&o.split, "split", "block", "block (the last --val-frac of each class in file order, minus the reviews linked to it) or random (a seeded shuffle)")
	f.Float64Var(&o.valFrac, "val-frac", 0.1, "fraction of each class held out for validation")
	f.Uint64Var(&o.splitSeed, "split-seed", 1, "seed of --split random")
	f.StringVar(&o.outFormat, "out-format", "", "tsv, csv or jsonl (default: by each output's extension)")
	o.dataFlags.add(c)
	return c
}

// outputFormat is the layout of an output file: format if given, else by
// the file's extension.
func outputFormat(format, path string) (string, error) {
	switch f := strings.ToLower(format); f {
	case sentiment.FormatTSV, sentiment.FormatCSV, sentiment.FormatJSONL:
		return f, nil
	case "":
	default:
		return "", usagef("--out-format must be tsv, csv or jsonl, got %q", format)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return sentiment.FormatCSV, nil
	case ".jsonl", ".ndjson":
		return sentiment.FormatJSONL, nil
	}
	return sentiment.FormatTSV, nil
}

func runCorporaSplit(c *cobra.Command, g *globalOptions, o *corporaSplitOptions, data string) error {
	if o.trainOut == "" || o.valOut == "" {
		return usagef("--train-out and --val-out are both required")
	}
	same := func(a, b string) bool {
		pa, _ := filepath.Abs(a)
		pb, _ := filepath.Abs(b)
		return pa == pb
	}
	if same(o.trainOut, o.valOut) {
		return usagef("--train-out and --val-out name the same file")
	}
	if same(o.trainOut, data) || same(o.valOut, data) {
		return usagef("an output would overwrite the data file %s", data)
	}
	if o.split != string(sentiment.SplitBlock) && o.split != string(sentiment.SplitRandom) {
		return usagef("--split must be block or random, got %q", o.split)
	}
	if o.valFrac <= 0 || o.valFrac >= 1 {
		return usagef("--val-frac must be in (0, 1), got %v", o.valFrac)
	}
	trainFormat, err := outputFormat(o.outFormat, o.trainOut)
	if err != nil {
		return err
	}
	valFormat, err := outputFormat(o.outFormat, o.valOut)
	if err != nil {
		return err
	}
	raw, err := readLabelled(c, g, data, &o.dataFlags)
	if err != nil {
		return err
	}
	prep, err := sentiment.Prepare([]sentiment.Part{{Name: data, Examples: raw}}, nil,
		sentiment.PrepareOptions{Split: sentiment.Split(o.split), ValFrac: o.valFrac, Seed: o.splitSeed})
	if err != nil {
		return err
	}
	write := func(path, format string, ex []sentiment.Example) error {
		err := atomicfile.Write(path, func(w io.Writer) error {
			return sentiment.WriteExamples(w, ex, prep.Labels, format)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	if err := write(o.trainOut, trainFormat, prep.Data.Train); err != nil {
		return err
	}
	if err := write(o.valOut, valFormat, prep.Data.Val); err != nil {
		return err
	}
	s := prep.Splits[0]
	if o.split == string(sentiment.SplitBlock) {
		status(c, g, "%s: %s", data, describeBlockSplit(s.Block, prep.Labels, s.Train, s.Val))
	} else {
		status(c, g, "%s: random split (seed %d): %d for training, %d for validation", data, o.splitSeed, s.Train, s.Val)
	}
	status(c, g, "wrote %s (%d) and %s (%d); classes %s", o.trainOut, s.Train, o.valOut, s.Val, strings.Join(prep.Labels, ", "))
	return nil
}
