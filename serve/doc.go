// Package serve is rnnkit's HTTP inference server: a JSON API over the
// three applications (text generation with charrnn, review classification
// with sentiment, translation with seq2seq), a small web page to try them,
// Prometheus metrics and an OpenAPI 3 description of the API.
//
// The API (docs/SERVING.md has examples; GET /openapi.json describes it):
//
//	POST /v1/generate   {"seed", "max_chars", "temperature", "top_k", "top_p", "rng_seed", "stop", "stream"}
//	POST /v1/classify   {"texts", "top_k"}
//	POST /v1/translate  {"texts", "from", "to", "beam", "nbest", "attention"}
//	GET  /v1/models     what is loaded: config, parameters, quality figures and metadata
//	GET  /healthz       the process is up
//	GET  /readyz        the models are loaded and the server is not draining
//	GET  /metrics       Prometheus text format, from a registry of the Server's own
//	GET  /openapi.json  the OpenAPI 3 document
//	GET  /              the web page
//
// # Invariants
//
//   - Models are loaded once by the caller and shared read-only: every
//     request has its own generator or workspace (charrnn.Model.Start,
//     sentiment.Model.PredictIDs and seq2seq.Model.Translate may run
//     concurrently on one model).
//   - Dynamic batching: a classify or translate request is a job in a
//     bounded queue per model. A worker takes the first waiting job, then
//     gathers more for at most Options.BatchWait or until Options.MaxBatch
//     texts, and makes one model call for all of them (for translate, one per
//     distinct set of decoding options); each request gets its own results
//     in its own order. Generation is not batched (each request samples its
//     own sequence) but is bounded the same way: Options.Workers at once,
//     Options.Queue waiting.
//   - Bounded memory: request bodies are at most Options.MaxBody bytes,
//     requests at most Options.MaxTexts texts of Options.MaxTextChars
//     characters, generations at most Options.MaxGenChars characters. A full
//     queue is answered at once with 503 and Retry-After, never buffered.
//   - Every error is a JSON object {"error": "..."}: 400 for bad input
//     (invalid JSON or UTF-8, unknown fields, out-of-range values), 404 for
//     an unknown path or a model that is not loaded, 405 for a wrong method,
//     408 for a body that does not arrive within the timeout, 413 for a
//     body, a text or a list that is too large, 503 for a full
//     queue or a draining server, 504 when Options.Timeout runs out.
//   - A request's context bounds its work: when the client goes away or the
//     timeout passes, generation stops at the next character and a queued
//     job is dropped before its model call.
//   - The package never prints, logs or exits; the caller owns the
//     listener, the http.Server and the signals (rnnkit serve in cmd/rnnkit).
package serve
