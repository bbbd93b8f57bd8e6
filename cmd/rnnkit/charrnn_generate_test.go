package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/stretchr/testify/require"
)

// generateSample is one object of generate --json, with the numbers as
// json.Number so that the test sees exactly what was printed.
type generateSample struct {
	Seed         string       `json:"seed"`
	Text         string       `json:"text"`
	RNGSeed      json.Number  `json:"rng_seed"`
	Chars        int          `json:"chars"`
	MeanLogProb  *json.Number `json:"mean_log_prob"`
	FinishReason string       `json:"finish_reason"`
	Stop         *string      `json:"stop"`
}

// generateJSONRun runs generate --json with args and decodes every object.
func generateJSONRun(t *testing.T, args ...string) []generateSample {
	t.Helper()
	out, stderr, err := runCLI(t, append([]string{"generate", "--json"}, args...)...)
	require.NoError(t, err, stderr)
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var all []generateSample
	for dec.More() {
		var s generateSample
		require.NoError(t, dec.Decode(&s))
		all = append(all, s)
	}
	require.Equal(t, strings.Count(out, "\n"), len(all), "one object per line: %q", out)
	return all
}

func TestGenerateTemperatureZeroIsGreedy(t *testing.T) {
	model := tinyCharModel(t, t.TempDir())
	greedy, _, err := runCLI(t, "generate", "--model", model, "--seed", "KING:", "-n", "50", "--greedy", "--rng-seed", "1")
	require.NoError(t, err)
	for _, seed := range []string{"1", "2"} {
		out, _, err := runCLI(t, "generate", "--model", model, "--seed", "KING:", "-n", "50", "--temperature", "0", "--rng-seed", seed)
		require.NoError(t, err)
		require.Equal(t, greedy, out, "--temperature 0 is greedy, whatever the rng seed")
	}
	sampled, _, err := runCLI(t, "generate", "--model", model, "--seed", "KING:", "-n", "50", "--rng-seed", "1")
	require.NoError(t, err)
	require.NotEqual(t, greedy, sampled)

	for _, bad := range []string{"-0.5", "NaN", "+Inf"} {
		_, _, err := runCLI(t, "generate", "--model", model, "--temperature", bad)
		require.ErrorContains(t, err, "--temperature must be >= 0 (0 = greedy)")
		var ue usageError
		require.ErrorAs(t, err, &ue, "a usage error (exit status 2)")
	}
}

func TestGenerateNZeroPrintsOnlyTheSeed(t *testing.T) {
	model := tinyCharModel(t, t.TempDir())
	out, _, err := runCLI(t, "generate", "--model", model, "--seed", "KING:", "-n", "0")
	require.NoError(t, err)
	require.Equal(t, "KING:\n", out)
	out, _, err = runCLI(t, "generate", "--model", model, "-n", "0")
	require.NoError(t, err)
	require.Equal(t, "", out, "no seed, nothing to print")
	// The seed is still checked.
	_, _, err = runCLI(t, "generate", "--model", model, "--seed", "Ω", "-n", "0")
	require.ErrorContains(t, err, "--skip-unknown")
	s := generateJSONRun(t, "--model", model, "--seed", "KING:", "-n", "0", "--rng-seed", "4")
	require.Len(t, s, 1)
	require.Equal(t, "", s[0].Text)
	require.Equal(t, 0, s[0].Chars)
	require.Nil(t, s[0].MeanLogProb, "no characters, no mean: null")
}

func TestGenerateStopFlag(t *testing.T) {
	model := tinyCharModel(t, t.TempDir())
	args := []string{"--model", model, "--seed", "KING:", "-n", "400", "--rng-seed", "9"}
	full := generateJSONRun(t, args...)[0]
	require.Equal(t, "length", full.FinishReason)
	require.Nil(t, full.Stop)
	nl := strings.Index(full.Text, "\n")
	require.Greater(t, nl, 0, "the test needs a newline in %q", full.Text)

	// A real newline and the two characters \n mean the same.
	for _, stop := range []string{"\n", `\n`} {
		s := generateJSONRun(t, append(args, "--stop", stop)...)[0]
		require.Equal(t, full.Text[:nl], s.Text, "the text up to the stop sequence, without it")
		require.Equal(t, "stop", s.FinishReason)
		require.Equal(t, "\n", *s.Stop)
		require.Equal(t, utf8.RuneCountInString(s.Text), s.Chars)
	}
	// Repeated: the first to complete wins.
	never := "QQQQ"
	s := generateJSONRun(t, append(args, "--stop", never, "--stop", `\n`)...)[0]
	require.Equal(t, full.Text[:nl], s.Text)
	// Text mode: the seed, the text before the stop, the final newline.
	out, _, err := runCLI(t, append([]string{"generate", "--stop", `\n`}, args...)...)
	require.NoError(t, err)
	require.Equal(t, "KING:"+full.Text[:nl]+"\n", out)

	_, _, err = runCLI(t, "generate", "--model", model, "--stop", "")
	require.ErrorContains(t, err, "--stop must not be empty")
}

func TestGenerateSamples(t *testing.T) {
	model := tinyCharModel(t, t.TempDir())
	one := func(rngSeed int) string {
		out, _, err := runCLI(t, "generate", "--model", model, "--seed", "KING:", "-n", "30", "--rng-seed", strconv.Itoa(rngSeed))
		require.NoError(t, err)
		return out
	}
	all := generateJSONRun(t, "--model", model, "--seed", "KING:", "-n", "30", "--rng-seed", "10", "--samples", "3")
	require.Len(t, all, 3)
	for i, s := range all {
		require.Equal(t, strconv.Itoa(10+i), s.RNGSeed.String(), "sample i uses rng seed base+i")
		require.Equal(t, one(10+i), "KING:"+s.Text+"\n")
	}
	require.NotEqual(t, all[0].Text, all[1].Text)

	out, stderr, err := runCLI(t, "generate", "--model", model, "--seed", "KING:", "-n", "30", "--rng-seed", "10", "--samples", "2")
	require.NoError(t, err)
	require.Equal(t, one(10)+"\n"+one(11), out, "samples are separated by a blank line")
	require.Contains(t, stderr, "sample 1 of 2: --rng-seed 10")
	require.Contains(t, stderr, "sample 2 of 2: --rng-seed 11")

	// Random base seeds leave room for every sample below 2^53.
	all = generateJSONRun(t, "--model", model, "-n", "1", "--samples", "2")
	a, err := strconv.ParseUint(all[0].RNGSeed.String(), 10, 64)
	require.NoError(t, err)
	require.Equal(t, strconv.FormatUint(a+1, 10), all[1].RNGSeed.String())

	_, _, err = runCLI(t, "generate", "--model", model, "--samples", "0")
	require.ErrorContains(t, err, "--samples must be >= 1")
	_, _, err = runCLI(t, "generate", "--model", model, "--samples", "2", "--rng-seed", strconv.FormatUint(maxRNGSeed, 10))
	require.ErrorContains(t, err, "--rng-seed plus --samples-1 must be at most 2^53-1")
}

// TestGenerateJSONLogProb: --json reports the mean log-likelihood of the
// generated text at temperature 1, the same for the same text whatever the
// sampling flags, and equal to what eval charrnn measures on that text.
func TestGenerateJSONLogProb(t *testing.T) {
	dir := t.TempDir()
	model := tinyCharModel(t, dir)
	s := generateJSONRun(t, "--model", model, "--seed", "KING:", "-n", "80", "--rng-seed", "3", "--temperature", "0.5")[0]
	require.Equal(t, 80, s.Chars)
	require.NotNil(t, s.MeanLogProb)
	mlp, err := s.MeanLogProb.Float64()
	require.NoError(t, err)
	require.Less(t, mlp, 0.0)

	// eval charrnn --streams 1 scores every character after the first, so
	// the text's share of prime+seed+text is its log-likelihood.
	total := func(text string) float64 {
		path := writeFile(t, dir, "eval.txt", []byte(text))
		out, _, err := runCLI(t, "eval", "charrnn", "--model", model, "--data", path, "--streams", "1", "--json")
		require.NoError(t, err)
		var r charrnn.EvalResult
		require.NoError(t, json.Unmarshal([]byte(out), &r))
		return r.Loss * float64(r.Chars)
	}
	prefix := charrnn.DefaultPrime + "KING:"
	want := -(total(prefix+s.Text) - total(prefix)) / float64(s.Chars)
	require.InDelta(t, want, mlp, 1e-4)
}

// TestGenerateRNGSeedReplay: a seed that generate --json draws is below
// 2^53 (exact in JSON readers) and --rng-seed replays it to the same text.
func TestGenerateRNGSeedReplay(t *testing.T) {
	model := tinyCharModel(t, t.TempDir())
	for i := 0; i < 3; i++ {
		s := generateJSONRun(t, "--model", model, "--seed", "KING:", "-n", "40")[0]
		seed, err := strconv.ParseUint(s.RNGSeed.String(), 10, 64)
		require.NoError(t, err, "rng_seed %s is an integer", s.RNGSeed)
		require.LessOrEqual(t, seed, uint64(maxRNGSeed))
		again := generateJSONRun(t, "--model", model, "--seed", "KING:", "-n", "40", "--rng-seed", s.RNGSeed.String())[0]
		require.Equal(t, s.Text, again.Text)
		require.Equal(t, s.RNGSeed, again.RNGSeed)
	}
	// The largest accepted seed, one above, and a negative one.
	_, _, err := runCLI(t, "generate", "--model", model, "-n", "1", "--rng-seed", "9007199254740991")
	require.NoError(t, err)
	for _, bad := range []string{"9007199254740992", "13849914228755995828", "-1"} {
		_, _, err := runCLI(t, "generate", "--model", model, "-n", "1", "--rng-seed", bad)
		require.Error(t, err, bad)
		require.Equal(t, 2, exitStatusOf(err), bad)
	}
	_, _, err = runCLI(t, "generate", "--model", model, "-n", "1", "--rng-seed", "9007199254740992")
	require.ErrorContains(t, err, "at most 2^53-1 = 9007199254740991")
}

// exitStatusOf is the status run gives err: 2 for usage errors, else 1.
func exitStatusOf(err error) int {
	var ue usageError
	if errors.As(err, &ue) || isCobraUsageErr(err) {
		return 2
	}
	return 1
}

// TestGeneratePrimeFlag: by default the state is primed with "\n\n" (not
// printed); --prime ” gives exactly the output generate gave before priming.
func TestGeneratePrimeFlag(t *testing.T) {
	model := tinyCharModel(t, t.TempDir())
	m, err := charrnn.Load(model)
	require.NoError(t, err)
	// The old behaviour, by hand: the seed fed to a zero state, then sampling
	// at temperature 0.8 with the generator's RNG stream.
	old := func(seed string, rngSeed uint64, n int) string {
		g := m.NewGenerator()
		for _, id := range m.Tok.Encode(seed) {
			g.Feed(id)
		}
		rng := rand.New(rand.NewPCG(rngSeed, 0x67656e))
		var b strings.Builder
		b.WriteString(seed)
		for i := 0; i < n; i++ {
			id := g.Sample(rng, charrnn.SampleOptions{Temperature: 0.8})
			b.WriteString(m.Tok.Token(id))
			g.Feed(id)
		}
		return b.String() + "\n"
	}
	gen := func(args ...string) string {
		out, _, err := runCLI(t, append([]string{"generate", "--model", model, "--seed", "KING:", "-n", "60", "--rng-seed", "5"}, args...)...)
		require.NoError(t, err)
		return out
	}
	require.Equal(t, old("KING:", 5, 60), gen("--prime", ""))
	primed := gen()
	require.True(t, strings.HasPrefix(primed, "KING:"), "the prime is not printed: %q", primed)
	require.Equal(t, primed, gen("--prime", `\n\n`))
	require.Equal(t, primed, gen("--prime", "\n\n"))
	other := gen("--prime", "FOOL: a merry jest.\n\n")
	require.True(t, strings.HasPrefix(other, "KING:"))

	// The prime changes the state the sample starts from.
	score := func(args ...string) string {
		s := generateJSONRun(t, append([]string{"--model", model, "--seed", "KING:", "-n", "60", "--rng-seed", "5"}, args...)...)[0]
		return s.MeanLogProb.String()
	}
	require.NotEqual(t, score("--prime", ""), score())

	_, _, err = runCLI(t, "generate", "--model", model, "--prime", "Ω")
	require.ErrorContains(t, err, "prime character")
	_, _, err = runCLI(t, "generate", "--model", model, "--prime", "Ω", "--skip-unknown", "-n", "5")
	require.NoError(t, err)
}

func TestGenerateUnescapeFlag(t *testing.T) {
	for in, want := range map[string]string{
		"":          "",
		`\n\n`:      "\n\n",
		"\n":        "\n",
		`a\tb`:      "a\tb",
		`\\n`:       `\n`,
		`C:\path\x`: `C:\path\x`,
		`end\`:      `end\`,
		`¿\n?`:      "¿\n?",
	} {
		require.Equal(t, want, unescapeFlag(in), "%q", in)
	}
}

// TestGenerateSignalHelperProcess is the child of TestGenerateSignalExit:
// it runs the CLI as main does, with the arguments given in the environment.
func TestGenerateSignalHelperProcess(t *testing.T) {
	args := os.Getenv("RNNKIT_TEST_GENERATE_ARGS")
	if args == "" {
		t.Skip("helper process for TestGenerateSignalExit")
	}
	os.Exit(run(strings.Split(args, "\x1f")))
}

// TestGenerateSignalExit: Ctrl-C (SIGINT) during generate exits with status
// 130 and SIGTERM with 143, after printing what was generated.
func TestGenerateSignalExit(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT/SIGTERM to send on Windows")
	}
	model := tinyCharModel(t, t.TempDir())
	for _, tc := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestGenerateSignalHelperProcess$")
			cmd.Env = append(os.Environ(), "RNNKIT_TEST_GENERATE_ARGS="+strings.Join([]string{
				"generate", "--model", model, "--seed", "KING:", "-n", "100000000", "--rng-seed", "1"}, "\x1f"))
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			killer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
			defer killer.Stop()
			r := bufio.NewReader(stdout)
			first, err := r.ReadString('\n') // generation is under way
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(first, "KING:"), first)
			require.NoError(t, cmd.Process.Signal(tc.sig))
			_, err = io.Copy(io.Discard, r)
			require.NoError(t, err)
			err = cmd.Wait()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "stderr: %s", stderr.String())
			require.Equal(t, tc.want, ee.ExitCode(), "stderr: %s", stderr.String())
			require.Empty(t, stderr.String())
		})
	}
}

func TestEvalCharRNNModes(t *testing.T) {
	dir := t.TempDir()
	model := tinyCharModel(t, dir)
	text := tinyText()
	data := writeFile(t, dir, "text.txt", []byte(text))
	m, err := charrnn.Load(model)
	require.NoError(t, err)
	eval := func(args ...string) charrnn.EvalResult {
		out, _, err := runCLI(t, append([]string{"eval", "charrnn", "--model", model, "--data", data, "--json"}, args...)...)
		require.NoError(t, err)
		var r charrnn.EvalResult
		require.NoError(t, json.Unmarshal([]byte(out), &r))
		return r
	}
	n := utf8.RuneCountInString(text)

	// The default is unchanged: the library's Evaluate, 16 streams here.
	def := eval()
	want, err := m.Evaluate(text)
	require.NoError(t, err)
	require.Equal(t, want, def)
	require.Equal(t, 16, def.Streams)
	require.Equal(t, 256, def.Window)
	require.False(t, def.Stateless)
	require.Equal(t, 16*((n-1)/16), def.Chars)

	one := eval("--streams", "1")
	require.Equal(t, 1, one.Streams)
	require.Equal(t, n-1, one.Chars, "one stream scores every character after the first")
	require.NotEqual(t, def.Loss, one.Loss)

	st := eval("--streams", "1", "--window", "64", "--stateless")
	require.True(t, st.Stateless)
	require.Equal(t, 64, st.Window)
	want, err = m.EvaluateWith(text, charrnn.EvalOptions{Streams: 1, Window: 64, Stateless: true})
	require.NoError(t, err)
	require.Equal(t, want, st)

	out, _, err := runCLI(t, "eval", "charrnn", "--model", model, "--data", data, "--streams", "1")
	require.NoError(t, err)
	require.Contains(t, out, "(1 stream, state carried across the 256-char windows)")

	for _, bad := range [][]string{{"--streams", "0"}, {"--window", "0"}, {"--streams", "-2"}} {
		_, _, err := runCLI(t, append([]string{"eval", "charrnn", "--model", model, "--data", data}, bad...)...)
		require.ErrorContains(t, err, "must be at least 1")
	}
}
