package charrnn

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/rnnkit/rnnkit/tokenize"
)

// Ensemble is several character models that predict together: the next
// character's distribution is the arithmetic mean of the models'
//
//	p(c) = (1/N) Σ_k p_k(c),
//
// computed in log space from their log-softmaxes (a logsumexp minus log N).
// The models may differ in cell and size but must share one tokenizer
// (NewEnsemble checks it). An Ensemble generates and evaluates as a Model
// does, with the same options, through the same code: a Model is an
// ensemble of one, so an Ensemble of a single model gives exactly its
// outputs. Like a Model, an Ensemble is read-only during generation and
// evaluation and may serve several goroutines at once, each with its own
// Generator.
type Ensemble struct {
	models []*Model
}

// NewEnsemble returns the ensemble of models (at least one; the same model
// may appear twice, which weighs it double). Every model must have the
// first model's tokenizer: the same vocabulary with the same ids, or the
// error is a *TokenizerError saying how they differ. Quantize the models
// (Model.Quantize) before, if at all: an ensemble may mix int8 and float
// models.
func NewEnsemble(models ...*Model) (*Ensemble, error) {
	if len(models) == 0 {
		return nil, errors.New("charrnn: an ensemble needs at least one model")
	}
	for i, m := range models {
		if m == nil || m.Tok == nil {
			return nil, fmt.Errorf("charrnn: ensemble model %d is nil", i+1)
		}
		if m.Config.Vocab != m.Tok.VocabSize() {
			return nil, fmt.Errorf("charrnn: ensemble model %d: config vocab %d does not match its tokenizer's %d", i+1, m.Config.Vocab, m.Tok.VocabSize())
		}
	}
	for i, m := range models[1:] {
		if d := diffTokenizers(m.Tok, models[0].Tok); d != nil {
			d.Model = i + 1
			return nil, d
		}
	}
	return &Ensemble{models: slices.Clone(models)}, nil
}

// alone is the ensemble of m by itself, through which m generates and
// evaluates.
func (m *Model) alone() *Ensemble { return &Ensemble{models: []*Model{m}} }

// Models are the ensemble's models, in NewEnsemble's order (a copy).
func (e *Ensemble) Models() []*Model { return slices.Clone(e.models) }

// Len is the number of models.
func (e *Ensemble) Len() int { return len(e.models) }

// Tokenizer is the models' tokenizer (the first model's; they all have it).
func (e *Ensemble) Tokenizer() tokenize.Tokenizer { return e.models[0].Tok }

// vocab is the number of token ids.
func (e *Ensemble) vocab() int { return e.models[0].Config.Vocab }

// TokenizerError is NewEnsemble's error for a model whose tokenizer is not
// the first model's. An ensemble averages the models' probabilities id by
// id, so the ids must mean the same characters in every model; models
// trained on the same text have the same vocabulary.
type TokenizerError struct {
	Model int // index of the model in NewEnsemble's arguments (1 or more)

	kind, firstKind   string
	size, firstSize   int
	only, firstOnly   []string // tokens only in the model, only in the first model
	id                int32    // the first id that differs (-1: none)
	token, firstToken string   // what it is in the model and in the first
}

// Error describes the difference with the models' positions as names.
func (e *TokenizerError) Error() string {
	return "charrnn: " + e.Describe(fmt.Sprintf("ensemble model %d", e.Model+1), "model 1")
}

// Describe says how the tokenizers differ, calling the model name and the
// first model first (a caller that loaded them from files passes the file
// names).
func (e *TokenizerError) Describe(name, first string) string {
	var b strings.Builder
	switch {
	case e.kind != e.firstKind:
		fmt.Fprintf(&b, "%s has a %s tokenizer and %s a %s one", name, e.kind, first, e.firstKind)
	case e.size != e.firstSize || len(e.only) > 0 || len(e.firstOnly) > 0:
		fmt.Fprintf(&b, "%s has %d tokens and %s %d", name, e.size, first, e.firstSize)
		for _, side := range []struct {
			toks  []string
			owner string
		}{{e.only, name}, {e.firstOnly, first}} {
			if len(side.toks) > 0 {
				fmt.Fprintf(&b, "; %s only in %s", quoteTokens(side.toks), side.owner)
			}
		}
		if len(e.only) == 0 && len(e.firstOnly) == 0 && e.id >= 0 {
			fmt.Fprintf(&b, "; id %d is %q in %s and %q in %s", e.id, e.token, name, e.firstToken, first)
		}
	case e.id >= 0:
		fmt.Fprintf(&b, "%s and %s have the same %d tokens with other ids: id %d is %q in %s and %q in %s",
			name, first, e.size, e.id, e.token, name, e.firstToken, first)
	default:
		fmt.Fprintf(&b, "%s and %s have the same vocabulary but different tokenizer settings", name, first)
	}
	b.WriteString("; an ensemble needs models with the same vocabulary and ids (train them on the same text)")
	return b.String()
}

// quoteTokens lists a few tokens, quoted: `"é", "ñ" are` or `"é" is`.
func quoteTokens(toks []string) string {
	const most = 5
	q := make([]string, 0, most)
	for _, t := range toks[:min(len(toks), most)] {
		q = append(q, fmt.Sprintf("%q", t))
	}
	s := strings.Join(q, ", ")
	switch {
	case len(toks) > most:
		return fmt.Sprintf("%s and %d more are", s, len(toks)-most)
	case len(toks) > 1:
		return s + " are"
	}
	return s + " is"
}

// diffTokenizers returns nil when tok is first (the same kind, tokens and
// ids, and tokenizer.json), or what differs.
func diffTokenizers(tok, first tokenize.Tokenizer) *TokenizerError {
	d := &TokenizerError{kind: tok.Kind(), firstKind: first.Kind(), size: tok.VocabSize(), firstSize: first.VocabSize(), id: -1}
	if d.kind != d.firstKind {
		return d
	}
	for id := int32(0); int(id) < max(d.size, d.firstSize); id++ {
		a, b := tok.Token(id), first.Token(id)
		if int(id) < d.size {
			if _, ok := first.ID(a); !ok {
				d.only = append(d.only, a)
			}
		}
		if int(id) < d.firstSize {
			if _, ok := tok.ID(b); !ok {
				d.firstOnly = append(d.firstOnly, b)
			}
		}
		if a != b && d.id < 0 {
			d.id, d.token, d.firstToken = id, a, b
		}
	}
	if d.id >= 0 || d.size != d.firstSize {
		return d
	}
	aj, err1 := tok.MarshalJSON()
	bj, err2 := first.MarshalJSON()
	if err1 != nil || err2 != nil || !bytes.Equal(aj, bj) {
		return d
	}
	return nil
}

// mixLogits writes into dst, for each of the n rows of V logits in every
// srcs[k] (one per model, N >= 2), logits whose softmax is the mixture
// (1/N) Σ_k softmax(srcs[k]): the first model's logits plus
//
//	log (1/N) Σ_k p_k/p_1 = logsumexp_k(log p_k) - log N - log p_1,
//
// computed in float64 from the log-softmaxes, relative to the first model
// so that models that agree give back exactly its logits (an ensemble of a
// model with itself samples and scores as the model does). lse and d are
// scratch of N values each. Softmax is shift-invariant, so dst, read as
// logits, is the mixture exactly; log-softmax(dst) are its log-probabilities.
func mixLogits(dst []float32, srcs [][]float32, n, V int, lse, d []float64) {
	logN := math.Log(float64(len(srcs)))
	for r := 0; r < n; r++ {
		row := r * V
		for k, s := range srcs {
			lse[k] = logSumExp(s[row : row+V])
		}
		first := srcs[0][row : row+V]
		for i, l := range first {
			a := float64(l) - lse[0] // log p_1
			mx := 0.0                // max_k d[k], d[0] = 0
			for k := 1; k < len(srcs); k++ {
				d[k] = float64(srcs[k][row+i]) - lse[k] - a
				mx = max(mx, d[k])
			}
			sum := math.Exp(-mx)
			for k := 1; k < len(srcs); k++ {
				sum += math.Exp(d[k] - mx)
			}
			dst[row+i] = float32(float64(l) + (mx + (math.Log(sum) - logN)))
		}
	}
}

// logSumExp is log Σ exp(v), computed as Generator.LogProb normalizes.
func logSumExp(v []float32) float64 {
	mx := float32(math.Inf(-1))
	for _, x := range v {
		mx = max(mx, x)
	}
	var sum float64
	for _, x := range v {
		sum += math.Exp(float64(x - mx))
	}
	return float64(mx) + math.Log(sum)
}
