package seq2seq

import (
	"fmt"
	"strings"

	"github.com/rnnkit/rnnkit/tokenize"
)

// Tokenizer kinds of TokenizerOptions.
const (
	TokenizerBPE  = "bpe"
	TokenizerWord = "word"
)

// TokenizerOptions configure TrainTokenizers. Start from
// DefaultTokenizerOptions.
type TokenizerOptions struct {
	Kind               string // TokenizerBPE or TokenizerWord
	SrcVocab, TgtVocab int    // vocabulary sizes, specials included
	// JointVocab, if positive, trains one tokenizer of this size on both
	// sides instead (for tied embeddings).
	JointVocab int
	// SplitPunct makes BPE split punctuation off words before merging;
	// words always split it off.
	SplitPunct bool
	// OpenMarks (BPE with SplitPunct) sets ¡ and ¿ apart so that the word
	// after them is the same token as anywhere else ("¡Buena" gives "▁",
	// "¡", "▁Buena"); without it that word lacks its "▁" and is spelt in
	// rarer pieces, which is where short exclamations and questions went
	// wrong (tokenize.BPEOptions.OpenMarks).
	OpenMarks bool
}

// DefaultTokenizerOptions are those of `rnnkit train seq2seq`: BPE of
// 6,000 tokens on each side, punctuation split off, ¡ and ¿ apart.
func DefaultTokenizerOptions() TokenizerOptions {
	return TokenizerOptions{Kind: TokenizerBPE, SrcVocab: 6000, TgtVocab: 6000, SplitPunct: true, OpenMarks: true}
}

// TrainTokenizers learns the source and target tokenizers of a new
// translator from the training pairs (with JointVocab, one tokenizer for
// both, returned twice).
func TrainTokenizers(pairs []Pair, opt TokenizerOptions) (src, tgt tokenize.Tokenizer, err error) {
	if opt.Kind != TokenizerBPE && opt.Kind != TokenizerWord {
		return nil, nil, fmt.Errorf("seq2seq: tokenizer kind %q: want %q or %q", opt.Kind, TokenizerBPE, TokenizerWord)
	}
	srcL, tgtL := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		srcL[i], tgtL[i] = p.Source, p.Target
	}
	if opt.JointVocab > 0 {
		src, err = trainTokenizer(opt, append(srcL, tgtL...), opt.JointVocab)
		return src, src, err
	}
	if src, err = trainTokenizer(opt, srcL, opt.SrcVocab); err != nil {
		return nil, nil, err
	}
	tgt, err = trainTokenizer(opt, tgtL, opt.TgtVocab)
	return src, tgt, err
}

func trainTokenizer(opt TokenizerOptions, lines []string, vocab int) (tokenize.Tokenizer, error) {
	r := strings.NewReader(strings.Join(lines, "\n"))
	if opt.Kind == TokenizerBPE {
		return tokenize.TrainBPE(r, tokenize.BPEOptions{VocabSize: vocab, SplitPunct: opt.SplitPunct, OpenMarks: opt.OpenMarks && opt.SplitPunct})
	}
	return tokenize.TrainWord(r, tokenize.WordOptions{MaxVocab: vocab, SplitPunct: true})
}
