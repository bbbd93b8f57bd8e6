package sentiment

import (
	"fmt"
	"math"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// Explanation methods, for Explain.
const (
	// ExplainOcclusion scores each token by how much the explained class's
	// log-odds drop when the token is replaced by <pad>, whose embedding is
	// zero: one forward pass per token (batched).
	ExplainOcclusion = "occlusion"
	// ExplainGradient scores each token by gradient × input: the gradient
	// of the explained class's log-odds with respect to the token's
	// embedding, dotted with the embedding. It is the first-order estimate
	// of what occlusion measures, from one forward and one backward pass.
	ExplainGradient = "gradient"
)

// TokenScore is one token's part in a prediction.
type TokenScore struct {
	Token string // Explanation.Text[Start:End], or the vocabulary entry when that is empty
	ID    int32
	// Start and End are the token's byte range in Explanation.Text (0, 0
	// for the <unk> that stands for a review without tokens).
	Start, End int
	// Score is in nats of the explained class's log-odds: positive when
	// the token pushed the prediction toward the class, negative when it
	// pushed away from it.
	Score float64
}

// Explanation tells which tokens pushed a prediction which way.
type Explanation struct {
	Prediction        // the prediction explained; the scores are about its Class
	Method     string // ExplainOcclusion or ExplainGradient
	// Text is the review as the tokenizer saw it (Clean, with invalid UTF-8
	// replaced by U+FFFD); the tokens' offsets index it.
	Text string
	// Tokens are the tokens the model saw, in order: after truncation
	// (Config.Truncate), a long review's cut tokens are not among them.
	Tokens []TokenScore
}

// Explain classifies text and scores each of its tokens by how much it
// pushed the predicted class's log-odds, log(p/(1-p)) = logit_c − logsumexp
// of the other logits, up or down, by the method given (ExplainOcclusion
// when empty). The log-odds order the tokens exactly as the log-probability
// does, for both methods (for gradient × input the two gradients differ by
// the positive factor 1/(1-p)), but do not vanish when a confident model
// gives p within float rounding of 1. Explain neither writes the model nor
// shares a workspace: it is safe for concurrent use, like Predict.
func (m *Model) Explain(text, method string) (Explanation, error) {
	switch method {
	case "":
		method = ExplainOcclusion
	case ExplainOcclusion, ExplainGradient:
	default:
		return Explanation{}, fmt.Errorf("sentiment: unknown explanation method %q (want %s or %s)", method, ExplainOcclusion, ExplainGradient)
	}
	clean := tokenize.Sanitize(Clean(text))
	ids, offs := m.Tok.EncodeOffsets(clean)
	if len(ids) == 0 {
		ids, offs = []int32{tokenize.Unk}, [][2]int{{0, 0}}
	}
	// The tokens explained are those the recurrent part sees; an n-gram
	// branch reads the whole review (full), so the variants keep it whole.
	full := ids
	keep := make([]int32, len(ids))
	for i := range keep {
		keep[i] = int32(i)
	}
	if len(ids) > m.Config.MaxLen {
		// Cut the positions as Encode cuts the ids, to keep the offsets.
		keep = Truncate(keep, m.Config.MaxLen, m.Config.Truncate)
		ids2, offs2 := make([]int32, len(keep)), make([][2]int, len(keep))
		for k, i := range keep {
			ids2[k], offs2[k] = ids[i], offs[i]
		}
		ids, offs = ids2, offs2
	}
	if m.Config.NGram == nil {
		full, keep = ids, nil
	}
	var logits []float32
	var scores []float64
	if method == ExplainOcclusion {
		logits, scores = m.occlusion(ids, full, keep)
	} else {
		logits, scores = m.gradientInput(ids, full)
	}
	e := Explanation{Prediction: m.prediction(logits), Method: method, Text: clean, Tokens: make([]TokenScore, len(ids))}
	for t, id := range ids {
		tok := clean[offs[t][0]:offs[t][1]]
		if tok == "" {
			tok = m.Tok.Token(id)
		}
		e.Tokens[t] = TokenScore{Token: tok, ID: id, Start: offs[t][0], End: offs[t][1], Score: scores[t]}
	}
	return e, nil
}

// prediction turns one review's logits (C) into a Prediction, as PredictIDs does.
func (m *Model) prediction(logits []float32) Prediction {
	C := len(m.Config.Labels)
	p := make([]float32, C)
	rnn.Softmax(p, logits, 1, C)
	best := 0
	for c := range p {
		if p[c] > p[best] {
			best = c
		}
	}
	return Prediction{Label: m.Config.Labels[best], Class: best, Probability: p[best], Probs: p}
}

// logOdds returns log(p_c/(1-p_c)) from logits (C) in float64:
// logit_c − logsumexp over the other classes.
func logOdds(logits []float32, c int) float64 {
	mx, s := restSumExp(logits, c)
	return float64(logits[c]) - mx - math.Log(s)
}

// restSumExp returns mx and s with Σ_{k≠c} exp(logit_k) = exp(mx)·s.
func restSumExp(logits []float32, c int) (mx, s float64) {
	mx = math.Inf(-1)
	for k, v := range logits {
		if k != c {
			mx = max(mx, float64(v))
		}
	}
	for k, v := range logits {
		if k != c {
			s += math.Exp(float64(v) - mx)
		}
	}
	return mx, s
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// occlusion returns the logits (C) of ids and, per token, the drop of the
// predicted class's log-odds when the token is replaced by <pad>. The
// review and its len(ids) variants run as batches of equal-length reviews.
// With an n-gram branch, full is the whole review, of which ids are the
// tokens at the positions keep (nil when ids is the whole review), and the
// branch reads each variant's full review.
func (m *Model) occlusion(ids, full []int32, keep []int32) ([]float32, []float64) {
	n, L, C := len(ids), len(full), len(m.Config.Labels)
	variants, fulls := make([][]int32, n+1), make([][]int32, n+1)
	variants[0], fulls[0] = ids, full
	flat := make([]int32, n*n)
	for t := range n {
		v := flat[t*n : (t+1)*n]
		copy(v, ids)
		v[t] = tokenize.Pad
		variants[t+1], fulls[t+1] = v, v
	}
	if keep != nil {
		flatFull := make([]int32, n*L)
		for t := range n {
			f := flatFull[t*L : (t+1)*L]
			copy(f, full)
			f[keep[t]] = tokenize.Pad
			fulls[t+1] = f
		}
	}
	all := make([]float32, (n+1)*C) // logits, (n+1, C)
	w := m.getWork()
	defer m.putWork(w)
	for s := 0; s < len(variants); s += inferBatch {
		e := min(s+inferBatch, len(variants))
		logits := m.forward(w, variants[s:e], false, nil)[:(e-s)*C]
		m.mixNGram(logits, fulls[s:e])
		copy(all[s*C:], logits)
	}
	logits := all[:C]
	c := argmax(logits)
	base := logOdds(logits, c)
	scores := make([]float64, n)
	for t := range scores {
		scores[t] = base - logOdds(all[(t+1)*C:(t+2)*C], c)
	}
	return logits, scores
}

// gradientInput returns the logits (C) of ids and, per token, gradient ×
// input: ∂z/∂x_t · x_t for the embedding x_t of token t and the predicted
// class's log-odds z.
func (m *Model) gradientInput(ids, full []int32) ([]float32, []float64) {
	logits, dx, x := m.inputGradientMix(ids, full, -1)
	E := m.Config.Embedding
	scores := make([]float64, len(ids))
	for t := range scores {
		var s float64
		for e, g := range dx[t*E : (t+1)*E] {
			s += float64(g) * float64(x[t*E+e])
		}
		scores[t] = s
	}
	return logits, scores
}

// inputGradient runs one review forward and back and returns its logits
// (C), the gradient dx: (T, E) of class c's log-odds (the predicted class
// when c < 0) with respect to the embedding outputs, and those outputs x:
// (T, E). It runs on a private copy of the layers after the embedding (see
// gradModel), so the backward pass writes no buffer of m.
func (m *Model) inputGradient(ids []int32, c int) (logits, dx, x []float32) {
	return m.inputGradientMix(ids, ids, c)
}

// inputGradientMix is inputGradient for a model whose n-gram branch reads
// full, the whole review of which ids are the recurrent part's tokens.
func (m *Model) inputGradientMix(ids, full []int32, c int) (logits, dx, x []float32) {
	g := m.gradModel()
	w := g.newWork()
	C := len(m.Config.Labels)
	logits = append([]float32(nil), g.forward(w, [][]int32{ids}, false, nil)[:C]...)
	m.mixNGram(logits, [][]int32{full}) // the n-gram branch's part is constant in x
	if c < 0 {
		c = argmax(logits)
	}
	// ∂z/∂logit_c = 1; ∂z/∂logit_k = −softmax_k over the classes k ≠ c.
	// With an n-gram branch the logits are the mixture's, (1−w)·log p_rnn
	// + w·log p_ngram; as these derivatives sum to zero, the ones with
	// respect to the recurrent part's logits are the same times 1−w.
	scale := 1.0
	if m.Config.NGram != nil {
		scale = 1 - float64(m.Config.NGram.Weight)
	}
	dlogits := make([]float32, C)
	mx, sum := restSumExp(logits, c)
	for k, v := range logits {
		if k != c {
			dlogits[k] = float32(-scale * math.Exp(float64(v)-mx) / sum)
		}
	}
	dlogits[c] = float32(scale)
	return logits, g.backwardInput(w, dlogits), w.x
}

// backwardInput is backward (net.go) without its last step: it takes
// dlogits (B, C) for the last forward and returns the gradient with respect
// to the embedding outputs, (T, B, E), owned by w.seq, instead of
// accumulating it into the embedding table. (It still accumulates the
// gradients of the layers after the embedding.) For an explanation the last
// forward must have run without dropout; backward continues from it.
func (m *Model) backwardInput(w *work, dlogits []float32) []float32 {
	T, B := w.T, w.B
	DH := m.rnn.OutputSize()
	F := len(m.pools) * DH
	w.dfeat = growF(w.dfeat, B*F)
	m.fc.Backward(w.dfeat, dlogits, w.featD, B)
	w.featDrop.Backward(w.dfeat, w.dfeat)
	w.dy = growF(w.dy, T*B*DH)
	clear(w.dy)
	off := 0
	for _, p := range m.pools {
		m.poolBackward(w, p, off, F)
		off += DH
	}
	return w.seq.Backward(w.dy, nil)
}

// gradModel returns a copy of m whose recurrent, attention and output
// layers have their own values (copied from m) and gradient buffers, and
// whose embedding is m's table itself, only read: a backward pass on the
// copy (backwardInput, which stops before the embedding) writes nothing of
// m. The copy is the size of those layers, a small part of the model.
func (m *Model) gradModel() *Model {
	cfg := m.Config
	cfg.Vocab = 1 // the copy's own table is never used
	cfg.NGram = nil
	g := rnn.Build(func(ps *rnn.Params) *Model { return build(cfg, m.Tok, ps) })
	for _, p := range g.Params.List() {
		if p == g.emb.Weight {
			continue
		}
		copy(p.W, m.Params.Get(p.Name).W)
	}
	g.emb, g.Config = m.emb, m.Config
	return g
}
