package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/charrnn"
)

// Bounds of a generation request beside the Options.
const (
	defaultMaxChars = 200
	maxTemperature  = 10
	maxStops        = 8
	maxStopChars    = 64
)

// generateOptions checks req and turns it into sampling options.
func (s *Server) generateOptions(req *GenerateRequest) (charrnn.SampleOptions, error) {
	opt := charrnn.SampleOptions{N: defaultMaxChars, Temperature: 0.8, TopK: req.TopK, SkipUnknown: req.SkipUnknown}
	if n := utf8.RuneCountInString(req.Seed); n > s.opt.MaxTextChars {
		return opt, errorf(http.StatusRequestEntityTooLarge, "seed has %d characters; the limit is %d", n, s.opt.MaxTextChars)
	}
	if req.MaxChars != nil {
		opt.N = *req.MaxChars
		if opt.N < 1 || opt.N > s.opt.MaxGenChars {
			return opt, badRequest("max_chars must be in 1..%d, got %d", s.opt.MaxGenChars, opt.N)
		}
	}
	if t := req.Temperature; t != nil {
		if *t < 0 || *t > maxTemperature || math.IsNaN(*t) {
			return opt, badRequest("temperature must be in [0, %d] (0 is greedy), got %v", maxTemperature, *t)
		}
		opt.Temperature, opt.Greedy = *t, *t == 0
	}
	if opt.TopK < 0 {
		return opt, badRequest("top_k must be 0 (all characters) or more, got %d", opt.TopK)
	}
	if p := req.TopP; p != nil {
		if *p < 0 || *p > 1 || math.IsNaN(*p) {
			return opt, badRequest("top_p must be in [0, 1], got %v", *p)
		}
		opt.TopP = *p
	}
	if len(req.Stop) > maxStops {
		return opt, badRequest("stop has %d sequences; the limit is %d", len(req.Stop), maxStops)
	}
	for i, st := range req.Stop {
		if n := utf8.RuneCountInString(st); n == 0 || n > maxStopChars {
			return opt, badRequest("stop[%d] must have 1 to %d characters, got %d", i, maxStopChars, n)
		}
	}
	opt.Stop = req.Stop
	if req.RNGSeed != nil {
		opt.Seed = *req.RNGSeed
	} else {
		// 53 bits, so that a JavaScript client can send the seed back exactly.
		opt.Seed = rand.Uint64() >> 11
	}
	return opt, nil
}

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	g := s.models.Generator
	if g == nil {
		writeJSON(w, http.StatusNotFound, ErrorResponse{"this server has no generation model loaded"})
		return
	}
	var req GenerateRequest
	if err := decodeBody(w, r, s.opt.MaxBody, s.opt.Timeout, &req); err != nil {
		writeError(w, r, err, s.opt.Timeout)
		return
	}
	opt, err := s.generateOptions(&req)
	if err != nil {
		writeError(w, r, err, s.opt.Timeout)
		return
	}
	ctx := r.Context()
	if err := s.gen.acquire(ctx); err != nil {
		if errors.Is(err, errQueueFull) {
			s.metrics.rejected.WithLabelValues("generate").Inc()
		}
		writeError(w, r, err, s.opt.Timeout)
		return
	}
	defer s.gen.release()

	var text strings.Builder
	var sse *sseWriter
	emit := func(chunk string) error {
		text.WriteString(chunk)
		return nil
	}
	if req.Stream {
		sse = &sseWriter{w: w}
		emit = func(chunk string) error {
			text.WriteString(chunk)
			return sse.event("chunk", GenerateChunk{chunk})
		}
	}
	res, err := s.genModel.GenerateScored(ctx, req.Seed, opt, emit)
	s.metrics.genChars.Add(float64(res.Chars))
	out := GenerateResponse{Text: text.String(), RNGSeed: opt.Seed, Chars: res.Chars, FinishReason: "length"}
	if mlp := res.MeanLogProb(); !math.IsNaN(mlp) {
		out.MeanLogProb = &mlp
	}
	if res.Stop != "" {
		out.FinishReason, out.StopSequence = "stop", res.Stop
	}
	switch {
	case err == nil:
	case sse != nil && sse.failed:
		markGone(w) // the client is gone
		return
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		out.FinishReason = "timeout" // the text so far is the answer
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client is gone, or the server is closing: a stream ends with
		// what it has, if anyone still reads it.
		if sse != nil {
			out.FinishReason = "cancelled"
			sse.event("done", out)
		}
		markGone(w)
		return
	case sse == nil || !sse.started:
		// Nothing was sent yet: the seed or the options were refused.
		writeError(w, r, badRequest("%s", strings.TrimPrefix(err.Error(), "charrnn: ")), s.opt.Timeout)
		return
	default:
		sse.event("error", ErrorResponse{strings.TrimPrefix(err.Error(), "charrnn: ")})
		return
	}
	if sse != nil {
		sse.event("done", out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// sseWriter writes server-sent events, each flushed at once. The headers
// go out with the first event, so that an error found before it can still
// be a plain JSON answer.
type sseWriter struct {
	w       http.ResponseWriter
	started bool
	failed  bool // a write failed: the client is gone
	buf     bytes.Buffer
}

func (s *sseWriter) event(name string, v any) error {
	if s.failed {
		return errClientGone
	}
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // no buffering in an nginx proxy
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	s.buf.Reset()
	s.buf.WriteString("event: " + name + "\ndata: ")
	enc := json.NewEncoder(&s.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // Encode ends the line
		return err
	}
	s.buf.WriteByte('\n')
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		s.failed = true
		return err
	}
	if err := http.NewResponseController(s.w).Flush(); err != nil {
		s.failed = true
		return err
	}
	return nil
}

var errClientGone = errors.New("the client went away")
