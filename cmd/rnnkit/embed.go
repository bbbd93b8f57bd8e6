package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/embed"
)

// addEmbedCommands registers the "embed" commands.
func addEmbedCommands(root *cobra.Command, g *globalOptions) {
	cmd := &cobra.Command{
		Use:   "embed",
		Short: "Train word vectors (word2vec skip-gram) and query neighbours and analogies",
		Long: `The embed commands train word vectors with word2vec's skip-gram and negative
sampling on a text corpus, and query any vector file for nearest neighbours and
analogies by cosine similarity.

Vector files: word2vec text (also fastText .vec), word2vec binary (.bin) and
GloVe .txt (no header) are read, the format detected from the file; training
writes word2vec text, or binary with --binary or a .bin name.`,
		Example: `  rnnkit embed train --data corpus.txt --out vectors.vec
  rnnkit embed neighbors --vectors vectors.vec excellent boring
  rnnkit embed analogy --vectors vectors.vec man king woman`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newEmbedTrainCmd(g), newEmbedNeighborsCmd(g), newEmbedAnalogyCmd(g))
	root.AddCommand(cmd)
}

type embedTrainOptions struct {
	data, out string
	binary    bool
	json      bool
	opt       embed.Word2VecOptions
}

func newEmbedTrainCmd(g *globalOptions) *cobra.Command {
	o := &embedTrainOptions{}
	c := &cobra.Command{
		Use:   "train --data FILE --out FILE",
		Short: "Train word vectors with skip-gram and negative sampling",
		Long: `Train word vectors on a plain text corpus with word2vec's skip-gram and negative
sampling: unigram^0.75 noise words, subsampling of frequent words, a linear
learning-rate decay and a dynamic window, as word2vec.c, with lock-free
(Hogwild) updates from --threads goroutines.

Each line of --data is a sentence (windows do not cross lines; "-" reads
stdin). Text is lowercased and split on everything but letters, digits and
combining marks, so "Don't stop!" gives "don", "t", "stop". Words seen fewer
than --min-count times are dropped. The vectors are written to --out in
word2vec text format (one "word v1 ... vD" line per word, most frequent first,
readable as a fastText .vec or by gensim), or binary with --binary or a .bin
name. Ctrl-C stops training and saves the vectors trained so far.`,
		Example: `  # 100-dimensional vectors, word2vec's defaults
  rnnkit embed train --data corpus.txt --out vectors.vec

  # the settings of "fasttext skipgram -dim 100 -ws 5 -epoch 5 -neg 5 -minCount 5"
  rnnkit embed train --data imdb.txt --out imdb.bin --dim 100 --window 5 --epochs 5 --neg 5 --min-count 5 --threads 2

  # then query them
  rnnkit embed neighbors --vectors imdb.bin excellent`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runEmbedTrain(c, g, o) },
	}
	f := c.Flags()
	f.StringVar(&o.data, "data", "", "training text, one sentence per line (\"-\" for stdin) (required)")
	f.StringVar(&o.out, "out", "", "output vector file (required)")
	f.BoolVar(&o.binary, "binary", false, "write word2vec binary format (default: text, or binary for a .bin name)")
	f.BoolVar(&o.json, "json", false, "print the training summary as JSON")
	f.IntVar(&o.opt.Dim, "dim", 100, "vector dimension")
	f.IntVar(&o.opt.Window, "window", 5, "maximum context distance (each word samples its window in 1..N)")
	f.IntVar(&o.opt.Epochs, "epochs", 5, "passes over the corpus")
	f.IntVar(&o.opt.Negative, "neg", 5, "negative samples per context word")
	f.IntVar(&o.opt.MinCount, "min-count", 5, "drop words seen fewer times")
	f.Float64Var(&o.opt.LR, "lr", 0.025, "starting learning rate, decayed linearly")
	f.Float64Var(&o.opt.Sample, "sample", 1e-4, "subsampling threshold for frequent words (0 = off)")
	f.Uint64Var(&o.opt.Seed, "seed", 1, "random seed (runs with --threads 1 are reproducible)")
	return c
}

// embedTrainSummary is the JSON form of a training run.
type embedTrainSummary struct {
	Out         string  `json:"out"`
	Vocab       int     `json:"vocab"`
	Dim         int     `json:"dim"`
	CorpusWords int64   `json:"corpus_words"`
	Epochs      int     `json:"epochs"`
	Seconds     float64 `json:"seconds"`
	WordsPerSec float64 `json:"words_per_sec"`
	Loss        float64 `json:"loss"`
}

func runEmbedTrain(c *cobra.Command, g *globalOptions, o *embedTrainOptions) error {
	if o.data == "" || o.out == "" {
		return usagef("embed train needs --data FILE and --out FILE")
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"--dim", o.opt.Dim}, {"--window", o.opt.Window}, {"--epochs", o.opt.Epochs}, {"--neg", o.opt.Negative}, {"--min-count", o.opt.MinCount}} {
		if p.v < 1 {
			return usagef("%s must be at least 1, got %d", p.name, p.v)
		}
	}
	if o.opt.LR <= 0 || o.opt.Sample < 0 || math.IsNaN(o.opt.Sample) {
		return usagef("--lr must be > 0 and --sample >= 0 (0 turns subsampling off), got %v and %v", o.opt.LR, o.opt.Sample)
	}
	sample := o.opt.Sample
	if sample == 0 {
		o.opt.Sample = -1 // the library's "off"; its 0 means the default
	}
	o.opt.Threads = g.threads // the global --threads: 0 is every core
	format := embed.Auto
	if o.binary {
		format = embed.Word2VecBinary
	}
	var in io.Reader = c.InOrStdin()
	if o.data != "-" {
		if err := corpora.CheckRegular(o.data); err != nil { // a named pipe would block the open
			return err
		}
		f, err := os.Open(o.data)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	status(c, g, "reading %s", o.data)
	var bar *progressbar.ProgressBar
	var last embed.Progress
	start := time.Now()
	m, err := embed.Train(ctx, in, o.opt, func(p embed.Progress) {
		if bar == nil {
			bar = newProgress(c, g, p.TotalWords, "training")
			words := p.TotalWords / int64(max(p.Epochs, 1))
			status(c, g, "training on %d words (vocabulary %d) x %d epochs", words, p.Vocab, p.Epochs)
			// Subsampling keeps a word seen n times with probability about
			// sqrt(t/n) + t/n, t = sample x corpus words: tuned for corpora of
			// millions of words, it drops most of a small one.
			if t := sample * float64(words); sample > 0 && t < 1 {
				status(c, g, "warning: --sample %g is too high for a corpus of %d words: a word seen 10 times is kept with probability %.2f, so most of the text is dropped; use --sample 0 (off) or a smaller value, or more text",
					sample, words, math.Min(1, math.Sqrt(t/10)+t/10))
			}
		}
		if p.Loss > 0 {
			bar.Describe(fmt.Sprintf("epoch %d/%d loss %.3f", p.Epoch, p.Epochs, p.Loss))
			last.Loss = p.Loss
		}
		bar.Set64(p.Words)
		last.Words, last.TotalWords, last.Epochs, last.Vocab = p.Words, p.TotalWords, p.Epochs, p.Vocab
	})
	if bar != nil {
		bar.Finish()
	}
	elapsed := time.Since(start)
	if m == nil {
		return fmt.Errorf("embed train: %w", err)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if serr := m.Save(o.out, format); serr != nil {
		return serr
	}
	if err != nil {
		return fmt.Errorf("interrupted after %d of %d words; saved the vectors trained so far to %s", last.Words, last.TotalWords, o.out)
	}
	sum := embedTrainSummary{Out: o.out, Vocab: len(m.Words), Dim: m.Dim, Epochs: last.Epochs, Seconds: elapsed.Seconds(), Loss: last.Loss}
	if last.Epochs > 0 {
		sum.CorpusWords = last.TotalWords / int64(last.Epochs)
	}
	sum.WordsPerSec = float64(last.TotalWords) / max(elapsed.Seconds(), 1e-9)
	if o.json {
		return writeJSON(c, sum)
	}
	fmt.Fprintf(c.OutOrStdout(), "wrote %s: %d words x %d dims, trained on %d words x %d epochs in %s (%.0f words/s, loss %.3f)\n",
		o.out, sum.Vocab, sum.Dim, sum.CorpusWords, sum.Epochs, elapsed.Round(time.Millisecond), sum.WordsPerSec, sum.Loss)
	return nil
}

type embedQueryOptions struct {
	vectors string
	format  string
	k       int
	json    bool
}

func (o *embedQueryOptions) flags(c *cobra.Command, k int) {
	f := c.Flags()
	f.StringVar(&o.vectors, "vectors", "", "vector file: word2vec text or binary, fastText .vec, GloVe .txt (required)")
	f.StringVar(&o.format, "format", "auto", "vector file format: auto, text, binary or glove")
	f.IntVarP(&o.k, "k", "k", k, "number of results")
	f.BoolVar(&o.json, "json", false, "print one JSON object per query: {\"query\", \"neighbors\": [{\"word\", \"similarity\"}]}")
}

func (o *embedQueryOptions) load() (*embed.Vectors, error) {
	if o.vectors == "" {
		return nil, usagef("missing --vectors FILE")
	}
	if o.k < 1 {
		return nil, usagef("-k must be at least 1, got %d", o.k)
	}
	format, err := embed.ParseFormat(o.format)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return embed.ReadVectors(o.vectors, format)
}

// embedNeighbors is the JSON form of one query's results.
type embedNeighbors struct {
	Query     string           `json:"query"`
	Neighbors []embed.Neighbor `json:"neighbors"`
}

func newEmbedNeighborsCmd(g *globalOptions) *cobra.Command {
	o := &embedQueryOptions{}
	c := &cobra.Command{
		Use:     "neighbors --vectors FILE WORD...",
		Aliases: []string{"neighbours", "nn"},
		Short:   "Print the nearest neighbours of words by cosine similarity",
		Long: `Print the -k words nearest to each WORD by cosine similarity of their vectors.
A word not found as typed is looked up lowercased.`,
		Example: `  rnnkit embed neighbors --vectors vectors.vec excellent
  rnnkit embed neighbors --vectors vectors.vec -k 8 excellent terrible boring actor
  rnnkit embed neighbors --vectors glove.6B.100d.txt --json king`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			v, err := o.load()
			if err != nil {
				return err
			}
			var res []embedNeighbors
			for _, w := range args {
				nb, err := v.Neighbors(w, o.k)
				if err != nil {
					return fmt.Errorf("%s: %w", o.vectors, err)
				}
				res = append(res, embedNeighbors{Query: w, Neighbors: nb})
			}
			if o.json { // one object per query, as every --json list
				for _, r := range res {
					if err := writeJSON(c, r); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			for i, r := range res {
				if i > 0 {
					fmt.Fprintln(tw)
				}
				fmt.Fprintf(tw, "%s\n", r.Query)
				printNeighbors(tw, r.Neighbors)
			}
			return tw.Flush()
		},
	}
	o.flags(c, 8)
	return c
}

func printNeighbors(w io.Writer, nb []embed.Neighbor) {
	for i, n := range nb {
		fmt.Fprintf(w, "  %d\t%s\t%.4f\n", i+1, n.Word, n.Similarity)
	}
}

func newEmbedAnalogyCmd(g *globalOptions) *cobra.Command {
	o := &embedQueryOptions{}
	c := &cobra.Command{
		Use:   "analogy --vectors FILE A B C",
		Short: `Answer "A is to B as C is to ?" with vector arithmetic`,
		Long: `Answer "A is to B as C is to ?": print the -k words nearest by cosine
similarity to B - A + C (each vector unit-normalised first, as word2vec's
word-analogy), excluding A, B and C.`,
		Example: `  # man is to king as woman is to ? (queen, with good vectors)
  rnnkit embed analogy --vectors vectors.vec man king woman
  rnnkit embed analogy --vectors vectors.vec -k 3 --json good better bad`,
		Args: cobra.ExactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			v, err := o.load()
			if err != nil {
				return err
			}
			nb, err := v.Analogy(args[0], args[1], args[2], o.k)
			if err != nil {
				return fmt.Errorf("%s: %w", o.vectors, err)
			}
			q := fmt.Sprintf("%s is to %s as %s is to ?", args[0], args[1], args[2])
			if o.json {
				return writeJSON(c, embedNeighbors{Query: q, Neighbors: nb})
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, q)
			printNeighbors(tw, nb)
			return tw.Flush()
		},
	}
	o.flags(c, 5)
	return c
}
