package sentiment

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rnnkit/rnnkit/corpora"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Data preparation of a training run, as `rnnkit train sentiment` does it:
// the classes from every label read, a validation split of each file, the
// class weights, and the tokenizer learnt from the training texts.

// Split names how Prepare holds out the validation examples of a part.
type Split string

const (
	// SplitBlock holds out the last examples of each class in file order,
	// minus those linked to the training part (BlockSplitExamples), so
	// that no film is on both sides.
	SplitBlock Split = "block"
	// SplitRandom holds out a seeded random sample (SplitExamples).
	SplitRandom Split = "random"
)

// MaxClasses is the most distinct labels Prepare accepts: more is almost
// always a misread label column.
const MaxClasses = 100

// ErrTooManyClasses is wrapped by Prepare's error for data with more than
// MaxClasses distinct labels.
var ErrTooManyClasses = errors.New("too many distinct labels")

// Part is the examples of one data file as read (ReadExamples), with the
// name its errors carry.
type Part struct {
	Name     string
	Examples []RawExample
}

// PrepareOptions configure Prepare. Start from DefaultPrepareOptions.
type PrepareOptions struct {
	Split   Split   // how each part is split when there is no validation part
	ValFrac float64 // the fraction of each part held out, in (0, 1)
	Seed    uint64  // the seed of SplitRandom
	// Balanced weighs the classes by BalancedWeights in the loss.
	Balanced bool
}

// DefaultPrepareOptions hold out a tenth of each part with SplitBlock and
// weigh every class the same.
func DefaultPrepareOptions() PrepareOptions {
	return PrepareOptions{Split: SplitBlock, ValFrac: 0.1, Seed: 1}
}

// PartSplit is what Prepare did with one part.
type PartSplit struct {
	Train, Val int                 // examples for training and validation
	Block      corpora.BlockReport // with SplitBlock: what was dropped at the boundaries and why
}

// Prepared is labelled data ready for New (Labels) and Train (Data,
// ClassWeights).
type Prepared struct {
	Labels       []string // the classes: ClassNames of every label read
	Data         Data
	ClassWeights []float32   // with Balanced; nil otherwise
	Splits       []PartSplit // one per training part; nil with a validation part
}

// Prepare chooses the classes from the labels of every part (ClassNames),
// converts the examples, and holds out opt.ValFrac of each training part
// for validation, unless val (the examples of a validation file) is given.
// It fails unless there are two to MaxClasses classes and at least one
// training and one validation example.
func Prepare(train []Part, val *Part, opt PrepareOptions) (Prepared, error) {
	var p Prepared
	if opt.Split != SplitBlock && opt.Split != SplitRandom {
		return p, fmt.Errorf("sentiment: split %q: want %q or %q", opt.Split, SplitBlock, SplitRandom)
	}
	if val == nil && !(opt.ValFrac > 0 && opt.ValFrac < 1) {
		return p, fmt.Errorf("sentiment: validation fraction %v is not between 0 and 1", opt.ValFrac)
	}
	var labels []string
	all := train
	if val != nil {
		all = append(all[:len(all):len(all)], *val)
	}
	for _, part := range all {
		for _, r := range part.Examples {
			labels = append(labels, r.Label)
		}
	}
	p.Labels = ClassNames(labels)
	switch {
	case len(p.Labels) == 0:
		return p, errors.New("sentiment: no labelled examples")
	case len(p.Labels) < 2:
		return p, fmt.Errorf("the data has only the label %q; a classifier needs at least two classes", p.Labels[0])
	case len(p.Labels) > MaxClasses:
		return p, fmt.Errorf("%w: the data has %d distinct labels; is the label column right?", ErrTooManyClasses, len(p.Labels))
	}
	for _, part := range train {
		ex, err := ToExamples(part.Examples, p.Labels)
		if err != nil {
			return p, fmt.Errorf("%s: %v", part.Name, err)
		}
		if val != nil {
			p.Data.Train = append(p.Data.Train, ex...)
			continue
		}
		var tr, va []Example
		var s PartSplit
		if opt.Split == SplitRandom {
			tr, va = SplitExamples(ex, opt.ValFrac, opt.Seed)
		} else {
			tr, va, s.Block = BlockSplitExamples(ex, opt.ValFrac)
		}
		s.Train, s.Val = len(tr), len(va)
		p.Splits = append(p.Splits, s)
		p.Data.Train, p.Data.Val = append(p.Data.Train, tr...), append(p.Data.Val, va...)
	}
	if val != nil {
		var err error
		if p.Data.Val, err = ToExamples(val.Examples, p.Labels); err != nil {
			return p, fmt.Errorf("%s: %v", val.Name, err)
		}
	}
	if len(p.Data.Val) == 0 || len(p.Data.Train) == 0 {
		return p, fmt.Errorf("%d training and %d validation examples; need at least one of each (more data or a larger validation fraction)", len(p.Data.Train), len(p.Data.Val))
	}
	if opt.Balanced {
		p.ClassWeights = BalancedWeights(p.Data.Train, len(p.Labels))
	}
	return p, nil
}

// ClassWeightsError is ParseClassWeights' error: a weight that is not a
// non-negative number (Bad), or as many weights (N) as there are not
// classes (Labels).
type ClassWeightsError struct {
	Bad    string   // the weight as written; "" when the count is wrong
	N      int      // the weights given
	Labels []string // the classes
}

func (e *ClassWeightsError) Error() string {
	if e.Bad != "" {
		return fmt.Sprintf("sentiment: class weight %q is not a non-negative number", e.Bad)
	}
	return fmt.Sprintf("sentiment: %d class weights for %d classes (%s)", e.N, len(e.Labels), strings.Join(e.Labels, ", "))
}

// ParseClassWeights reads the class weights of TrainOptions.ClassWeights
// from spec as `rnnkit train sentiment` takes them: "" or "none" for none
// (nil), "balanced" for the weights Prepare computes with Balanced
// (p.ClassWeights, or BalancedWeights of p's training examples), or one
// non-negative number per class of p.Labels, comma-separated. A bad list
// is a *ClassWeightsError.
func (p *Prepared) ParseClassWeights(spec string) ([]float32, error) {
	switch spec {
	case "", "none":
		return nil, nil
	case "balanced":
		if p.ClassWeights != nil {
			return p.ClassWeights, nil
		}
		return BalancedWeights(p.Data.Train, len(p.Labels)), nil
	}
	parts := strings.Split(spec, ",")
	if len(parts) != len(p.Labels) {
		return nil, &ClassWeightsError{N: len(parts), Labels: p.Labels}
	}
	w := make([]float32, len(parts))
	for i, s := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
		if err != nil || x < 0 || math.IsInf(x, 0) {
			return nil, &ClassWeightsError{Bad: s, N: len(parts), Labels: p.Labels}
		}
		w[i] = float32(x)
	}
	return w, nil
}

// Tokenizer kinds of TokenizerOptions.
const (
	TokenizerWord = "word"
	TokenizerBPE  = "bpe"
)

// TokenizerOptions configure TrainTokenizer. Start from
// DefaultTokenizerOptions.
type TokenizerOptions struct {
	Kind    string // TokenizerWord or TokenizerBPE
	Vocab   int    // vocabulary size, specials included
	MinFreq int    // drop tokens seen fewer times
}

// DefaultTokenizerOptions are those of the default classifier: words, a
// vocabulary of 25,000, words seen at least twice.
func DefaultTokenizerOptions() TokenizerOptions {
	return TokenizerOptions{Kind: TokenizerWord, Vocab: 25000, MinFreq: 2}
}

// TrainTokenizer learns the tokenizer of a new classifier or language
// model from texts as Clean leaves them: lowercased words (NFC, punctuation
// split off) or lowercased BPE.
func TrainTokenizer(texts []string, opt TokenizerOptions) (tokenize.Tokenizer, error) {
	var corpus strings.Builder
	for _, t := range texts {
		corpus.WriteString(Clean(t))
		corpus.WriteByte('\n')
	}
	r := strings.NewReader(corpus.String())
	switch opt.Kind {
	case TokenizerBPE:
		return tokenize.TrainBPE(r, tokenize.BPEOptions{VocabSize: opt.Vocab, Lowercase: true, MinFreq: opt.MinFreq})
	case TokenizerWord:
		return tokenize.TrainWord(r, tokenize.WordOptions{Lowercase: true, NFC: true, SplitPunct: true, MinFreq: opt.MinFreq, MaxVocab: opt.Vocab})
	}
	return nil, fmt.Errorf("sentiment: tokenizer kind %q: want %q or %q", opt.Kind, TokenizerWord, TokenizerBPE)
}

// Texts returns the texts of examples.
func Texts(examples []Example) []string {
	out := make([]string, len(examples))
	for i, e := range examples {
		out[i] = e.Text
	}
	return out
}
