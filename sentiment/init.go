package sentiment

import (
	"math"
	"math/rand/v2"

	"github.com/rnnkit/rnnkit/tokenize"
)

// Starting a classifier from a pretrained one or from a language model, as
// `rnnkit train sentiment --init` and `--init-lm` do.

// FromLMOptions configure NewFromLMFor.
type FromLMOptions struct {
	// AdaptVocab fits the LM's word vocabulary to the texts first
	// (NewFromLMAdapted): words seen at least MinFreq times take ids.
	AdaptVocab bool
	MinFreq    int
}

// FromLMReport is what NewFromLMFor did.
type FromLMReport struct {
	Adapted int // with AdaptVocab: the LM's words that the texts' words replaced
	Unknown int // <unk> tokens of the texts under the classifier's tokenizer
}

// NewFromLMFor builds the classifier of a fine-tuning run on texts (the
// training reviews) from lm: NewFromLMAdapted with opt.AdaptVocab,
// NewFromLM otherwise, with cfg's labels, pooling, dropout and truncation
// and the head initialised from rng. The report counts the words adapted
// and the tokens of texts that the classifier's tokenizer does not know.
func NewFromLMFor(lm *LM, cfg Config, texts []string, opt FromLMOptions, rng *rand.Rand) (*Model, FromLMReport, error) {
	var rep FromLMReport
	var m *Model
	var err error
	if opt.AdaptVocab {
		m, rep.Adapted, err = NewFromLMAdapted(lm, cfg, texts, opt.MinFreq, rng)
	} else {
		m, err = NewFromLM(lm, cfg, rng)
	}
	if err != nil {
		return nil, FromLMReport{}, err
	}
	rep.Unknown = m.UnknownTokens(texts)
	return m, rep, nil
}

// UnknownTokens counts the tokens of texts (cleaned as Encode cleans them,
// not truncated) that m's tokenizer maps to <unk>.
func (m *Model) UnknownTokens(texts []string) int {
	unk := 0
	for _, t := range texts {
		for _, id := range m.Tok.Encode(Clean(t)) {
			if id == tokenize.Unk {
				unk++
			}
		}
	}
	return unk
}

// ScaleFineTune sets o's DiscriminativeLR, FreezeSteps and UnfreezeEvery
// to those of FineTuneFor the run's length: o.Epochs passes over examples
// training examples in batches of o.Batch (at least 1).
func (o *TrainOptions) ScaleFineTune(examples int) {
	batch := max(1, o.Batch)
	steps := int(math.Round(o.Epochs * float64((examples+batch-1)/batch)))
	ft := FineTuneFor(steps)
	o.DiscriminativeLR, o.FreezeSteps, o.UnfreezeEvery = ft.DiscriminativeLR, ft.FreezeSteps, ft.UnfreezeEvery
}
