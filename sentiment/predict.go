package sentiment

import (
	"cmp"
	"slices"

	"github.com/rnnkit/rnnkit/rnn"
)

// Prediction is the classifier's answer for one review.
type Prediction struct {
	Label       string    // the most probable class
	Class       int       // its index in Config.Labels
	Probability float32   // its probability
	Probs       []float32 // the probability of every class, in Config.Labels order
}

// inferBatch is the largest batch PredictBatch and Evaluate run at once.
const inferBatch = 64

// Predict classifies one review. It is safe for concurrent use.
func (m *Model) Predict(text string) Prediction {
	return m.PredictIDs([][]int32{m.Encode(text)})[0]
}

// PredictBatch classifies reviews, batching reviews of similar length
// together; out[i] is the prediction for texts[i]. It is safe for
// concurrent use.
func (m *Model) PredictBatch(texts []string) []Prediction {
	ids := make([][]int32, len(texts))
	for i, t := range texts {
		ids[i] = m.Encode(t)
	}
	return m.PredictIDs(ids)
}

// PredictIDs classifies reviews already prepared by Encode. The recurrent
// part reads each cut to Config.MaxLen by Config.Truncate, as in training;
// an n-gram branch reads it whole.
func (m *Model) PredictIDs(ids [][]int32) []Prediction {
	out := make([]Prediction, len(ids))
	probs := m.probs(ids)
	C := len(m.Config.Labels)
	for i := range out {
		p := probs[i*C : (i+1)*C]
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		out[i] = Prediction{Label: m.Config.Labels[best], Class: best, Probability: p[best], Probs: p}
	}
	return out
}

// probs returns the class probabilities (len(ids), C) of prepared reviews.
func (m *Model) probs(ids [][]int32) []float32 {
	C := len(m.Config.Labels)
	res := make([]float32, len(ids)*C)
	order := make([]int, len(ids))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(ids[a]), len(ids[b])) })
	w := m.getWork()
	defer m.putWork(w)
	batch := make([][]int32, 0, inferBatch)
	full := make([][]int32, 0, inferBatch)
	for s := 0; s < len(order); s += inferBatch {
		idx := order[s:min(s+inferBatch, len(order))]
		batch, full = batch[:0], full[:0]
		for _, i := range idx {
			// Encode leaves the whole review to an n-gram branch; the
			// recurrent part reads it cut as it was trained.
			batch = append(batch, Truncate(ids[i], m.Config.MaxLen, m.Config.Truncate))
			full = append(full, ids[i])
		}
		logits := m.forward(w, batch, false, nil)
		m.mixNGram(logits, full)
		rnn.Softmax(logits, logits, len(batch), C)
		for k, i := range idx {
			copy(res[i*C:(i+1)*C], logits[k*C:(k+1)*C])
		}
	}
	return res
}
