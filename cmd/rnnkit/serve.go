package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/rnnkit/rnnkit/serve"
	"github.com/spf13/cobra"
)

type serveOptions struct {
	addr                         string
	generateModel, classifyModel string
	translateModels              []string
	drain                        time.Duration
	opt                          serve.Options
}

func newServeCmd(g *globalOptions) *cobra.Command {
	o := &serveOptions{opt: serve.DefaultOptions()}
	o.opt.Workers = 0 // the cores, counted when the command runs (after --threads)
	c := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--generate-model F] [--classify-model F] [--translate-model [FROM-TO=]F ...]",
		Short: "Serve the models over HTTP: a JSON API, a web page and Prometheus metrics",
		Long: `Serve generation, classification and translation over HTTP. Each model is
loaded once and shared by all requests. Without model flags the embedded
default models are served: the generator, the classifier and every embedded
translator (en->es, and es->en when this build has it; GET /v1/models lists
what is served and what is not).

  POST /v1/generate   {"seed": "ROMEO:", "max_chars": 200, "temperature": 0.8, "rng_seed": 1, "stream": false}
  POST /v1/classify   {"texts": ["...", "..."], "top_k": 2}
  POST /v1/translate  {"texts": ["..."], "from": "en", "to": "es", "beam": 5}
  GET  /v1/models, /healthz, /readyz, /metrics (Prometheus), /openapi.json
  GET  /              a web page to try the models

"stream": true answers a generation with server-sent events as it is sampled.
Concurrent classify and translate requests are batched: a request waits up to
--batch-wait for others, and up to --max-batch texts go through the model in
one call. Each model has a queue of --queue requests; when it is full the
answer is 503 with Retry-After. --timeout bounds each request (a generation
that runs out of time answers the text so far), and a generation stops when
its client goes away. Errors are JSON {"error": "..."}: 400 bad input, 404 no
such model, 405 wrong method, 408 slow body, 413 too large, 503 busy, 504
timeout.

--model flags take a file, or none to leave that endpoint out.
--translate-model takes FROM-TO=FILE (en-fr=my.safetensors) and may be
repeated; a plain FILE's direction comes from its metadata ("direction":
"en->es"; a model trained with --reverse is es->en), else it is en->es.

SIGINT or SIGTERM stops accepting connections, lets the requests in flight
finish (at most --drain-timeout) and exits with status 130 or 143.
docs/SERVING.md has curl examples.`,
		Example: `  rnnkit serve
  rnnkit serve --addr 0.0.0.0:8080 --max-batch 64 --batch-wait 10ms
  rnnkit serve --generate-model my.safetensors --classify-model none --translate-model none
  rnnkit serve --translate-model en-es=en-es.safetensors --translate-model es-en=es-en.safetensors
  curl -s localhost:8080/v1/classify -d '{"texts": ["A wonderful film."]}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runServe(c, g, o) },
	}
	f := c.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on, HOST:PORT (port 0 picks a free one)")
	f.StringVar(&o.generateModel, "generate-model", "", "charrnn model for /v1/generate (default: the embedded one; none = no generation)")
	f.StringVar(&o.classifyModel, "classify-model", "", "sentiment model for /v1/classify (default: the embedded one; none = no classification)")
	f.StringArrayVar(&o.translateModels, "translate-model", nil, "seq2seq model for /v1/translate, [FROM-TO=]FILE; repeat for more directions (default: the embedded ones; none = no translation)")
	f.IntVar(&o.opt.MaxBatch, "max-batch", o.opt.MaxBatch, "most texts in one model call (classify, translate)")
	f.DurationVar(&o.opt.BatchWait, "batch-wait", o.opt.BatchWait, "longest a request waits for others to join its batch (0 = only those already queued)")
	f.IntVar(&o.opt.Queue, "queue", o.opt.Queue, "requests that may wait per model; more are answered 503 with Retry-After")
	f.IntVar(&o.opt.Workers, "workers", 0, "model calls at once per model (default: the number of cores)")
	f.DurationVar(&o.opt.Timeout, "timeout", o.opt.Timeout, "longest a request may take, queueing included (0 = no limit)")
	f.Int64Var(&o.opt.MaxBody, "max-body", o.opt.MaxBody, "largest request body, bytes")
	f.IntVar(&o.opt.MaxTexts, "max-texts", o.opt.MaxTexts, "most texts in one classify or translate request")
	f.IntVar(&o.opt.MaxTextChars, "max-text-chars", o.opt.MaxTextChars, "longest text (and generation seed), characters")
	f.IntVar(&o.opt.MaxGenChars, "max-gen-chars", o.opt.MaxGenChars, "largest max_chars of a generation")
	f.DurationVar(&o.drain, "drain-timeout", 10*time.Second, "on SIGINT or SIGTERM, how long the requests in flight may take to finish")
	return c
}

// translateSpec is FROM-TO=FILE.
var translateSpec = regexp.MustCompile(`^([A-Za-z]{2,8})-([A-Za-z]{2,8})=(.+)$`)

// parseTranslateModel splits a --translate-model value into its direction
// (empty when not given) and file.
func parseTranslateModel(v string) (from, to, path string) {
	if m := translateSpec.FindStringSubmatch(v); m != nil {
		return strings.ToLower(m[1]), strings.ToLower(m[2]), m[3]
	}
	return "", "", v
}

// directionMeta is a model's "direction" metadata naming its languages.
var directionMeta = regexp.MustCompile(`^([a-z]{2,8}) ?-> ?([a-z]{2,8})$`)

// modelDirection reads the languages of a translator from its "direction"
// metadata: "en->es", or "reverse ..." for a model trained with --reverse
// on English-Spanish pairs (es->en); otherwise en->es.
func modelDirection(meta string) (from, to string) {
	if m := directionMeta.FindStringSubmatch(strings.ToLower(strings.TrimSpace(meta))); m != nil {
		return m[1], m[2]
	}
	if strings.HasPrefix(meta, "reverse") {
		return "es", "en"
	}
	return "en", "es"
}

// loadServeModel loads path, or the embedded default of kind; a default
// that this build lacks is listed in ms as unavailable for task (ok false,
// no error).
func loadServeModel[M any](ms *serve.Models, task, path, kind string, load func(string) (M, error), loadBytes func(string, []byte) (M, error)) (m M, source string, ok bool, err error) {
	if path == "" {
		name, data, err := defaultModel(kind)
		if err != nil {
			ms.Unavailable = append(ms.Unavailable, serve.Unavailable{Task: task, Reason: err.Error()})
			return m, "", false, nil
		}
		m, err = loadBytes(name, data)
		return m, name, true, err
	}
	if err := checkServeModel(path); err != nil {
		return m, "", false, err
	}
	m, err = load(path)
	return m, path, true, err
}

// loadServeModels loads what serve serves. A missing embedded default is
// listed as unavailable; a file that cannot be loaded is an error.
func loadServeModels(o *serveOptions) (serve.Models, error) {
	var ms serve.Models
	switch o.generateModel {
	case "none":
	case "":
		// The embedded default: one model or an ensemble (models.CharRNN).
		cms, names, err := defaultCharRNN("auto") // int8 files run int8 arithmetic, as in generate
		var missing noDefaultError
		switch {
		case errors.As(err, &missing):
			ms.Unavailable = append(ms.Unavailable, serve.Unavailable{Task: "generate", Reason: err.Error()})
		case err != nil:
			return ms, err
		default:
			ms.Generator = &serve.Generator{Model: cms[0], Source: names[0], Ensemble: cms[1:], EnsembleSources: names[1:]}
		}
	default:
		m, src, _, err := loadServeModel(&ms, "generate", o.generateModel, charrnn.Kind,
			quantizingLoader("auto", charrnn.Kind, charrnn.Load, charrnn.LoadQuantized),
			quantizingBytesLoader("auto", charrnn.LoadBytes, charrnn.LoadBytesQuantized))
		if err != nil {
			return ms, fmt.Errorf("--generate-model: %w", err)
		}
		ms.Generator = &serve.Generator{Model: m, Source: src}
	}
	if o.classifyModel != "none" {
		m, src, ok, err := loadServeModel(&ms, "classify", o.classifyModel, sentiment.Kind, sentiment.Load, sentiment.LoadBytes)
		if err != nil {
			return ms, fmt.Errorf("--classify-model: %w", err)
		}
		if ok {
			ms.Classifier = &serve.Classifier{Model: m, Source: src}
		}
	}
	switch {
	case len(o.translateModels) == 1 && o.translateModels[0] == "none":
	case len(o.translateModels) == 0:
		for _, t := range translators {
			tms, names, err := defaultTranslator(t.from, t.to, "auto") // int8 files run int8 arithmetic, as in translate
			var missing noDefaultError
			switch {
			case errors.As(err, &missing):
				reason := fmt.Sprintf("this rnnkit build has no embedded %s->%s model", t.from, t.to)
				if missing.kind != (*t.files)[0] {
					reason = err.Error() // a file of an ensemble
				}
				ms.Unavailable = append(ms.Unavailable, serve.Unavailable{Task: "translate", From: t.from, To: t.to,
					Reason: fmt.Sprintf("%s; pass --translate-model %s-%s=FILE", reason, t.from, t.to)})
				continue
			case err != nil:
				return ms, err
			}
			ms.Translators = append(ms.Translators, serve.Translator{From: t.from, To: t.to, Model: tms[0], Source: names[0],
				Ensemble: tms[1:], EnsembleSources: names[1:]})
		}
	default:
		for _, v := range o.translateModels {
			from, to, path := parseTranslateModel(v)
			if path == "none" {
				return ms, usagef("--translate-model none cannot be combined with other --translate-model files")
			}
			if err := checkServeModel(path); err != nil {
				return ms, err
			}
			m, err := seq2seq.Load(path)
			if err != nil {
				return ms, fmt.Errorf("--translate-model: %w", err)
			}
			if from == "" {
				from, to = modelDirection(m.Meta["direction"])
			}
			ms.Translators = append(ms.Translators, serve.Translator{From: from, To: to, Model: m, Source: path})
		}
	}
	if ms.Generator == nil && ms.Classifier == nil && len(ms.Translators) == 0 {
		return ms, usagef("nothing to serve: every model is none or missing")
	}
	return ms, nil
}

// checkServeModel refuses a model path that exists but is not a regular
// file, such as a named pipe, whose opening would block forever.
func checkServeModel(path string) error {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("model file %s is not a regular file; give the path of a .safetensors file", path)
	}
	return nil // a missing file is reported by the loader
}

// describeModels is the startup line listing what is served.
func describeModels(ms serve.Models) string {
	var parts []string
	if g := ms.Generator; g != nil {
		parts = append(parts, fmt.Sprintf("generate (%s)", strings.Join(append([]string{g.Source}, g.EnsembleSources...), " + ")))
	}
	if ms.Classifier != nil {
		parts = append(parts, fmt.Sprintf("classify (%s)", ms.Classifier.Source))
	}
	for _, t := range ms.Translators {
		parts = append(parts, fmt.Sprintf("translate %s->%s (%s)", t.From, t.To, strings.Join(append([]string{t.Source}, t.EnsembleSources...), " + ")))
	}
	return strings.Join(parts, ", ")
}

func runServe(c *cobra.Command, g *globalOptions, o *serveOptions) error {
	for _, v := range []struct {
		flag string
		n    int64
	}{{"--max-batch", int64(o.opt.MaxBatch)}, {"--queue", int64(o.opt.Queue)}, {"--max-body", o.opt.MaxBody},
		{"--max-texts", int64(o.opt.MaxTexts)}, {"--max-text-chars", int64(o.opt.MaxTextChars)}, {"--max-gen-chars", int64(o.opt.MaxGenChars)}} {
		if v.n <= 0 {
			return usagef("%s must be positive, got %d", v.flag, v.n)
		}
	}
	if o.opt.Workers < 0 {
		return usagef("--workers must be 0 (one per core) or more, got %d", o.opt.Workers)
	}
	if o.opt.BatchWait < 0 || o.opt.Timeout < 0 || o.drain < 0 {
		return usagef("--batch-wait, --timeout and --drain-timeout must not be negative")
	}
	if o.opt.Workers == 0 {
		o.opt.Workers = runtime.GOMAXPROCS(0)
	}
	o.opt.Version = version
	ms, err := loadServeModels(o)
	if err != nil {
		return err
	}
	s, err := serve.New(ms, o.opt)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	// Requests get a context of their own that the signal does not cancel,
	// so that they can finish while the server drains; it is cancelled if
	// the drain runs out of time.
	base, cancelBase := context.WithCancel(context.WithoutCancel(c.Context()))
	defer cancelBase()
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	status(c, g, "serving %s", describeModels(ms))
	for _, u := range ms.Unavailable {
		what := u.Task
		if u.From != "" {
			what += " " + u.From + "->" + u.To
		}
		status(c, g, "not serving %s: %s", what, u.Reason)
	}
	status(c, g, "listening on http://%s (web page at /, API at /openapi.json)", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-c.Context().Done():
	}
	n := s.InFlight()
	reqs := "requests"
	if n == 1 {
		reqs = "request"
	}
	status(c, g, "shutting down: finishing %d %s in flight (at most %s)", n, reqs, o.drain)
	s.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		status(c, g, "the requests in flight took longer than --drain-timeout %s; closing their connections", o.drain)
		cancelBase()
		hs.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	status(c, g, "stopped")
	return nil
}
