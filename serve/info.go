package serve

import (
	"net/http"
	"strings"

	"github.com/rnnkit/rnnkit/rnn"
)

// maxMetaValue is the longest metadata value /v1/models shows; longer ones
// (word lists a model keeps for decoding) are left out.
const maxMetaValue = 1024

// splitMeta separates a model file's quality.* metadata (figures measured
// on held-out data when it was trained) from the rest.
func splitMeta(meta map[string]string) (quality, rest map[string]string) {
	quality, rest = map[string]string{}, map[string]string{}
	for k, v := range meta {
		if q, ok := strings.CutPrefix(k, "quality."); ok {
			quality[q] = v
		} else if len(v) <= maxMetaValue {
			// one spelling of each key: "licence" is shown as "license"
			if c := rnn.CanonicalMetaKey(k); c != k {
				if _, ok := meta[c]; ok {
					continue
				}
				k = c
			}
			rest[k] = v
		}
	}
	return quality, rest
}

// modelsResponse describes what the server serves.
func (s *Server) modelsResponse() ModelsResponse {
	res := ModelsResponse{Version: s.opt.Version, Models: []ModelInfo{}, Unavailable: s.models.Unavailable, Limits: Limits{
		MaxBodyBytes: s.opt.MaxBody, MaxTexts: s.opt.MaxTexts, MaxTextChars: s.opt.MaxTextChars, MaxGenChars: s.opt.MaxGenChars,
		MaxBeam: s.opt.MaxBeam, MaxBatch: s.opt.MaxBatch, BatchWaitMS: float64(s.opt.BatchWait.Microseconds()) / 1000,
		Queue: s.opt.Queue, Workers: s.opt.Workers, TimeoutS: s.opt.Timeout.Seconds(),
	}}
	if res.Unavailable == nil {
		res.Unavailable = []Unavailable{}
	}
	if g := s.models.Generator; g != nil {
		q, meta := splitMeta(g.Model.Meta)
		res.Models = append(res.Models, ModelInfo{Task: "generate", Kind: "charrnn", Source: g.Source,
			Parameters: g.Model.Params.Len(), Config: g.Model.Config, Quality: q, Metadata: meta, Ensemble: g.EnsembleSources})
	}
	if c := s.models.Classifier; c != nil {
		q, meta := splitMeta(c.Model.Meta)
		res.Models = append(res.Models, ModelInfo{Task: "classify", Kind: "sentiment", Source: c.Source, Labels: c.Model.Config.Labels,
			Parameters: c.Model.Params.Len(), Config: c.Model.Config, Quality: q, Metadata: meta})
	}
	for _, t := range s.models.Translators {
		q, meta := splitMeta(t.Model.Meta)
		res.Models = append(res.Models, ModelInfo{Task: "translate", Kind: "seq2seq", Source: t.Source, From: t.From, To: t.To,
			Parameters: t.Model.Params.Len(), Config: t.Model.Config, Quality: q, Metadata: meta, Ensemble: t.EnsembleSources})
	}
	return res
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.modelsResponse())
}
