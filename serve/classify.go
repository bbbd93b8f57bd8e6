package serve

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// classifyIn is one classify request's share of a batch: its reviews,
// already encoded by the request's goroutine.
type classifyIn struct {
	ids  [][]int32
	topK int
}

// checkTexts checks the texts of a classify or translate request.
func (s *Server) checkTexts(texts []string, allowBlank bool) error {
	if len(texts) == 0 {
		return badRequest("texts is missing or empty; give at least one text")
	}
	if len(texts) > s.opt.MaxTexts {
		return errorf(http.StatusRequestEntityTooLarge, "texts has %d entries; the limit is %d per request", len(texts), s.opt.MaxTexts)
	}
	for i, t := range texts {
		if n := utf8.RuneCountInString(t); n > s.opt.MaxTextChars {
			return errorf(http.StatusRequestEntityTooLarge, "texts[%d] has %d characters; the limit is %d", i, n, s.opt.MaxTextChars)
		}
		if strings.ContainsRune(t, 0) {
			return badRequest("texts[%d] contains a NUL character; send text", i)
		}
		if !allowBlank && strings.TrimSpace(t) == "" {
			return badRequest("texts[%d] is empty", i)
		}
	}
	return nil
}

func (s *Server) handleClassify(w http.ResponseWriter, r *http.Request) {
	c := s.models.Classifier
	if c == nil {
		writeJSON(w, http.StatusNotFound, ErrorResponse{"this server has no classifier loaded"})
		return
	}
	var req ClassifyRequest
	if err := decodeBody(w, r, s.opt.MaxBody, s.opt.Timeout, &req); err != nil {
		writeError(w, r, err, s.opt.Timeout)
		return
	}
	if err := s.checkTexts(req.Texts, false); err != nil {
		writeError(w, r, err, s.opt.Timeout)
		return
	}
	if req.TopK < 0 {
		writeError(w, r, badRequest("top_k must be 0 (no list) or more, got %d", req.TopK), s.opt.Timeout)
		return
	}
	in := classifyIn{ids: make([][]int32, len(req.Texts)), topK: min(req.TopK, len(c.Model.Config.Labels))}
	for i, t := range req.Texts {
		in.ids[i] = c.Model.Encode(t)
	}
	out, err := submitWait(r.Context(), s, "classify", s.classify, in, len(in.ids))
	if err != nil {
		writeError(w, r, err, s.opt.Timeout)
		return
	}
	writeJSON(w, http.StatusOK, ClassifyResponse{Results: out})
}

// submitWait queues one job and waits for its result, or for ctx.
func submitWait[In, Out any](ctx context.Context, s *Server, model string, b *batcher[In, Out], in In, n int) (Out, error) {
	j := newJob[In, Out](ctx, in, n)
	if err := b.submit(j); err != nil {
		if errors.Is(err, errQueueFull) {
			s.metrics.rejected.WithLabelValues(model).Inc()
		}
		var zero Out
		return zero, err
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		select {
		case <-j.done: // finished after all
		default:
			var zero Out
			return zero, ctx.Err()
		}
	}
	return j.out, j.err
}

// runClassify classifies the reviews of a batch of requests with one model
// call.
func (s *Server) runClassify(ctx context.Context, jobs []*job[classifyIn, []ClassifyResult]) {
	m := s.models.Classifier.Model
	var all [][]int32
	for _, j := range jobs {
		all = append(all, j.in.ids...)
	}
	s.metrics.batchSize.WithLabelValues("classify").Observe(float64(len(all)))
	preds := m.PredictIDs(all)
	labels := m.Config.Labels
	for _, j := range jobs {
		j.out = make([]ClassifyResult, len(j.in.ids))
		for i := range j.out {
			p := preds[0]
			preds = preds[1:]
			res := ClassifyResult{Label: p.Label, Probability: p.Probability, Probs: make(map[string]float32, len(labels))}
			for c, l := range labels {
				res.Probs[l] = p.Probs[c]
			}
			if j.in.topK > 0 {
				idx := make([]int, len(labels))
				for c := range idx {
					idx[c] = c
				}
				slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p.Probs[b], p.Probs[a]) })
				for _, c := range idx[:j.in.topK] {
					res.Top = append(res.Top, LabelProb{Label: labels[c], Probability: p.Probs[c]})
				}
			}
			j.out[i] = res
		}
	}
}
