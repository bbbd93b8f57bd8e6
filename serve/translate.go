package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rnnkit/rnnkit/seq2seq"
)

// defaultBeam is the beam width when a request does not give one, as for
// rnnkit translate.
const defaultBeam = 5

// translateIn is one translate request's share of a batch: its texts for
// one translator, with the decoding options (jobs with the same options
// share a model call) and what to render.
type translateIn struct {
	texts     []string
	beam      int
	nbest     int
	attention bool
	from, to  string
}

// directions lists the directions served, for error messages: "en->es, es->en".
func (s *Server) directions() string {
	var d []string
	for _, t := range s.models.Translators {
		d = append(d, t.From+"->"+t.To)
	}
	return strings.Join(d, ", ")
}

// translator picks the translator for one text: the one from from into to
// (to "" = any), or with from "auto" the one for the detected language.
func (s *Server) translator(i int, text, from, to string) (*Translator, error) {
	auto := from == "auto"
	if auto {
		from = seq2seq.DetectLanguage(text)
	}
	var first *Translator
	for k := range s.models.Translators {
		t := &s.models.Translators[k]
		if to != "" && t.To != to {
			continue
		}
		if first == nil {
			first = t
		}
		if from == "" || t.From == from {
			return t, nil
		}
	}
	switch {
	case first == nil:
		return nil, badRequest("this server has no translator into %q; it serves %s", to, s.directions())
	case auto:
		return nil, badRequest("texts[%d] looks like %q, and this server has no translator from it (into %s); it serves %s; give \"from\" to override", i, from, orAny(to), s.directions())
	}
	return nil, badRequest("this server has no translator from %q into %s; it serves %s", from, orAny(to), s.directions())
}

func orAny(to string) string {
	if to == "" {
		return "any language"
	}
	return fmt.Sprintf("%q", to)
}

func (s *Server) handleTranslate(w http.ResponseWriter, r *http.Request) {
	if len(s.models.Translators) == 0 {
		writeJSON(w, http.StatusNotFound, ErrorResponse{"this server has no translator loaded"})
		return
	}
	var req TranslateRequest
	if err := decodeBody(w, r, s.opt.MaxBody, s.opt.Timeout, &req); err != nil {
		writeError(w, r, err, s.opt.Timeout)
		return
	}
	out, err := s.translate(r.Context(), &req)
	if err != nil {
		writeError(w, r, err, s.opt.Timeout)
		return
	}
	writeJSON(w, http.StatusOK, TranslateResponse{Results: out})
}

func (s *Server) translate(ctx context.Context, req *TranslateRequest) ([]TranslateResult, error) {
	if err := s.checkTexts(req.Texts, true); err != nil {
		return nil, err
	}
	beam := defaultBeam
	if req.Beam != nil {
		beam = *req.Beam
		if beam < 1 || beam > s.opt.MaxBeam {
			return nil, badRequest("beam must be in 1..%d (1 is greedy), got %d", s.opt.MaxBeam, beam)
		}
	}
	if req.NBest < 0 || req.NBest > beam {
		return nil, badRequest("nbest must be in 0..beam (%d), got %d", beam, req.NBest)
	}
	from := req.From
	if from == "" { // the first translator's, or the first into req.To
		from = s.models.Translators[0].From
		for _, t := range s.models.Translators {
			if t.To == req.To {
				from = t.From
				break
			}
		}
	}
	// Route each text to its translator; one job per translator.
	type group struct {
		t   *Translator
		idx []int
	}
	var groups []*group
	byKey := map[*Translator]*group{}
	for i, text := range req.Texts {
		t, err := s.translator(i, text, from, req.To)
		if err != nil {
			return nil, err
		}
		if len(text) > 16*seq2seq.MaxSourceTokens {
			return nil, errorf(http.StatusRequestEntityTooLarge, "texts[%d] has %d bytes; a translator takes one sentence of at most %d tokens: split it into sentences", i, len(text), seq2seq.MaxSourceTokens)
		}
		if n := len(t.Model.Src.Encode(text)); n > seq2seq.MaxSourceTokens {
			return nil, errorf(http.StatusRequestEntityTooLarge, "texts[%d] has %d tokens; a translator takes at most %d: split it into sentences", i, n, seq2seq.MaxSourceTokens)
		}
		g := byKey[t]
		if g == nil {
			g = &group{t: t}
			byKey[t] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
	}
	jobs := make([]*job[translateIn, []TranslateResult], len(groups))
	for k, g := range groups {
		in := translateIn{beam: beam, nbest: req.NBest, attention: req.Attention, from: g.t.From, to: g.t.To}
		for _, i := range g.idx {
			in.texts = append(in.texts, req.Texts[i])
		}
		jobs[k] = newJob[translateIn, []TranslateResult](ctx, in, len(in.texts))
		if err := s.trans[g.t.From+"-"+g.t.To].submit(jobs[k]); err != nil {
			if errors.Is(err, errQueueFull) {
				s.metrics.rejected.WithLabelValues("translate:" + g.t.From + "-" + g.t.To).Inc()
			}
			return nil, err
		}
	}
	out := make([]TranslateResult, len(req.Texts))
	for k, g := range groups {
		j := jobs[k]
		select {
		case <-j.done:
		case <-ctx.Done():
			select {
			case <-j.done:
			default:
				return nil, ctx.Err()
			}
		}
		if j.err != nil {
			var ie *seq2seq.InputError
			if errors.As(j.err, &ie) {
				return nil, badRequest("texts[%d]: %v", g.idx[ie.Index], ie.Err)
			}
			return nil, j.err
		}
		for n, i := range g.idx {
			out[i] = j.out[n]
		}
	}
	return out, nil
}

// runTranslate translates a batch of jobs for model m (decoded together
// with ens, its ensemble), one model call per distinct beam and n-best
// setting, with rnnkit translate's defaults: back is the translator of the
// opposite direction (nil if none is served).
func (s *Server) runTranslate(ctx context.Context, name string, m *seq2seq.Model, ens []*seq2seq.Model, back *seq2seq.Model, jobs []*job[translateIn, []TranslateResult]) {
	type opts struct{ beam, nbest int }
	var keys []opts
	groups := map[opts][]*job[translateIn, []TranslateResult]{}
	for _, j := range jobs {
		k := opts{j.in.beam, j.in.nbest}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], j)
	}
	for _, k := range keys {
		opt := seq2seq.DefaultTranslateOptions() // as rnnkit translate decodes
		opt.Beam, opt.NBest, opt.Back, opt.Ensemble = k.beam, k.nbest, back, ens
		s.translateGroup(ctx, name, m, opt, groups[k])
	}
}

// translateGroup translates jobs with the same options in one model call.
// A text the model refuses fails its job, and the others are translated
// without it.
func (s *Server) translateGroup(ctx context.Context, name string, m *seq2seq.Model, opt seq2seq.TranslateOptions, jobs []*job[translateIn, []TranslateResult]) {
	for len(jobs) > 0 {
		var texts []string
		for _, j := range jobs {
			texts = append(texts, j.in.texts...)
		}
		s.metrics.batchSize.WithLabelValues(name).Observe(float64(len(texts)))
		trs, err := m.Translate(ctx, texts, opt)
		var ie *seq2seq.InputError
		if errors.As(err, &ie) {
			at := ie.Index
			for k, j := range jobs {
				if at < len(j.in.texts) {
					j.err = &seq2seq.InputError{Index: at, Err: ie.Err}
					jobs = append(jobs[:k:k], jobs[k+1:]...)
					break
				}
				at -= len(j.in.texts)
			}
			continue
		}
		for _, j := range jobs {
			if err != nil {
				j.err = err
				continue
			}
			j.out = make([]TranslateResult, len(j.in.texts))
			for i, tr := range trs[:len(j.in.texts)] {
				res := TranslateResult{Translation: tr.Text, LogProb: tr.LogProb, From: j.in.from, To: j.in.to, NBest: tr.NBest}
				if j.in.attention {
					res.SourceTokens, res.TargetTokens, res.Attention = tr.Source, tr.Target, tr.Attention
				}
				j.out[i] = res
			}
			trs = trs[len(j.in.texts):]
		}
		return
	}
}
