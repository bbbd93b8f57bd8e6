package serve

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/rnnkit/rnnkit/seq2seq"
)

// Options configure a Server. Start from DefaultOptions: a zero BatchWait
// or Timeout keeps its meaning (no waiting, no timeout).
type Options struct {
	MaxBatch     int           // most texts in one model call (classify, translate)
	BatchWait    time.Duration // longest a request waits for others to join its batch; 0 = only those already queued
	Queue        int           // requests that may wait per model; one more is answered 503
	Workers      int           // model calls running at once per model
	Timeout      time.Duration // per request, queueing included; 0 = none
	MaxBody      int64         // request body bytes
	MaxTexts     int           // texts per classify or translate request
	MaxTextChars int           // characters per text, and of a generation seed
	MaxGenChars  int           // largest max_chars of a generation
	MaxBeam      int           // widest translation beam
	Version      string        // reported by /v1/models
}

// DefaultOptions returns the defaults: batches of up to 32 texts gathered
// for 5 ms, 64 waiting requests per model, one worker per core, a 60 s
// timeout, 1 MiB bodies, 64 texts of 10,000 characters, generations of up
// to 2,000 characters and beams of up to 16.
func DefaultOptions() Options {
	return Options{
		MaxBatch: 32, BatchWait: 5 * time.Millisecond, Queue: 64, Workers: runtime.GOMAXPROCS(0),
		Timeout: 60 * time.Second, MaxBody: 1 << 20, MaxTexts: 64, MaxTextChars: 10000, MaxGenChars: 2000, MaxBeam: 16,
	}
}

func (o Options) validate() error {
	for _, v := range []struct {
		name string
		n    int64
	}{{"MaxBatch", int64(o.MaxBatch)}, {"Queue", int64(o.Queue)}, {"Workers", int64(o.Workers)}, {"MaxBody", o.MaxBody},
		{"MaxTexts", int64(o.MaxTexts)}, {"MaxTextChars", int64(o.MaxTextChars)}, {"MaxGenChars", int64(o.MaxGenChars)}, {"MaxBeam", int64(o.MaxBeam)}} {
		if v.n <= 0 {
			return fmt.Errorf("serve: Options.%s must be positive, got %d", v.name, v.n)
		}
	}
	if o.BatchWait < 0 || o.Timeout < 0 {
		return fmt.Errorf("serve: Options.BatchWait (%v) and Timeout (%v) must not be negative", o.BatchWait, o.Timeout)
	}
	return nil
}

// Generator is a text generation model and where it was loaded from: one
// model, or with Ensemble the ensemble of several (charrnn.Ensemble).
type Generator struct {
	Model  *charrnn.Model
	Source string // a path, or "embedded:..." for a model built into the binary
	// Ensemble are more models that generate with Model, their
	// next-character probabilities averaged; they need Model's tokenizer.
	// EnsembleSources says where each was loaded from. Both are empty for
	// a single model.
	Ensemble        []*charrnn.Model
	EnsembleSources []string
}

// Classifier is a review classifier and where it was loaded from.
type Classifier struct {
	Model  *sentiment.Model
	Source string
}

// Translator is a translation model for one direction (From into To,
// language codes such as "en" and "es") and where it was loaded from.
type Translator struct {
	From, To string
	Model    *seq2seq.Model
	Source   string
	// Ensemble are more translators that decode with Model, their
	// next-token log-probabilities averaged; they need Model's tokenizers.
	// EnsembleSources says where each was loaded from. Both are empty for
	// a single model.
	Ensemble        []*seq2seq.Model
	EnsembleSources []string
}

// Models are what a Server serves. A nil Generator or Classifier, or no
// Translators, leaves that endpoint answering 404. Unavailable lists the
// models that were asked for but could not be had, for GET /v1/models.
type Models struct {
	Generator   *Generator
	Classifier  *Classifier
	Translators []Translator
	Unavailable []Unavailable
}

// Server answers the JSON API. It is an http.Handler; the caller runs it
// in an http.Server, calls Drain when shutting down (readiness turns 503)
// and Close after the http.Server has shut down.
type Server struct {
	opt      Options
	models   Models
	metrics  *metrics
	routes   []route
	gen      *limiter
	genModel *charrnn.Ensemble // Models.Generator's model, with its Ensemble
	classify *batcher[classifyIn, []ClassifyResult]
	trans    map[string]*batcher[translateIn, []TranslateResult] // by "from-to"
	draining atomic.Bool
	inFlight atomic.Int64
}

// route is one path of the API; every other method is answered 405.
type route struct {
	path    string
	methods []string // GET routes also answer HEAD
	h       http.HandlerFunc
	timeout bool // bounded by Options.Timeout
}

//go:embed openapi.json
var openapiJSON []byte

//go:embed web/index.html
var indexHTML []byte

// New returns a Server for models and starts its batch workers.
func New(models Models, opt Options) (*Server, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	s := &Server{opt: opt, models: models, metrics: newMetrics(), trans: map[string]*batcher[translateIn, []TranslateResult]{}}
	if models.Generator != nil {
		g := models.Generator
		if g.Model == nil {
			return nil, errors.New("serve: Models.Generator has no Model")
		}
		if len(g.EnsembleSources) != len(g.Ensemble) {
			return nil, fmt.Errorf("serve: Models.Generator has %d Ensemble models but %d EnsembleSources", len(g.Ensemble), len(g.EnsembleSources))
		}
		e, err := charrnn.NewEnsemble(append([]*charrnn.Model{g.Model}, g.Ensemble...)...)
		if err != nil {
			return nil, fmt.Errorf("serve: Models.Generator: %w", err)
		}
		s.genModel = e
		s.gen = newLimiter(opt.Workers, opt.Queue)
		s.metrics.queueDepth("generate", s.gen.depth)
	}
	if models.Classifier != nil {
		if models.Classifier.Model == nil {
			return nil, errors.New("serve: Models.Classifier has no Model")
		}
		s.classify = newBatcher(opt.Workers, opt.Queue, opt.MaxBatch, opt.BatchWait, s.runClassify)
		s.metrics.queueDepth("classify", s.classify.depth)
	}
	for _, t := range models.Translators {
		key := t.From + "-" + t.To
		switch {
		case t.Model == nil:
			return nil, fmt.Errorf("serve: translator %s->%s has no Model", t.From, t.To)
		case t.From == "" || t.To == "" || t.From == "auto":
			return nil, fmt.Errorf("serve: translator %q->%q needs two language codes (and not auto)", t.From, t.To)
		case s.trans[key] != nil:
			return nil, fmt.Errorf("serve: two translators for %s->%s", t.From, t.To)
		}
		for i, e := range t.Ensemble {
			if err := t.Model.SameTokenizers(e); err != nil {
				return nil, fmt.Errorf("serve: translator %s->%s: ensemble model %d: %w", t.From, t.To, i+1, err)
			}
		}
		m, ens, name := t.Model, t.Ensemble, "translate:"+key
		var back *seq2seq.Model // the opposite direction, which re-ranks m's beam
		for _, u := range models.Translators {
			if u.From == t.To && u.To == t.From {
				back = u.Model
			}
		}
		s.trans[key] = newBatcher(opt.Workers, opt.Queue, opt.MaxBatch, opt.BatchWait,
			func(ctx context.Context, jobs []*job[translateIn, []TranslateResult]) {
				s.runTranslate(ctx, name, m, ens, back, jobs)
			})
		s.metrics.queueDepth(name, s.trans[key].depth)
	}
	s.routes = []route{
		{path: "/v1/generate", methods: []string{http.MethodPost}, h: s.handleGenerate, timeout: true},
		{path: "/v1/classify", methods: []string{http.MethodPost}, h: s.handleClassify, timeout: true},
		{path: "/v1/translate", methods: []string{http.MethodPost}, h: s.handleTranslate, timeout: true},
		{path: "/v1/models", methods: []string{http.MethodGet}, h: s.handleModels},
		{path: "/healthz", methods: []string{http.MethodGet}, h: s.handleHealth},
		{path: "/readyz", methods: []string{http.MethodGet}, h: s.handleReady},
		{path: "/metrics", methods: []string{http.MethodGet}, h: s.metrics.handler().ServeHTTP},
		{path: "/openapi.json", methods: []string{http.MethodGet}, h: s.handleOpenAPI},
		{path: "/", methods: []string{http.MethodGet}, h: s.handleIndex},
	}
	return s, nil
}

// Drain marks the server as shutting down: /readyz answers 503 so that a
// load balancer stops sending requests. Requests keep being answered.
func (s *Server) Drain() { s.draining.Store(true) }

// InFlight is the number of requests being answered.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// Close stops the batch workers; call it once no request is being answered
// (after http.Server.Shutdown). Jobs still queued fail with 503.
func (s *Server) Close() {
	s.Drain()
	if s.classify != nil {
		s.classify.close()
	}
	for _, b := range s.trans {
		b.close()
	}
}

// ServeHTTP routes r, bounds it by the options and records its metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	s.metrics.inFlight.Inc()
	sw := &statusWriter{ResponseWriter: w}
	rt := s.route(r.URL.Path)
	label := "other"
	if rt != nil {
		label = rt.path
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			if !sw.wrote {
				writeJSON(sw, http.StatusInternalServerError, ErrorResponse{fmt.Sprintf("internal error: %v", v)})
			}
			sw.status = http.StatusInternalServerError
		}
		s.metrics.observe(label, sw.code(), time.Since(start).Seconds())
		s.metrics.inFlight.Dec()
	}()
	switch {
	case rt == nil:
		writeJSON(sw, http.StatusNotFound, ErrorResponse{fmt.Sprintf("no such path %s; GET /openapi.json describes the API", r.URL.Path)})
		return
	case !slices.Contains(rt.methods, r.Method) && !(r.Method == http.MethodHead && slices.Contains(rt.methods, http.MethodGet)):
		allow := strings.Join(rt.methods, ", ")
		if slices.Contains(rt.methods, http.MethodGet) {
			allow += ", HEAD"
		}
		sw.Header().Set("Allow", allow)
		writeJSON(sw, http.StatusMethodNotAllowed, ErrorResponse{fmt.Sprintf("%s takes %s, not %s", rt.path, strings.Join(rt.methods, " or "), r.Method)})
		return
	}
	if rt.timeout && s.opt.Timeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), s.opt.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	rt.h(sw, r)
}

func (s *Server) route(path string) *route {
	for i := range s.routes {
		if s.routes[i].path == path {
			return &s.routes[i]
		}
	}
	return nil
}

// statusWriter records the status of an answer. It passes Flush on (for
// server-sent events) through Unwrap, which http.ResponseController uses.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Retry-After", retryAfter)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiJSON)
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	w.Write(indexHTML)
}
