package sentiment

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// ClassReport holds the per-class figures of a Report.
type ClassReport struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"` // NaN when the class was never predicted
	Recall    float64 `json:"recall"`    // NaN when the class has no examples
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // examples of the class
}

// Report is the evaluation of a classifier on labelled examples.
type Report struct {
	N         int           `json:"n"`
	Accuracy  float64       `json:"accuracy"`
	Loss      float64       `json:"loss"` // mean cross entropy, nats
	MacroF1   float64       `json:"macro_f1"`
	Classes   []ClassReport `json:"classes"`
	Confusion [][]int       `json:"confusion"` // [true class][predicted class]
	// AUC is the ROC AUC of the second class's probability (binary tasks;
	// NaN with more than two classes or when one class is absent).
	AUC float64 `json:"roc_auc"`
}

// Evaluate classifies the examples and reports accuracy, loss, per-class
// precision, recall and F1, the confusion matrix and (binary) ROC AUC. It
// is safe for concurrent use.
func (m *Model) Evaluate(ex []Example) (Report, error) {
	return m.EvaluateWith(ex, EvalOptions{})
}

// EvalOptions configure EvaluateWith. The zero value is Evaluate's.
type EvalOptions struct {
	// Workers, if above 1, classifies the examples in that many contiguous
	// parts at once, one goroutine each (runtime.GOMAXPROCS(0) uses every
	// core). Each part is sorted by length and batched on its own; the
	// figures are Evaluate's up to rounding.
	Workers int
}

// EvaluateWith is Evaluate with options.
func (m *Model) EvaluateWith(ex []Example, o EvalOptions) (Report, error) {
	enc, err := m.encodeExamples(ex, "evaluation")
	if err != nil {
		return Report{}, err
	}
	ids := make([][]int32, len(enc))
	labels := make([]int, len(enc))
	for i, e := range enc {
		ids[i], labels[i] = e.ids, int(e.label)
	}
	workers := max(o.Workers, 1)
	if workers == 1 {
		return Score(m.Config.Labels, labels, m.probs(ids)), nil
	}
	C := len(m.Config.Labels)
	probs := make([]float32, len(ids)*C)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(ids)/workers, (w+1)*len(ids)/workers
		wg.Go(func() { copy(probs[lo*C:hi*C], m.probs(ids[lo:hi])) })
	}
	wg.Wait()
	return Score(m.Config.Labels, labels, probs), nil
}

// Score computes a Report from the true classes and the predicted
// probabilities probs: (len(labels), len(names)).
func Score(names []string, labels []int, probs []float32) Report {
	C := len(names)
	r := Report{N: len(labels), Confusion: make([][]int, C), AUC: math.NaN()}
	for c := range r.Confusion {
		r.Confusion[c] = make([]int, C)
	}
	lab32 := make([]int32, len(labels))
	for i, y := range labels {
		lab32[i] = int32(y)
		p := probs[i*C : (i+1)*C]
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		r.Confusion[y][best]++
	}
	r.Loss, r.Accuracy = scoreProbs(probs, lab32, C)
	var f1s float64
	for c := range C {
		tp, support, predicted := r.Confusion[c][c], 0, 0
		for k := range C {
			support += r.Confusion[c][k]
			predicted += r.Confusion[k][c]
		}
		cr := ClassReport{Label: names[c], Support: support, Precision: ratio(tp, predicted), Recall: ratio(tp, support)}
		switch {
		case math.IsNaN(cr.Precision) || math.IsNaN(cr.Recall):
			cr.F1 = math.NaN()
		case cr.Precision+cr.Recall == 0:
			cr.F1 = 0
		default:
			cr.F1 = 2 * cr.Precision * cr.Recall / (cr.Precision + cr.Recall)
		}
		if !math.IsNaN(cr.F1) {
			f1s += cr.F1
		}
		r.Classes = append(r.Classes, cr)
	}
	r.MacroF1 = f1s / float64(C)
	if C == 2 {
		scores := make([]float64, len(labels))
		pos := make([]bool, len(labels))
		for i, y := range labels {
			scores[i], pos[i] = float64(probs[i*C+1]), y == 1
		}
		r.AUC = ROCAUC(scores, pos)
	}
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// ROCAUC is the area under the ROC curve of scores for the positives: the
// probability that a random positive scores above a random negative, ties
// counting one half (the Mann-Whitney U statistic over n₊·n₋). It is NaN
// when either class is absent.
func ROCAUC(scores []float64, positive []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var nPos, nNeg float64
	var rankSum float64 // sum of the (mid)ranks of the positives, 1-based
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of ranks i+1..j
		for _, k := range idx[i:j] {
			if positive[k] {
				nPos++
				rankSum += mid
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg)
}
