package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests use tiny models with random weights, built in memory: the
// server's behaviour does not depend on what the models learned.

const tinyText = "KING: the crown is heavy.\nQUEEN: where is the king?\nROMEO: a merry jest, my lord.\n\n"

var (
	tinyOnce   sync.Once
	tinyModels Models
	tinyErr    error
)

func models(t testing.TB) Models {
	t.Helper()
	tinyOnce.Do(func() { tinyModels, tinyErr = buildTiny() })
	require.NoError(t, tinyErr)
	return tinyModels
}

func buildTiny() (Models, error) {
	var ms Models
	ctok, err := tokenize.TrainRune(strings.NewReader(strings.Repeat(tinyText, 4)), tokenize.RuneOptions{})
	if err != nil {
		return ms, err
	}
	cm, err := charrnn.New(charrnn.Config{Cell: rnn.GRU, Embedding: 8, Hidden: 16, Layers: 1}, ctok)
	if err != nil {
		return ms, err
	}
	cm.Init(rand.New(rand.NewPCG(1, 1)))
	ms.Generator = &Generator{Model: cm, Source: "tiny-charrnn"}

	reviews := "the film was great and the plot wonderful\na boring awful movie , too long\nI loved it\n"
	stok, err := tokenize.TrainWord(strings.NewReader(reviews), tokenize.WordOptions{Lowercase: true, SplitPunct: true})
	if err != nil {
		return ms, err
	}
	sm, err := sentiment.New(sentiment.Config{Cell: rnn.GRU, Embedding: 8, Hidden: 8, Layers: 1, Bidirectional: true,
		Pooling: "max+mean", Labels: []string{"negative", "positive"}, MaxLen: 40}, stok)
	if err != nil {
		return ms, err
	}
	sm.Init(rand.New(rand.NewPCG(2, 2)))
	sm.Meta["quality.val_accuracy"] = "0.5 (random weights)"
	sm.Meta["trained_on"] = "nothing"
	sm.Meta["word_list"] = strings.Repeat("word\n", 300) // too long to list
	ms.Classifier = &Classifier{Model: sm, Source: "tiny-sentiment"}

	en := "I have two brothers . She is reading a book . Where is the station ? Good morning"
	es := "Tengo dos hermanos . Ella está leyendo un libro . ¿ Dónde está la estación ? Buenos días"
	for i, d := range [][2]string{{"en", "es"}, {"es", "en"}} {
		src, tgt := en, es
		if d[0] == "es" {
			src, tgt = es, en
		}
		st, err := tokenize.TrainWord(strings.NewReader(src), tokenize.WordOptions{SplitPunct: true})
		if err != nil {
			return ms, err
		}
		tt, err := tokenize.TrainWord(strings.NewReader(tgt), tokenize.WordOptions{SplitPunct: true})
		if err != nil {
			return ms, err
		}
		m, err := seq2seq.New(seq2seq.Config{Cell: rnn.GRU, Embedding: 8, EncHidden: 8, DecHidden: 8}, st, tt)
		if err != nil {
			return ms, err
		}
		m.Init(rand.New(rand.NewPCG(3, uint64(i))))
		ms.Translators = append(ms.Translators, Translator{From: d[0], To: d[1], Model: m, Source: "tiny-" + d[0] + "-" + d[1]})
	}
	return ms, nil
}

// newTest starts a Server over the tiny models in an httptest.Server.
func newTest(t *testing.T, ms Models, edit func(*Options)) (*Server, *httptest.Server) {
	t.Helper()
	opt := DefaultOptions()
	opt.Workers = 2
	if edit != nil {
		edit(&opt)
	}
	s, err := New(ms, opt)
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

// post sends body to path and returns the status, the headers and the body.
func post(t *testing.T, ts *httptest.Server, path, body string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func get(t *testing.T, ts *httptest.Server, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// postOK posts and decodes a 200 answer into v.
func postOK(t *testing.T, ts *httptest.Server, path, body string, v any) {
	t.Helper()
	code, h, b := post(t, ts, path, body)
	require.Equal(t, http.StatusOK, code, b)
	require.Equal(t, "application/json", h.Get("Content-Type"))
	reflect.ValueOf(v).Elem().SetZero() // no leftovers from an earlier answer
	dec := json.NewDecoder(strings.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), b)
}

// errorCase is a request that must fail with status and a message
// containing msg.
type errorCase struct {
	name, body string
	status     int
	msg        string
}

func checkErrors(t *testing.T, ts *httptest.Server, path string, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, h, b := post(t, ts, path, tc.body)
			require.Equal(t, tc.status, code, b)
			require.Equal(t, "application/json", h.Get("Content-Type"))
			var e map[string]string
			require.NoError(t, json.Unmarshal([]byte(b), &e), b)
			require.Len(t, e, 1, b)
			require.Contains(t, e["error"], tc.msg)
		})
	}
}

// commonErrors apply to every POST endpoint.
func commonErrors(valid string) []errorCase {
	return []errorCase{
		{"empty body", "", 400, "empty"},
		{"invalid JSON", `{"texts": [`, 400, "invalid JSON"},
		{"syntax error", `{"texts" 1}`, 400, "invalid JSON at byte"},
		{"not an object", `[1, 2]`, 400, "must be a JSON object"},
		{"unknown field", `{"bogus": 1}`, 400, `unknown field "bogus"`},
		{"invalid UTF-8", "{\"texts\": [\"caf\xe9\"], \"seed\": \"caf\xe9\"}", 400, "not valid UTF-8"},
		{"trailing data", valid + ` {}`, 400, "data after"},
		{"too large", `{"texts": ["` + strings.Repeat("a", 2<<20) + `"]}`, 413, "larger than"},
	}
}

func TestGenerate(t *testing.T) {
	ms := models(t)
	_, ts := newTest(t, ms, nil)
	var a, b GenerateResponse
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 60, "temperature": 0.8, "top_k": 0, "top_p": 1, "rng_seed": 1}`, &a)
	require.Equal(t, 60, a.Chars)
	require.Equal(t, 60, len([]rune(a.Text)))
	require.Equal(t, uint64(1), a.RNGSeed)
	require.Equal(t, "length", a.FinishReason)
	require.NotNil(t, a.MeanLogProb)
	require.Less(t, *a.MeanLogProb, 0.0)

	// The library gives the same text for the same seed and options.
	want, err := ms.Generator.Model.GenerateScored(context.Background(), "KING:", charrnn.SampleOptions{N: 60, Temperature: 0.8, Seed: 1}, func(string) error { return nil })
	require.NoError(t, err)
	require.InDelta(t, want.MeanLogProb(), *a.MeanLogProb, 1e-9)
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 60, "rng_seed": 1}`, &b)
	require.Equal(t, a, b, "same rng_seed, same text")

	// Without rng_seed one is chosen and reported; sending it back repeats the text.
	var c, d GenerateResponse
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 40}`, &c)
	require.Less(t, c.RNGSeed, uint64(1)<<53)
	postOK(t, ts, "/v1/generate", fmt.Sprintf(`{"seed": "KING:", "max_chars": 40, "rng_seed": %d}`, c.RNGSeed), &d)
	require.Equal(t, c.Text, d.Text)

	// Temperature 0 is greedy: the seed does not matter.
	var g1, g2 GenerateResponse
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 30, "temperature": 0, "rng_seed": 1}`, &g1)
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 30, "temperature": 0, "rng_seed": 2}`, &g2)
	require.Equal(t, g1.Text, g2.Text)

	// A stop sequence ends the text before it.
	var full, cut GenerateResponse
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 300, "rng_seed": 5}`, &full)
	i := strings.Index(full.Text, "e")
	require.GreaterOrEqual(t, i, 0, full.Text)
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 300, "rng_seed": 5, "stop": ["e"]}`, &cut)
	require.Equal(t, full.Text[:i], cut.Text)
	require.Equal(t, "stop", cut.FinishReason)
	require.Equal(t, "e", cut.StopSequence)

	// An empty seed starts after a newline; an unknown seed character is
	// refused unless skip_unknown.
	var e GenerateResponse
	postOK(t, ts, "/v1/generate", `{"max_chars": 5}`, &e)
	require.Equal(t, 5, e.Chars)
	code, _, body := post(t, ts, "/v1/generate", `{"seed": "KING€", "max_chars": 5}`)
	require.Equal(t, 400, code, body)
	require.Contains(t, body, "not in the model's vocabulary")
	postOK(t, ts, "/v1/generate", `{"seed": "KING€", "max_chars": 5, "skip_unknown": true}`, &e)
}

func TestGenerateErrors(t *testing.T) {
	_, ts := newTest(t, models(t), func(o *Options) { o.MaxTextChars = 100 })
	checkErrors(t, ts, "/v1/generate", append(commonErrors(`{"seed": "KING:"}`), []errorCase{
		{"max_chars 0", `{"max_chars": 0}`, 400, "max_chars must be in 1..2000"},
		{"max_chars too large", `{"max_chars": 2001}`, 400, "max_chars must be in 1..2000"},
		{"max_chars not a number", `{"max_chars": "10"}`, 400, `field "max_chars" must be an integer, not string`},
		{"max_chars fraction", `{"max_chars": 1.5}`, 400, `field "max_chars" must be an integer`},
		{"negative temperature", `{"temperature": -1}`, 400, "temperature must be in [0, 10]"},
		{"huge temperature", `{"temperature": 1e9}`, 400, "temperature"},
		{"top_p above 1", `{"top_p": 1.5}`, 400, "top_p must be in [0, 1]"},
		{"negative top_k", `{"top_k": -1}`, 400, "top_k"},
		{"negative rng_seed", `{"rng_seed": -1}`, 400, `field "rng_seed" must be a non-negative integer`},
		{"empty stop", `{"stop": [""]}`, 400, "stop[0] must have 1 to 64 characters"},
		{"too many stops", `{"stop": ["a","b","c","d","e","f","g","h","i"]}`, 400, "stop has 9 sequences"},
		{"stop not strings", `{"stop": [1]}`, 400, `field "stop" must be an array of strings; it holds number`},
		{"seed too long", `{"seed": "` + strings.Repeat("a", 101) + `"}`, 413, "seed has 101 characters; the limit is 100"},
	}...))
}

// sseEvent is one server-sent event.
type sseEvent struct{ name, data string }

func readEvent(r *bufio.Reader) (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return ev, nil
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestGenerateStream(t *testing.T) {
	_, ts := newTest(t, models(t), nil)
	body := `{"seed": "KING:", "max_chars": 300, "rng_seed": 9, "stop": ["zz"], "stream": %v}`
	var plain GenerateResponse
	postOK(t, ts, "/v1/generate", fmt.Sprintf(body, false), &plain)

	resp, err := http.Post(ts.URL+"/v1/generate", "application/json", strings.NewReader(fmt.Sprintf(body, true)))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	r := bufio.NewReader(resp.Body)
	var text strings.Builder
	chunks := 0
	for {
		ev, err := readEvent(r)
		require.NoError(t, err)
		if ev.name == "chunk" {
			var c GenerateChunk
			require.NoError(t, json.Unmarshal([]byte(ev.data), &c))
			text.WriteString(c.Text)
			chunks++
			continue
		}
		require.Equal(t, "done", ev.name, ev.data)
		var done GenerateResponse
		require.NoError(t, json.Unmarshal([]byte(ev.data), &done))
		require.Equal(t, plain, done, "the final event has the totals of the plain answer")
		break
	}
	require.Equal(t, plain.Text, text.String(), "the chunks make the same text as without streaming")
	require.Greater(t, chunks, 100, "one event per character or so")
	_, err = r.ReadByte()
	require.ErrorIs(t, err, io.EOF)

	// An error found before the first event is a plain JSON answer.
	code, h, b := post(t, ts, "/v1/generate", `{"seed": "€", "stream": true}`)
	require.Equal(t, 400, code, b)
	require.Equal(t, "application/json", h.Get("Content-Type"))
}

// TestGenerateStreamCancel: events arrive while generation is under way,
// and generation stops when the client goes away.
func TestGenerateStreamCancel(t *testing.T) {
	const n = 1_000_000
	s, ts := newTest(t, models(t), func(o *Options) { o.MaxGenChars = n })
	resp, err := http.Post(ts.URL+"/v1/generate", "application/json", strings.NewReader(fmt.Sprintf(`{"max_chars": %d, "stream": true}`, n)))
	require.NoError(t, err)
	r := bufio.NewReader(resp.Body)
	ev, err := readEvent(r)
	require.NoError(t, err)
	require.Equal(t, "chunk", ev.name)
	resp.Body.Close() // the client goes away
	require.Eventually(t, func() bool { return gauge(t, ts, "rnnkit_http_requests_in_flight") == 1 }, 20*time.Second, 10*time.Millisecond,
		"the generation ends (only the /metrics request is in flight)")
	gen := gauge(t, ts, "rnnkit_generated_chars_total")
	require.Greater(t, gen, 0.0)
	require.Less(t, gen, float64(n), "generation stopped early")
	require.Equal(t, 1.0, gauge(t, ts, `rnnkit_http_requests_total{code="499",route="/v1/generate"}`))
	require.Equal(t, 0, s.gen.depth())
}

func TestClassify(t *testing.T) {
	ms := models(t)
	_, ts := newTest(t, ms, nil)
	texts := []string{"the film was great", "a boring awful movie , too long", "I loved it", "plot"}
	body, _ := json.Marshal(ClassifyRequest{Texts: texts, TopK: 2})
	var res ClassifyResponse
	postOK(t, ts, "/v1/classify", string(body), &res)
	require.Len(t, res.Results, len(texts))
	for i, r := range res.Results {
		want := ms.Classifier.Model.Predict(texts[i]) // order kept: each result is its own text's
		require.Equal(t, want.Label, r.Label)
		require.InDelta(t, want.Probability, r.Probability, 1e-5)
		require.Len(t, r.Probs, 2)
		require.InDelta(t, 1, r.Probs["negative"]+r.Probs["positive"], 1e-5)
		require.Equal(t, r.Probability, r.Probs[r.Label])
		require.Len(t, r.Top, 2)
		require.Equal(t, r.Label, r.Top[0].Label)
		require.GreaterOrEqual(t, r.Top[0].Probability, r.Top[1].Probability)
	}
	// Without top_k there is no list; a top_k over the labels is capped.
	var one, capped ClassifyResponse
	postOK(t, ts, "/v1/classify", `{"texts": ["I loved it"]}`, &one)
	require.Nil(t, one.Results[0].Top)
	postOK(t, ts, "/v1/classify", `{"texts": ["I loved it"], "top_k": 5}`, &capped)
	require.Len(t, capped.Results[0].Top, 2)
}

func TestClassifyErrors(t *testing.T) {
	_, ts := newTest(t, models(t), func(o *Options) { o.MaxTexts = 3; o.MaxTextChars = 20 })
	checkErrors(t, ts, "/v1/classify", append(commonErrors(`{"texts": ["good"]}`), []errorCase{
		{"no texts", `{}`, 400, "texts is missing or empty"},
		{"empty list", `{"texts": []}`, 400, "texts is missing or empty"},
		{"texts not a list", `{"texts": "good"}`, 400, `field "texts" must be an array of strings, not string`},
		{"blank text", `{"texts": ["good", "  "]}`, 400, "texts[1] is empty"},
		{"NUL", `{"texts": ["go\u0000od"]}`, 400, "texts[0] contains a NUL"},
		{"negative top_k", `{"texts": ["good"], "top_k": -1}`, 400, "top_k"},
		{"too many texts", `{"texts": ["a", "b", "c", "d"]}`, 413, "texts has 4 entries; the limit is 3"},
		{"text too long", `{"texts": ["a", "` + strings.Repeat("é", 21) + `"]}`, 413, "texts[1] has 21 characters; the limit is 20"},
	}...))
}

func TestTranslate(t *testing.T) {
	ms := models(t)
	_, ts := newTest(t, ms, nil)
	enes, esen := ms.Translators[0].Model, ms.Translators[1].Model
	texts := []string{"I have two brothers .", "", "Where is the station ?", "Good morning"}
	var res TranslateResponse
	postOK(t, ts, "/v1/translate", `{"texts": ["I have two brothers .", "", "Where is the station ?", "Good morning"], "from": "en", "to": "es", "beam": 3, "attention": false}`, &res)
	opt := seq2seq.DefaultTranslateOptions() // rnnkit translate's defaults, re-ranked by es->en
	opt.Beam, opt.Back = 3, esen
	want, err := enes.Translate(context.Background(), texts, opt)
	require.NoError(t, err)
	require.Len(t, res.Results, len(texts))
	for i, r := range res.Results {
		require.Equal(t, want[i].Text, r.Translation, "text %d", i)
		require.InDelta(t, want[i].LogProb, r.LogProb, 1e-4)
		require.Equal(t, "en", r.From)
		require.Equal(t, "es", r.To)
		require.Nil(t, r.Attention)
	}
	require.Equal(t, "", res.Results[1].Translation)

	// The defaults: from the first translator's language, beam 5.
	postOK(t, ts, "/v1/translate", `{"texts": ["Good morning"]}`, &res)
	opt = seq2seq.DefaultTranslateOptions()
	opt.Back = esen
	w5, err := enes.Translate(context.Background(), []string{"Good morning"}, opt)
	require.NoError(t, err)
	require.Equal(t, w5[0].Text, res.Results[0].Translation)

	// Attention and n-best lists.
	postOK(t, ts, "/v1/translate", `{"texts": ["Good morning"], "beam": 4, "nbest": 3, "attention": true}`, &res)
	r := res.Results[0]
	require.Len(t, r.NBest, 3)
	require.Equal(t, r.Translation, r.NBest[0].Text)
	require.Len(t, r.Attention, len(r.TargetTokens))
	require.Len(t, r.Attention[0], len(r.SourceTokens))

	// from auto sends each text to the translator for its language, in order.
	postOK(t, ts, "/v1/translate", `{"texts": ["¿Dónde está la estación?", "Where is the station?", "Buenos días"], "from": "auto", "beam": 1}`, &res)
	var froms []string
	for _, r := range res.Results {
		froms = append(froms, r.From+"->"+r.To)
	}
	require.Equal(t, []string{"es->en", "en->es", "es->en"}, froms)
	opt = seq2seq.DefaultTranslateOptions()
	opt.Beam = 1
	wes, err := esen.Translate(context.Background(), []string{"Buenos días"}, opt)
	require.NoError(t, err)
	require.Equal(t, wes[0].Text, res.Results[2].Translation)
	// from alone picks the target, and to alone the source.
	postOK(t, ts, "/v1/translate", `{"texts": ["Buenos días"], "from": "es"}`, &res)
	require.Equal(t, "en", res.Results[0].To)
	postOK(t, ts, "/v1/translate", `{"texts": ["Buenos días"], "to": "en"}`, &res)
	require.Equal(t, "es", res.Results[0].From)
}

func TestTranslateErrors(t *testing.T) {
	ms := models(t)
	_, ts := newTest(t, ms, nil)
	long := strings.TrimSpace(strings.Repeat("Good morning ", 201))
	checkErrors(t, ts, "/v1/translate", append(commonErrors(`{"texts": ["Good morning"]}`), []errorCase{
		{"no texts", `{"from": "en"}`, 400, "texts is missing or empty"},
		{"beam 0", `{"texts": ["a"], "beam": 0}`, 400, "beam must be in 1..16"},
		{"beam too wide", `{"texts": ["a"], "beam": 17}`, 400, "beam must be in 1..16"},
		{"nbest over beam", `{"texts": ["a"], "beam": 2, "nbest": 3}`, 400, "nbest must be in 0..beam (2)"},
		{"unknown direction", `{"texts": ["a"], "from": "fr"}`, 400, `no translator from "fr" into any language; it serves en->es, es->en`},
		{"unknown target", `{"texts": ["a"], "from": "en", "to": "de"}`, 400, `no translator into "de"`},
		{"too many tokens", `{"texts": ["` + long + `"]}`, 413, "texts[0] has 402 tokens; a translator takes at most 400"},
	}...))

	// With only en->es, a Spanish text under auto is refused, not mistranslated.
	one := ms
	one.Translators = ms.Translators[:1]
	_, ts1 := newTest(t, one, nil)
	checkErrors(t, ts1, "/v1/translate", []errorCase{
		{"auto without es->en", `{"texts": ["Good morning", "¿Dónde está la estación?"], "from": "auto"}`, 400, `texts[1] looks like "es"`},
	})
}

func TestMethodsAndPaths(t *testing.T) {
	_, ts := newTest(t, models(t), nil)
	for _, tc := range []struct {
		method, path, allow string
	}{
		{"GET", "/v1/generate", "POST"},
		{"PUT", "/v1/classify", "POST"},
		{"DELETE", "/v1/translate", "POST"},
		{"POST", "/v1/models", "GET, HEAD"},
		{"POST", "/metrics", "GET, HEAD"},
		{"POST", "/", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 405, resp.StatusCode, "%s %s", tc.method, tc.path)
		require.Equal(t, tc.allow, resp.Header.Get("Allow"))
		require.Contains(t, string(b), `"error"`)
	}
	code, _, b := get(t, ts, "/v2/nothing")
	require.Equal(t, 404, code)
	require.Contains(t, b, `"error":"no such path /v2/nothing`)
	resp, err := http.Head(ts.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	// A model that is not loaded is a 404 with a reason.
	none := Models{Classifier: models(t).Classifier}
	_, ts2 := newTest(t, none, nil)
	for _, p := range []string{"/v1/generate", "/v1/translate"} {
		code, _, b := post(t, ts2, p, `{"texts": ["a"]}`)
		require.Equal(t, 404, code)
		require.Contains(t, b, "loaded")
	}
}

func TestModelsHealthReady(t *testing.T) {
	ms := models(t)
	ms.Unavailable = []Unavailable{{Task: "translate", From: "fr", To: "en", Reason: "not in this build"}}
	s, ts := newTest(t, ms, func(o *Options) { o.Version = "1.2.3" })
	var info ModelsResponse
	code, _, b := get(t, ts, "/v1/models")
	require.Equal(t, 200, code)
	require.NoError(t, json.Unmarshal([]byte(b), &info))
	require.Equal(t, "1.2.3", info.Version)
	require.Len(t, info.Models, 4)
	var tasks []string
	for _, m := range info.Models {
		tasks = append(tasks, m.Task+":"+m.From+m.To)
		require.Greater(t, m.Parameters, 0)
		require.NotNil(t, m.Config)
	}
	require.Equal(t, []string{"generate:", "classify:", "translate:enes", "translate:esen"}, tasks)
	cls := info.Models[1]
	require.Equal(t, "0.5 (random weights)", cls.Quality["val_accuracy"])
	require.Equal(t, "nothing", cls.Metadata["trained_on"])
	require.NotContains(t, cls.Metadata, "word_list", "long values are left out")
	require.Equal(t, []string{"negative", "positive"}, cls.Labels)
	require.Equal(t, "gru", cls.Config.(map[string]any)["cell"])
	require.Equal(t, ms.Unavailable, info.Unavailable)
	require.Equal(t, 2000, info.Limits.MaxGenChars)
	require.Equal(t, 5.0, info.Limits.BatchWaitMS)

	code, _, b = get(t, ts, "/healthz")
	require.Equal(t, 200, code)
	require.JSONEq(t, `{"status": "ok"}`, b)
	code, _, b = get(t, ts, "/readyz")
	require.Equal(t, 200, code)
	require.JSONEq(t, `{"status": "ready"}`, b)
	s.Drain()
	code, h, b := get(t, ts, "/readyz")
	require.Equal(t, 503, code)
	require.Equal(t, "1", h.Get("Retry-After"))
	require.JSONEq(t, `{"status": "draining"}`, b)
	code, _, _ = get(t, ts, "/healthz")
	require.Equal(t, 200, code, "a draining server is alive")
}

func TestIndexPage(t *testing.T) {
	_, ts := newTest(t, models(t), nil)
	code, h, b := get(t, ts, "/")
	require.Equal(t, 200, code)
	require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
	for _, id := range []string{"gen-go", "cls-go", "tr-go", "/v1/generate", "/v1/classify", "/v1/translate", "/v1/models"} {
		require.Contains(t, b, id)
	}
	code, h, b = get(t, ts, "/openapi.json")
	require.Equal(t, 200, code)
	require.Equal(t, "application/json", h.Get("Content-Type"))
	require.True(t, json.Valid([]byte(b)))
}

// metricsText fetches /metrics.
func metricsText(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	code, _, b := get(t, ts, "/metrics")
	require.Equal(t, 200, code)
	return b
}

// gauge reads one sample of /metrics by its full name with labels (in
// the exposition's order, sorted by label name); 0 when absent.
func gauge(t *testing.T, ts *httptest.Server, sample string) float64 {
	t.Helper()
	for line := range strings.Lines(metricsText(t, ts)) {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			require.NoError(t, err, line)
			return v
		}
	}
	return 0
}

func TestMetrics(t *testing.T) {
	_, ts := newTest(t, models(t), nil)
	var cr ClassifyResponse
	postOK(t, ts, "/v1/classify", `{"texts": ["good", "bad", "plot"]}`, &cr)
	postOK(t, ts, "/v1/classify", `{"texts": ["good"]}`, &cr)
	post(t, ts, "/v1/classify", `{"texts": []}`)
	var tr TranslateResponse
	postOK(t, ts, "/v1/translate", `{"texts": ["Good morning"], "beam": 1}`, &tr)
	var gr GenerateResponse
	postOK(t, ts, "/v1/generate", `{"max_chars": 7}`, &gr)
	get(t, ts, "/nowhere")

	m := metricsText(t, ts)
	for _, want := range []string{
		`rnnkit_http_requests_total{code="200",route="/v1/classify"} 2`,
		`rnnkit_http_requests_total{code="400",route="/v1/classify"} 1`,
		`rnnkit_http_requests_total{code="200",route="/v1/translate"} 1`,
		`rnnkit_http_requests_total{code="200",route="/v1/generate"} 1`,
		`rnnkit_http_requests_total{code="404",route="other"} 1`,
		`rnnkit_http_request_duration_seconds_count{code="200",route="/v1/classify"} 2`,
		`rnnkit_http_request_duration_seconds_bucket{code="200",route="/v1/classify",le="+Inf"} 2`,
		`rnnkit_http_requests_in_flight 1`,
		`rnnkit_batch_size_sum{model="classify"} 4`,
		`rnnkit_batch_size_sum{model="translate:en-es"} 1`,
		`rnnkit_queue_depth{model="classify"} 0`,
		`rnnkit_queue_depth{model="generate"} 0`,
		`rnnkit_queue_depth{model="translate:es-en"} 0`,
		`rnnkit_generated_chars_total 7`,
		`go_goroutines `,
		`# TYPE rnnkit_batch_size histogram`,
	} {
		require.Contains(t, m, want)
	}
}

// TestBatching: concurrent requests are answered by fewer model calls,
// each request getting its own results in its own order.
func TestBatching(t *testing.T) {
	ms := models(t)
	_, ts := newTest(t, ms, func(o *Options) { o.Workers = 1; o.BatchWait = 2 * time.Second; o.MaxBatch = 16 })
	const n = 8
	reviews := []string{"the film was great", "a boring awful movie", "I loved it", "too long", "plot", "the plot", "great great", "awful"}
	sentences := []string{"Good morning", "I have two brothers .", "Where is the station ?", "She is reading a book ."}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			texts := []string{reviews[i], reviews[(i+3)%n]}
			body, _ := json.Marshal(ClassifyRequest{Texts: texts})
			resp, err := http.Post(ts.URL+"/v1/classify", "application/json", strings.NewReader(string(body)))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var res ClassifyResponse
			if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || len(res.Results) != 2 {
				errs <- fmt.Errorf("classify %d: %v %+v", i, err, res)
				return
			}
			for k, r := range res.Results {
				if want := ms.Classifier.Model.Predict(texts[k]); want.Label != r.Label || want.Probability-r.Probability > 1e-5 || r.Probability-want.Probability > 1e-5 {
					errs <- fmt.Errorf("classify %d text %d: got %+v, want %+v", i, k, r, want)
				}
			}
		})
		wg.Go(func() {
			text := sentences[i%len(sentences)]
			resp, err := http.Post(ts.URL+"/v1/translate", "application/json", strings.NewReader(`{"texts": ["`+text+`"], "beam": 1}`))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var res TranslateResponse
			if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || len(res.Results) != 1 {
				errs <- fmt.Errorf("translate %d: %v %+v", i, err, res)
				return
			}
			opt := seq2seq.DefaultTranslateOptions()
			opt.Beam = 1
			want, _ := ms.Translators[0].Model.Translate(context.Background(), []string{text}, opt)
			if res.Results[0].Translation != want[0].Text {
				errs <- fmt.Errorf("translate %d: got %q, want %q", i, res.Results[0].Translation, want[0].Text)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, model := range []string{"classify", "translate:en-es"} {
		calls := gauge(t, ts, `rnnkit_batch_size_count{model="`+model+`"}`)
		texts := gauge(t, ts, `rnnkit_batch_size_sum{model="`+model+`"}`)
		t.Logf("%s: %d requests in %.0f model calls", model, n, calls)
		require.Less(t, calls, float64(n), "%s: %d concurrent requests must share model calls", model, n)
		require.GreaterOrEqual(t, calls, 1.0)
		want := float64(n)
		if model == "classify" {
			want = 2 * n
		}
		require.Equal(t, want, texts, "every text is in exactly one model call")
	}
}

// TestBatcherLimits: a batch stops at MaxBatch texts (a job that would
// pass it starts the next batch), and jobs whose request has gone are
// dropped before the model call.
func TestBatcherLimits(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	b := newBatcher(1, 16, 4, time.Hour, func(ctx context.Context, jobs []*job[int, int]) {
		mu.Lock()
		n := 0
		for _, j := range jobs {
			n += j.n
			j.out = j.in * 10
		}
		sizes = append(sizes, n)
		mu.Unlock()
	})
	first := true
	b.hook = func() {
		if first {
			first = false
			<-release
		}
	}
	ctx := context.Background()
	gone, cancel := context.WithCancel(ctx)
	var jobs []*job[int, int]
	for i, n := range []int{1, 2, 1, 3, 2, 2} {
		c := ctx
		if i == 4 {
			c = gone
		}
		j := newJob[int, int](c, i, n)
		require.NoError(t, b.submit(j))
		jobs = append(jobs, j)
	}
	cancel()
	close(release)
	for i, j := range jobs {
		<-j.done
		if i == 4 {
			require.ErrorIs(t, j.err, context.Canceled)
			continue
		}
		require.NoError(t, j.err)
		require.Equal(t, i*10, j.out)
	}
	b.close()
	require.Equal(t, []int{4, 3, 2}, sizes, "1+2+1 | 3 (the 2 behind it would pass 4) | 2 (its neighbour's request is gone)")
	require.ErrorIs(t, b.submit(newJob[int, int](ctx, 0, 1)), errClosed)
}

// TestQueueFull: when the queue is full, a request is answered 503 at
// once with Retry-After; the queued ones are answered when the model is free.
func TestQueueFull(t *testing.T) {
	s, ts := newTest(t, models(t), func(o *Options) { o.Workers = 1; o.Queue = 1; o.BatchWait = 0 })
	entered, release := make(chan struct{}), make(chan struct{})
	s.classify.hook = func() {
		entered <- struct{}{}
		<-release
	}
	codes := make(chan int, 2)
	send := func() {
		code, _, _ := post(t, ts, "/v1/classify", `{"texts": ["good"]}`)
		codes <- code
	}
	go send()
	<-entered // the worker holds the first request
	go send()
	require.Eventually(t, func() bool { return s.classify.depth() == 1 }, 20*time.Second, time.Millisecond)
	code, h, b := post(t, ts, "/v1/classify", `{"texts": ["good"]}`)
	require.Equal(t, 503, code, b)
	require.Equal(t, "1", h.Get("Retry-After"))
	require.Contains(t, b, "queue is full")
	require.Equal(t, 1.0, gauge(t, ts, `rnnkit_queue_depth{model="classify"}`))
	release <- struct{}{}
	<-entered
	release <- struct{}{}
	require.Equal(t, 200, <-codes)
	require.Equal(t, 200, <-codes)
	require.Equal(t, 1.0, gauge(t, ts, `rnnkit_queue_rejected_total{model="classify"}`))
	s.classify.hook = nil

	// Generation: one running (here a slot taken by the test), one waiting,
	// the next refused.
	require.NoError(t, s.gen.acquire(context.Background()))
	go func() {
		code, _, _ := post(t, ts, "/v1/generate", `{"max_chars": 3}`)
		codes <- code
	}()
	require.Eventually(t, func() bool { return s.gen.depth() == 1 }, 20*time.Second, time.Millisecond)
	code, h, _ = post(t, ts, "/v1/generate", `{"max_chars": 3}`)
	require.Equal(t, 503, code)
	require.Equal(t, "1", h.Get("Retry-After"))
	s.gen.release()
	require.Equal(t, 200, <-codes)
}

func TestTimeout(t *testing.T) {
	s, ts := newTest(t, models(t), func(o *Options) { o.Timeout = 100 * time.Millisecond; o.MaxGenChars = 10_000_000 })
	release := make(chan struct{})
	s.classify.hook = func() { <-release }
	code, _, b := post(t, ts, "/v1/classify", `{"texts": ["good"]}`)
	close(release)
	require.Equal(t, 504, code, b)
	require.Contains(t, b, "timeout of 100ms")

	// A body that does not arrive in time is a 408.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"texts\": ")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	b408, _ := io.ReadAll(resp.Body)
	require.Equal(t, 408, resp.StatusCode, "%s", b408)
	require.Contains(t, string(b408), "did not arrive within 100ms")

	// A generation that runs out of time answers what it has.
	var gr GenerateResponse
	postOK(t, ts, "/v1/generate", `{"max_chars": 10000000}`, &gr)
	require.Equal(t, "timeout", gr.FinishReason)
	require.Less(t, gr.Chars, 10_000_000)
	require.Equal(t, gr.Chars, len([]rune(gr.Text)))
}

// TestShutdownDrains: after Drain and http.Server.Shutdown, a request in
// flight is still answered, and Shutdown waits for it.
func TestShutdownDrains(t *testing.T) {
	s, err := New(models(t), DefaultOptions())
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	s.classify.hook = func() {
		close(entered)
		<-release
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.Post(ts.URL+"/v1/classify", "application/json", strings.NewReader(`{"texts": ["good"]}`))
		if err != nil {
			answers <- answer{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers <- answer{resp.StatusCode, string(b)}
	}()
	<-entered
	s.Drain()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.Config.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned while a request was in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	a := <-answers
	require.Equal(t, 200, a.code, a.body)
	require.Contains(t, a.body, `"results"`)
	require.NoError(t, <-done)
	s.Close()
	_, err = http.Get(ts.URL + "/healthz")
	require.Error(t, err, "the listener is closed")
}

func TestNewChecks(t *testing.T) {
	ms := models(t)
	opt := DefaultOptions()
	opt.MaxBatch = 0
	_, err := New(ms, opt)
	require.ErrorContains(t, err, "MaxBatch must be positive")
	opt = DefaultOptions()
	opt.BatchWait = -1
	_, err = New(ms, opt)
	require.ErrorContains(t, err, "must not be negative")
	dup := ms
	dup.Translators = []Translator{ms.Translators[0], ms.Translators[0]}
	_, err = New(dup, DefaultOptions())
	require.ErrorContains(t, err, "two translators for en->es")
	bad := ms
	bad.Translators = []Translator{{From: "auto", To: "es", Model: ms.Translators[0].Model}}
	_, err = New(bad, DefaultOptions())
	require.ErrorContains(t, err, "not auto")
	// A server with no models at all still answers health and models.
	s, err := New(Models{}, DefaultOptions())
	require.NoError(t, err)
	s.Close()
	assert.Empty(t, s.modelsResponse().Models)
}

// TestTranslateEnsemble: a translator with an ensemble decodes with all of
// its models, as seq2seq's TranslateOptions.Ensemble does, lists them in
// /v1/models, and a member with other tokenizers is refused at start.
func TestTranslateEnsemble(t *testing.T) {
	ms := models(t)
	enes, esen := ms.Translators[0].Model, ms.Translators[1].Model
	other, err := seq2seq.New(enes.Config, enes.Src, enes.Tgt)
	require.NoError(t, err)
	other.Init(rand.New(rand.NewPCG(9, 9)))
	ms.Translators[0].Ensemble, ms.Translators[0].EnsembleSources = []*seq2seq.Model{other}, []string{"tiny-en-es-2"}
	_, ts := newTest(t, ms, nil)
	texts := []string{"I have two brothers .", "Where is the station ?"}
	var res TranslateResponse
	postOK(t, ts, "/v1/translate", `{"texts": ["I have two brothers .", "Where is the station ?"], "from": "en", "beam": 3}`, &res)
	opt := seq2seq.DefaultTranslateOptions()
	opt.Beam, opt.Back, opt.Ensemble = 3, esen, []*seq2seq.Model{other}
	want, err := enes.Translate(context.Background(), texts, opt)
	require.NoError(t, err)
	for i, r := range res.Results {
		require.Equal(t, want[i].Text, r.Translation, "text %d", i)
		require.InDelta(t, want[i].LogProb, r.LogProb, 1e-4)
	}
	var info ModelsResponse
	code, _, b := get(t, ts, "/v1/models")
	require.Equal(t, http.StatusOK, code, b)
	require.NoError(t, json.Unmarshal([]byte(b), &info))
	var listed bool
	for _, m := range info.Models {
		if m.Task == "translate" && m.From == "en" {
			listed = true
			require.Equal(t, []string{"tiny-en-es-2"}, m.Ensemble)
		}
	}
	require.True(t, listed)

	ms.Translators[0].Ensemble = []*seq2seq.Model{esen} // es->en: other tokenizers
	_, err = New(ms, DefaultOptions())
	require.ErrorContains(t, err, "translator en->es: ensemble model 1")
}
