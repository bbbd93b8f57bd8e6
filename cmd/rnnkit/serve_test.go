package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/rnnkit/rnnkit/serve"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer that a command writes while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startServe runs `rnnkit serve --addr 127.0.0.1:0 ARGS` in-process and
// returns its URL, its stderr, and stop, which cancels the command's
// context as a signal would and returns the command's error.
func startServe(t *testing.T, args ...string) (url string, stderr *syncBuffer, stop func() error) {
	t.Helper()
	root := NewRootCmd()
	stderr = &syncBuffer{}
	root.SetOut(io.Discard)
	root.SetErr(stderr)
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := root.ExecuteContextC(ctx)
		done <- err
	}()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(time.Minute):
				stopErr = fmt.Errorf("serve did not stop; stderr: %s", stderr)
			}
		})
		return stopErr
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			t.Cleanup(func() { stop() })
			return m[1], stderr, stop
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before listening: %v; stderr: %s", err, stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve is not listening; stderr: %s", stderr)
		}
	}
}

func httpJSON(t *testing.T, method, url, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if v != nil {
		require.NoError(t, json.Unmarshal(b, v), "%s", b)
	}
	return resp.StatusCode
}

// TestServeEmbedded serves the embedded default models and checks that the
// API answers as the other commands do.
func TestServeEmbedded(t *testing.T) {
	url, stderr, stop := startServe(t)
	var info serve.ModelsResponse
	require.Equal(t, 200, httpJSON(t, "GET", url+"/v1/models", "", &info))
	var tasks []string
	for _, m := range info.Models {
		tasks = append(tasks, strings.TrimSpace(m.Task+" "+m.From+m.To))
		require.NotEmpty(t, m.Quality, "%s has its quality figures", m.Task)
		require.True(t, strings.HasPrefix(m.Source, "embedded:models/"), m.Source)
	}
	require.Subset(t, tasks, []string{"generate", "classify", "translate enes"})
	if _, _, err := defaultModel("seq2seq-es-en"); err != nil {
		// This build lacks the es->en model: it says so, and serves the rest.
		require.NotContains(t, tasks, "translate esen")
		require.Len(t, info.Unavailable, 1)
		require.Equal(t, serve.Unavailable{Task: "translate", From: "es", To: "en",
			Reason: "this rnnkit build has no embedded es->en model; pass --translate-model es-en=FILE"}, info.Unavailable[0])
		require.Contains(t, stderr.String(), "not serving translate es->en")
	} else {
		require.Contains(t, tasks, "translate esen")
		require.Empty(t, info.Unavailable)
	}
	require.Equal(t, version, info.Version)

	var cls serve.ClassifyResponse
	require.Equal(t, 200, httpJSON(t, "POST", url+"/v1/classify", `{"texts": ["A wonderful, moving film. I loved every minute of it.", "Dull, predictable and far too long. A waste of time."]}`, &cls))
	require.Equal(t, "positive", cls.Results[0].Label)
	require.Equal(t, "negative", cls.Results[1].Label)

	var tr serve.TranslateResponse
	require.Equal(t, 200, httpJSON(t, "POST", url+"/v1/translate", `{"texts": ["I have two brothers."], "from": "en", "to": "es"}`, &tr))
	require.Equal(t, "Tengo dos hermanos.", tr.Results[0].Translation)

	// The same text as rnnkit generate for the same seed and options.
	var gen serve.GenerateResponse
	require.Equal(t, 200, httpJSON(t, "POST", url+"/v1/generate", `{"seed": "ROMEO:", "max_chars": 60, "rng_seed": 1}`, &gen))
	out, _, err := runCLI(t, "generate", "--seed", "ROMEO:", "-n", "60", "--rng-seed", "1")
	require.NoError(t, err)
	require.Equal(t, "ROMEO:"+gen.Text+"\n", out)

	require.NoError(t, stop())
	require.Contains(t, stderr.String(), "shutting down: finishing 0 requests in flight")
	require.Contains(t, stderr.String(), "stopped")
}

// tinySeq2seqModel writes an untrained translator and returns its path.
func tinySeq2seqModel(t *testing.T, dir, name string, meta map[string]string) string {
	t.Helper()
	src, err := tokenize.TrainWord(strings.NewReader("good morning where is the station"), tokenize.WordOptions{})
	require.NoError(t, err)
	tgt, err := tokenize.TrainWord(strings.NewReader("buenos días dónde está la estación"), tokenize.WordOptions{})
	require.NoError(t, err)
	m, err := seq2seq.New(seq2seq.Config{Cell: rnn.GRU, Embedding: 8, EncHidden: 8, DecHidden: 8}, src, tgt)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	for k, v := range meta {
		m.Meta[k] = v
	}
	path := filepath.Join(dir, name)
	require.NoError(t, m.Save(path, rnn.F32))
	return path
}

func TestServeModelFlags(t *testing.T) {
	dir := t.TempDir()
	char := tinyCharModel(t, dir)
	fwd := tinySeq2seqModel(t, dir, "fwd.safetensors", nil)
	rev := tinySeq2seqModel(t, dir, "rev.safetensors", map[string]string{"direction": "reverse (second column -> first)"})
	url, _, stop := startServe(t, "--generate-model", char, "--classify-model", "none",
		"--translate-model", fwd, "--translate-model", "fr-de="+fwd, "--translate-model", rev, "--max-batch", "7", "--batch-wait", "2ms", "--queue", "3", "--timeout", "9s", "--max-body", "5000", "--workers", "1")
	var info serve.ModelsResponse
	require.Equal(t, 200, httpJSON(t, "GET", url+"/v1/models", "", &info))
	var tasks []string
	for _, m := range info.Models {
		tasks = append(tasks, strings.Join(strings.Fields(m.Task+" "+m.From+m.To+" "+filepath.Base(m.Source)), " "))
	}
	require.Equal(t, []string{"generate tiny.safetensors", "translate enes fwd.safetensors", "translate frde fwd.safetensors", "translate esen rev.safetensors"}, tasks)
	require.Empty(t, info.Unavailable)
	require.Equal(t, serve.Limits{MaxBodyBytes: 5000, MaxTexts: 64, MaxTextChars: 10000, MaxGenChars: 2000, MaxBeam: 16,
		MaxBatch: 7, BatchWaitMS: 2, Queue: 3, Workers: 1, TimeoutS: 9}, info.Limits)
	var e serve.ErrorResponse
	require.Equal(t, 404, httpJSON(t, "POST", url+"/v1/classify", `{"texts": ["good"]}`, &e))
	require.Contains(t, e.Error, "no classifier")
	var tr serve.TranslateResponse
	require.Equal(t, 200, httpJSON(t, "POST", url+"/v1/translate", `{"texts": ["good morning"], "from": "fr", "beam": 1}`, &tr))
	require.Equal(t, "de", tr.Results[0].To)
	require.NoError(t, stop())
}

func TestModelDirection(t *testing.T) {
	for _, tc := range []struct{ meta, from, to string }{
		{"en->es", "en", "es"},
		{"es -> en", "es", "en"},
		{"reverse (second column -> first)", "es", "en"},
		{"", "en", "es"},
		{"something else", "en", "es"},
	} {
		from, to := modelDirection(tc.meta)
		require.Equal(t, tc.from+"->"+tc.to, from+"->"+to, tc.meta)
	}
}

func TestParseTranslateModel(t *testing.T) {
	for _, tc := range []struct{ in, from, to, path string }{
		{"en-es=a.safetensors", "en", "es", "a.safetensors"},
		{"ES-EN=/x/b=c.safetensors", "es", "en", "/x/b=c.safetensors"},
		{"model.safetensors", "", "", "model.safetensors"},
		{"my-model=v2.safetensors", "my", "model", "v2.safetensors"},
		{"a/en-es=b", "", "", "a/en-es=b"},
	} {
		from, to, path := parseTranslateModel(tc.in)
		require.Equal(t, []string{tc.from, tc.to, tc.path}, []string{from, to, path}, tc.in)
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--max-batch", "0"}, "--max-batch must be positive"},
		{[]string{"--workers", "-1"}, "--workers must be 0"},
		{[]string{"--batch-wait", "-1s"}, "must not be negative"},
		{[]string{"--generate-model", "none", "--classify-model", "none", "--translate-model", "none"}, "nothing to serve"},
		{[]string{"--translate-model", "none", "--translate-model", "x.safetensors"}, "cannot be combined"},
	} {
		_, _, err := runCLI(t, append([]string{"serve"}, tc.args...)...)
		require.ErrorContains(t, err, tc.msg)
		require.ErrorAs(t, err, new(usageError), "%v exits 2", tc.args)
	}
	_, _, err := runCLI(t, "serve", "--generate-model", filepath.Join(t.TempDir(), "missing.safetensors"))
	require.ErrorContains(t, err, "--generate-model")
	// An address in use is an error at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, _, err = runCLI(t, "serve", "--addr", ln.Addr().String(), "--classify-model", "none", "--translate-model", "none")
	require.ErrorContains(t, err, "address already in use")
}

// TestServeHelperProcess is the child of TestServeSignalExit: it runs the
// CLI as main does, with the arguments given in the environment.
func TestServeHelperProcess(t *testing.T) {
	args := os.Getenv("RNNKIT_TEST_SERVE_ARGS")
	if args == "" {
		t.Skip("helper process for TestServeSignalExit")
	}
	os.Exit(run(strings.Split(args, "\x1f")))
}

// TestServeSignalExit: SIGTERM lets a request in flight (a streamed
// generation) finish before serve exits with status 143; SIGINT exits with
// 130.
func TestServeSignalExit(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT/SIGTERM to send on Windows")
	}
	model := tinyCharModel(t, t.TempDir())
	const n = 500
	for _, tc := range []struct {
		sig    syscall.Signal
		want   int
		stream bool
	}{{syscall.SIGTERM, 143, true}, {syscall.SIGINT, 130, false}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
			cmd.Env = append(os.Environ(), "RNNKIT_TEST_SERVE_ARGS="+strings.Join([]string{"serve", "--addr", "127.0.0.1:0",
				"--generate-model", model, "--classify-model", "none", "--translate-model", "none",
				"--drain-timeout", "2m"}, "\x1f"))
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			killer := time.AfterFunc(4*time.Minute, func() { cmd.Process.Kill() })
			defer killer.Stop()
			lines := make(chan string, 100)
			var log strings.Builder
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			next := func(prefix string) string {
				for l := range lines {
					log.WriteString(l + "\n")
					if strings.Contains(l, prefix) {
						return l
					}
				}
				t.Fatalf("no %q on stderr: %s", prefix, log.String())
				return ""
			}
			url := listening.FindStringSubmatch(next("listening on"))[1]
			if tc.stream {
				// A request whose body is not sent yet is in flight: with
				// Expect: 100-continue the server says when its handler
				// starts reading the body.
				conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
				require.NoError(t, err)
				defer conn.Close()
				body := fmt.Sprintf(`{"max_chars": %d, "rng_seed": 1, "stream": true}`, n)
				_, err = fmt.Fprintf(conn, "POST /v1/generate HTTP/1.1\r\nHost: rnnkit\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
				require.NoError(t, err)
				br := bufio.NewReader(conn)
				cont, err := http.ReadResponse(br, nil)
				require.NoError(t, err)
				require.Equal(t, http.StatusContinue, cont.StatusCode)
				require.NoError(t, cmd.Process.Signal(tc.sig))
				require.Contains(t, next("shutting down"), "finishing 1 request in flight")
				// The request goes on to its end.
				_, err = io.WriteString(conn, body)
				require.NoError(t, err)
				resp, err := http.ReadResponse(br, nil)
				require.NoError(t, err)
				defer resp.Body.Close()
				require.Equal(t, 200, resp.StatusCode)
				require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
				r := bufio.NewReader(resp.Body)
				var last string
				chars := 0
				for {
					line, err := r.ReadString('\n')
					if err == io.EOF {
						break
					}
					require.NoError(t, err)
					if strings.HasPrefix(line, "data: ") {
						last = line
						chars++
					}
				}
				var done serve.GenerateResponse
				require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(last, "data: ")), &done))
				require.Equal(t, n, done.Chars)
				require.Equal(t, "length", done.FinishReason)
				require.Equal(t, n+1, chars, "every chunk and the final event")
			} else {
				require.NoError(t, cmd.Process.Signal(tc.sig))
				next("shutting down")
			}
			next("stopped")
			for l := range lines {
				log.WriteString(l + "\n")
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "stderr: %s", log.String())
			require.Equal(t, tc.want, ee.ExitCode(), "stderr: %s", log.String())
		})
	}
}
