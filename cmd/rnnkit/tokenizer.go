package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/spf13/cobra"
)

// addTokenizerCommands registers the "tokenizer" commands.
func addTokenizerCommands(root *cobra.Command, g *globalOptions) {
	cmd := &cobra.Command{
		Use:   "tokenizer",
		Short: "Train, apply and invert tokenizers (rune, word, BPE)",
		Long: `Tokenizers turn text into token ids for the models, and back.

Three kinds are built by "rnnkit tokenizer train":
  rune   one token per character (the charrnn generator)
  word   one token per word or punctuation mark, detokenising decode
  bpe    byte-pair encoding over "▁"-marked words (Metaspace), deterministic

Every tokenizer has <pad>=0, <unk>=1, <s>=2, </s>=3 and is saved as a
Hugging Face tokenizer.json that github.com/sugarme/tokenizer and HF
tokenizers read back; encode and decode also accept any tokenizer.json
sugarme can read.`,
		Example: `  rnnkit tokenizer train --type bpe --vocab-size 8000 --data spa-train.txt --out bpe.json
  rnnkit tokenizer encode --tokenizer bpe.json "¿Dónde está el niño?"
  rnnkit tokenizer decode --tokenizer bpe.json 2 417 95 3`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return c.Help() // like `rnnkit embed`: the subcommands are the answer
		},
	}
	cmd.AddCommand(newTokenizerTrainCmd(g), newTokenizerEncodeCmd(g), newTokenizerDecodeCmd(g))
	root.AddCommand(cmd)
}

type tokenizerTrainOptions struct {
	kind      string
	data      []string
	out       string
	vocabSize int
	minFreq   int
	lowercase bool
	nfc       bool
	punct     bool
	openMarks bool
}

func newTokenizerTrainCmd(g *globalOptions) *cobra.Command {
	o := &tokenizerTrainOptions{}
	c := &cobra.Command{
		Use:   "train --type rune|word|bpe --data FILE... --out tok.json",
		Short: "Train a tokenizer on text files and save its tokenizer.json",
		Long: `Train a tokenizer on one or more UTF-8 text files (invalid bytes count as U+FFFD)
and write it as tokenizer.json. Training is deterministic: the same files and
flags give a byte-identical file.

  --type rune   every character of the data, in code point order
  --type word   words and punctuation, most frequent first (ties by string);
                --vocab-size caps the vocabulary (0 = no cap), --min-freq drops rare words
  --type bpe    merges of the most frequent pair, ties to the smallest pair;
                --vocab-size defaults to 8000, --min-freq to 2

Sizes include the four special tokens.`,
		Example: `  rnnkit tokenizer train --type rune --data input.txt --out chars.json
  rnnkit tokenizer train --type word --lowercase --min-freq 2 --vocab-size 20000 --data train.txt --out words.json
  rnnkit tokenizer train --type bpe --vocab-size 8000 --data en.txt --data es.txt --out bpe.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTokenizerTrain(c, g, o) },
	}
	f := c.Flags()
	f.StringVar(&o.kind, "type", "", "tokenizer kind: rune, word or bpe (required)")
	f.StringSliceVar(&o.data, "data", nil, "training text file (repeat or comma-separate for several; required)")
	f.StringVarP(&o.out, "out", "o", "", "where to write tokenizer.json (required)")
	f.IntVar(&o.vocabSize, "vocab-size", 0, "vocabulary size incl. specials (bpe: default 8000; word: 0 = no cap)")
	f.IntVar(&o.minFreq, "min-freq", 0, "minimum count of a kept rune/word, or of a merged pair (bpe default 2)")
	f.BoolVar(&o.lowercase, "lowercase", false, "lowercase text first (word, bpe)")
	f.BoolVar(&o.nfc, "nfc", false, "NFC-normalise text first (word)")
	f.BoolVar(&o.punct, "split-punct", false, "bpe: punctuation is its own token (\"Hello.\" and \"Hello!\" share \"▁Hello\"; word tokenizers always do this)")
	f.BoolVar(&o.openMarks, "open-marks", false, "bpe with --split-punct: the word after ¡ or ¿ starts with ▁ as after a space")
	return c
}

func runTokenizerTrain(c *cobra.Command, g *globalOptions, o *tokenizerTrainOptions) error {
	switch o.kind {
	case "rune", "word", "bpe":
	case "":
		return usagef("--type is required: rune, word or bpe")
	default:
		return usagef("unknown --type %q: want rune, word or bpe", o.kind)
	}
	if len(o.data) == 0 {
		return usagef("--data is required")
	}
	if o.out == "" {
		return usagef("--out is required")
	}
	if o.vocabSize < 0 || o.minFreq < 0 {
		return usagef("--vocab-size and --min-freq must be >= 0")
	}
	if o.kind == "rune" && o.lowercase {
		return usagef("--lowercase does not apply to --type rune")
	}
	if o.kind != "bpe" && (o.punct || o.openMarks) {
		return usagef("--split-punct and --open-marks apply to --type bpe")
	}
	if o.openMarks && !o.punct {
		return usagef("--open-marks needs --split-punct")
	}
	var readers []io.Reader
	var total int64
	for _, path := range o.data {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			total += st.Size()
		}
		// a newline between files so the last line of one never joins the next
		readers = append(readers, f, strings.NewReader("\n"))
	}
	bar := newProgress(c, g, total, "reading")
	r := io.TeeReader(io.MultiReader(readers...), bar)
	var (
		t   tokenize.Tokenizer
		err error
	)
	switch o.kind {
	case "rune":
		t, err = tokenize.TrainRune(r, tokenize.RuneOptions{MinFreq: o.minFreq})
	case "word":
		t, err = tokenize.TrainWord(r, tokenize.WordOptions{Lowercase: o.lowercase, NFC: o.nfc, SplitPunct: true,
			MinFreq: o.minFreq, MaxVocab: o.vocabSize})
	case "bpe":
		t, err = tokenize.TrainBPE(r, tokenize.BPEOptions{VocabSize: o.vocabSize, MinFreq: o.minFreq, Lowercase: o.lowercase,
			SplitPunct: o.punct, OpenMarks: o.openMarks})
	}
	_ = bar.Finish()
	if err != nil {
		return err
	}
	if err := tokenize.SaveFile(o.out, t); err != nil {
		return err
	}
	status(c, g, "wrote %s: %s tokenizer, %d tokens", o.out, t.Kind(), t.VocabSize())
	return nil
}

type tokenizerEncodeOptions struct {
	path   string
	json   bool
	tokens bool
}

func newTokenizerEncodeCmd(g *globalOptions) *cobra.Command {
	o := &tokenizerEncodeOptions{}
	c := &cobra.Command{
		Use:   "encode --tokenizer tok.json [TEXT...]",
		Short: "Print the token ids of text",
		Long: `Print the token ids of each TEXT argument, one line per argument, or of each
line of standard input when no TEXT is given. No <s>/</s> are added.

  --tokens  print the tokens instead of the ids
  --json    print one JSON object per line: {"text", "ids", "tokens", "offsets"},
            offsets being byte ranges [start, end) into text`,
		Example: `  rnnkit tokenizer encode --tokenizer bpe.json "¿Dónde está el niño?"
  rnnkit tokenizer encode --tokenizer bpe.json --tokens "¡Qué año!"
  rnnkit tokenizer encode --tokenizer words.json --json < sentences.txt`,
		RunE: func(c *cobra.Command, args []string) error { return runTokenizerEncode(c, o, args) },
	}
	c.Flags().StringVarP(&o.path, "tokenizer", "t", "", "tokenizer.json to use (required)")
	c.Flags().BoolVar(&o.json, "json", false, "one JSON object per line with ids, tokens and offsets")
	c.Flags().BoolVar(&o.tokens, "tokens", false, "print tokens instead of ids")
	return c
}

func loadTokenizerFlag(path string) (tokenize.Tokenizer, error) {
	if path == "" {
		return nil, usagef("--tokenizer is required")
	}
	return tokenize.LoadFile(path)
}

// forInputs calls fn with each argument, or each stdin line without its
// line end when there are none.
func forInputs(c *cobra.Command, args []string, fn func(s string) error) error {
	if len(args) > 0 {
		for _, a := range args {
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	}
	br := bufio.NewReader(c.InOrStdin())
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			if ferr := fn(line); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func runTokenizerEncode(c *cobra.Command, o *tokenizerEncodeOptions, args []string) error {
	t, err := loadTokenizerFlag(o.path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(c.OutOrStdout())
	defer w.Flush()
	return forInputs(c, args, func(text string) error {
		ids, offs := t.EncodeOffsets(text)
		toks := make([]string, len(ids))
		for i, id := range ids {
			toks[i] = t.Token(id)
		}
		if o.json {
			if offs == nil {
				offs = [][2]int{}
			}
			if ids == nil {
				ids = []int32{}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return writeJSON(c, struct {
				Text    string   `json:"text"`
				IDs     []int32  `json:"ids"`
				Tokens  []string `json:"tokens"`
				Offsets [][2]int `json:"offsets"`
			}{tokenize.Sanitize(text), ids, toks, offs})
		}
		if o.tokens {
			_, err := fmt.Fprintln(w, strings.Join(toks, " "))
			return err
		}
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = strconv.Itoa(int(id))
		}
		_, err := fmt.Fprintln(w, strings.Join(parts, " "))
		return err
	})
}

func newTokenizerDecodeCmd(g *globalOptions) *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "decode --tokenizer tok.json [IDS...]",
		Short: "Turn token ids back into text",
		Long: `Decode token ids into text. The IDS arguments form one sequence (ids separated
by spaces, in one or several arguments); without arguments each line of
standard input is one sequence. <pad>, <s> and </s> are skipped.`,
		Example: `  rnnkit tokenizer decode --tokenizer bpe.json 2 417 95 3
  rnnkit tokenizer encode --tokenizer bpe.json < in.txt | rnnkit tokenizer decode --tokenizer bpe.json`,
		RunE: func(c *cobra.Command, args []string) error {
			t, err := loadTokenizerFlag(path)
			if err != nil {
				return err
			}
			decode := func(s string, usage bool) error {
				var ids []int32
				for _, f := range strings.Fields(s) {
					n, err := strconv.ParseInt(f, 10, 64)
					var why string
					switch {
					case err != nil && errors.Is(err, strconv.ErrRange), err == nil && (n < 0 || n >= int64(t.VocabSize())):
						why = fmt.Sprintf("out of range: the vocabulary has %d ids, 0 to %d", t.VocabSize(), t.VocabSize()-1)
					case err != nil:
						why = "not an integer"
					}
					if why != "" {
						if usage {
							return usagef("bad id %q: %s", f, why)
						}
						return fmt.Errorf("bad id %q: %s", f, why)
					}
					ids = append(ids, int32(n))
				}
				_, err := fmt.Fprintln(c.OutOrStdout(), t.Decode(ids))
				return err
			}
			if len(args) > 0 {
				return decode(strings.Join(args, " "), true)
			}
			return forInputs(c, nil, func(line string) error { return decode(line, false) })
		},
	}
	c.Flags().StringVarP(&path, "tokenizer", "t", "", "tokenizer.json to use (required)")
	return c
}
