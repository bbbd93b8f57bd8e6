package main

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/require"
)

// tinyText is a small corpus the test writes itself.
func tinyText() string {
	lines := []string{"KING: the crown is heavy.\n", "QUEEN: ¿dónde está el rey?\n", "FOOL: a merry jest, my lord.\n"}
	var b strings.Builder
	for i := 0; b.Len() < 5000; i++ {
		b.WriteString(lines[(i*7)%3])
	}
	return b.String()
}

// tinyCharModel writes an untrained (initialized) charrnn model for CLI tests.
func tinyCharModel(t *testing.T, dir string) string {
	t.Helper()
	tok, err := tokenize.TrainRune(strings.NewReader(tinyText()), tokenize.RuneOptions{})
	require.NoError(t, err)
	m, err := charrnn.New(charrnn.Config{Cell: rnn.GRU, Embedding: 8, Hidden: 16, Layers: 1}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 1)))
	path := filepath.Join(dir, "tiny.safetensors")
	require.NoError(t, m.Save(path, rnn.F32))
	return path
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func TestTrainGenerateEvalCharRNN(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "text.txt", []byte(tinyText()))
	out := filepath.Join(dir, "m.safetensors")
	plot := filepath.Join(dir, "loss.png")
	_, stderr, err := runCLI(t, "train", "charrnn", "--data", data, "--out", out, "--hidden", "24", "--layers", "1",
		"--embedding", "8", "--seq-len", "16", "--batch", "4", "--epochs", "2", "--eval-every", "20", "--plot", plot, "--dtype", "f16")
	require.NoError(t, err, stderr)
	require.Contains(t, stderr, "best validation loss")
	for _, p := range []string{out, plot} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(100))
	}

	stdout, _, err := runCLI(t, "generate", "--model", out, "--seed", "KING:", "-n", "40", "--rng-seed", "3")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(stdout, "KING:"))
	require.Equal(t, len([]rune("KING:"))+40+1, len([]rune(stdout)), "seed + 40 characters + newline")
	again, _, _ := runCLI(t, "generate", "--model", out, "--seed", "KING:", "-n", "40", "--rng-seed", "3")
	require.Equal(t, stdout, again, "--rng-seed makes output reproducible")

	stdout, _, err = runCLI(t, "eval", "charrnn", "--model", out, "--data", data, "--json")
	require.NoError(t, err)
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &r))
	for _, k := range []string{"loss", "bits_per_char", "perplexity", "chars", "streams", "window", "stateless"} {
		require.Contains(t, r, k)
	}
	require.Greater(t, r["chars"], 4000.0)
	require.Equal(t, false, r["stateless"])
}

// TestTrainingProgressWithoutTerminal checks the plain progress lines that a
// training run writes when stderr is a file (nohup, CI), here every step.
func TestTrainingProgressWithoutTerminal(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 0
	dir := t.TempDir()
	data := writeFile(t, dir, "text.txt", []byte(tinyText()))
	_, stderr, err := runCLI(t, "train", "charrnn", "--data", data, "--out", filepath.Join(dir, "m.safetensors"),
		"--hidden", "8", "--layers", "1", "--embedding", "4", "--seq-len", "8", "--batch", "2", "--epochs", "1")
	require.NoError(t, err, stderr)
	require.Regexp(t, `step \d+/\d+ \(\d+\.\d%\), .*elapsed .*, about .* left`, stderr)
}

// TestCharRNNBadInput covers the bad-input cases of issue 9 for the charrnn
// commands: each gives one error naming the file and the problem, no panic.
func TestCharRNNBadInput(t *testing.T) {
	dir := t.TempDir()
	model := tinyCharModel(t, dir)
	good, err := os.ReadFile(model)
	require.NoError(t, err)

	// A model of the wrong kind, a newer format version, a truncated file.
	wrongKind := filepath.Join(dir, "wrong.safetensors")
	require.NoError(t, rnn.SaveModel(wrongKind, rnn.ModelInfo{Kind: "sentiment", Config: []byte(`{}`)}, rnn.NewParams(), rnn.F32))
	newer := writeFile(t, dir, "newer.safetensors", bumpVersion(t, good))
	truncated := writeFile(t, dir, "trunc.safetensors", good[:len(good)/2])
	// The last four bytes of the file are weight data: 0xffffff7f is a NaN
	// as one float32 and as two float16s.
	nanWeights := writeFile(t, dir, "nan.safetensors", append(append([]byte(nil), good[:len(good)-4]...), 0xff, 0xff, 0xff, 0x7f))

	empty := writeFile(t, dir, "empty.txt", nil)
	binaryFile := writeFile(t, dir, "bin.txt", []byte("abc\x00\x01\x02def"))
	badUTF8 := writeFile(t, dir, "bad.txt", []byte("line one\nline \xff two\n"))

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"wrong kind", []string{"generate", "--model", wrongKind}, `"sentiment" model`},
		{"newer version", []string{"generate", "--model", newer}, "upgrade rnnkit"},
		{"truncated", []string{"generate", "--model", truncated}, "trunc.safetensors"},
		{"NaN weights", []string{"generate", "--model", nanWeights}, "nan.safetensors: the weights hold NaN or Inf values; the file is damaged"},
		{"missing model", []string{"generate", "--model", filepath.Join(dir, "nope.safetensors")}, "no such file"},
		{"empty data", []string{"eval", "charrnn", "--model", model, "--data", empty}, "empty.txt: file is empty"},
		{"binary data", []string{"eval", "charrnn", "--model", model, "--data", binaryFile}, "bin.txt: binary file"},
		{"invalid utf-8", []string{"eval", "charrnn", "--model", model, "--data", badUTF8}, "bad.txt:2: invalid UTF-8"},
		{"missing data", []string{"train", "charrnn", "--data", filepath.Join(dir, "none.txt"), "--out", filepath.Join(dir, "o.safetensors")}, "none.txt"},
		{"unknown seed char", []string{"generate", "--model", model, "--seed", "Ω"}, "--skip-unknown"},
		{"bad temperature", []string{"generate", "--model", model, "--temperature", "-1"}, "--temperature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, tc.args...)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "goroutine", "no stack traces")
		})
	}
	// Usage errors exit with 2, failures with 1.
	require.Equal(t, 2, run([]string{"generate", "--model", model, "--temperature", "-1"}))
	require.Equal(t, 1, run([]string{"generate", "--model", truncated}))
	require.Equal(t, 2, run([]string{"no-such-command"}))
}

// bumpVersion rewrites the format_version in a model file's header to 99,
// keeping the header length (the version string has the same width).
func bumpVersion(t *testing.T, data []byte) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(data[:8])
	header := string(data[8 : 8+n])
	require.Contains(t, header, `"format_version":"1"`)
	out := append([]byte(nil), data...)
	copy(out[8:8+n], strings.Replace(header, `"format_version":"1"`, `"format_version":"9"`, 1))
	return out
}

// FuzzGenerateSeed feeds arbitrary seed text through the generate path: it
// may fail with an error but must never panic.
func FuzzGenerateSeed(f *testing.F) {
	tok, _ := tokenize.TrainRune(strings.NewReader(tinyText()), tokenize.RuneOptions{})
	m, _ := charrnn.New(charrnn.Config{Cell: rnn.LSTM, Embedding: 4, Hidden: 8, Layers: 1}, tok)
	m.Init(rand.New(rand.NewPCG(1, 1)))
	for _, s := range []string{"", "KING:", "Ω", "a\xffb", "\x00", "¿dónde?", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed string) {
		_ = m.Generate(t.Context(), seed, charrnn.SampleOptions{N: 3, Seed: 1}, func(string) error { return nil })
		_ = m.Generate(t.Context(), seed, charrnn.SampleOptions{N: 3, Seed: 1, SkipUnknown: true, TopK: 2, TopP: 0.5}, func(string) error { return nil })
	})
}

// TestEmbeddedDefaultGenerates runs the README's first command in-process.
func TestEmbeddedDefaultGenerates(t *testing.T) {
	out, _, err := runCLI(t, "generate", "--seed", "ROMEO:", "-n", "60", "--rng-seed", "1")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "ROMEO:"), out)
	require.Equal(t, len("ROMEO:")+60+1, len([]rune(out)))
	out, _, err = runCLI(t, "models", "--json")
	require.NoError(t, err)
	require.Contains(t, out, `"kind":"charrnn"`)
}

// TestCharRNNResumeChecks: a finished run leaves a checkpoint at its last
// step (not a multiple of --eval-every) from which a larger --epochs trains
// on; --log appends one record per evaluation across the resume and the
// checkpoint keeps the whole curve; a resume with another --hidden or on
// other text is refused with a message naming it.
func TestCharRNNResumeChecks(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "text.txt", []byte(tinyText()))
	out := filepath.Join(dir, "m.safetensors")
	ck := out + ".ckpt"
	logPath := filepath.Join(dir, "train.jsonl")
	args := []string{"train", "charrnn", "--data", data, "--out", out, "--hidden", "8", "--layers", "1", "--embedding", "4",
		"--seq-len", "16", "--batch", "4", "--eval-every", "20", "--log", logPath}
	_, stderr, err := runCLI(t, append(args, "--epochs", "1")...)
	require.NoError(t, err, stderr)
	_, meta, err := rnn.ReadHeader(ck)
	require.NoError(t, err)
	steps1 := meta["train.step"]
	require.Equal(t, "67", steps1, "the checkpoint is at the last step")
	require.Len(t, strings.Split(strings.TrimSpace(meta[rnn.MetaHistory]), "},{"), 4, "evaluations at 20, 40, 60 and the end")
	require.NotEmpty(t, meta["data_sha256"])
	require.Contains(t, meta["train_options"], `"hidden":"8"`)
	js, _, err := runCLI(t, "inspect", "--json", ck)
	require.NoError(t, err)
	var r inspectReport
	require.NoError(t, json.Unmarshal([]byte(js), &r))
	require.Equal(t, &checkpointBrief{Step: "67", BestStep: r.Checkpoint.BestStep, Best: r.Checkpoint.Best, History: 4}, r.Checkpoint)
	require.Contains(t, r.Checkpoint.Best, "val_loss")
	names := map[string]bool{}
	for _, ti := range r.Tensors {
		names[ti.Name] = true
	}
	require.True(t, names["optim.exp_avg"] && names["rnn.weight_hh_l0"])

	// Refused: another --hidden, another --cell, other text.
	_, _, err = runCLI(t, append(args, "--epochs", "2", "--resume", ck, "--hidden", "16")...)
	require.ErrorContains(t, err, "--hidden 16 differs from the checkpoint's 8")
	require.Equal(t, 2, run(append(args, "--epochs", "2", "--resume", ck, "--cell", "gru")))
	other := writeFile(t, dir, "other.txt", []byte(strings.ToUpper(tinyText())))
	_, _, err = runCLI(t, "train", "charrnn", "--data", other, "--out", out, "--resume", ck, "--epochs", "2")
	require.ErrorContains(t, err, "the training data differs from the checkpoint's run")
	_, _, err = runCLI(t, "train", "charrnn", "--data", data, "--out", out, "--resume", ck, "--epochs", "2", "--val-frac", "0.2")
	require.ErrorContains(t, err, "the checkpoint's run had --val-frac 0.1 (now 0.2)")

	// Allowed: the same flags (--hidden 8 repeated, or left out) and more epochs.
	_, stderr, err = runCLI(t, append(args, "--epochs", "2", "--resume", ck, "--plot", filepath.Join(dir, "loss.png"))...)
	require.NoError(t, err, stderr)
	_, meta, err = rnn.ReadHeader(ck)
	require.NoError(t, err)
	require.Equal(t, "134", meta["train.step"])
	require.Len(t, strings.Split(meta[rnn.MetaHistory], "},{"), 8, "the history of both processes")

	logData, err := os.ReadFile(logPath)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(logData)), "\n")
	require.Len(t, lines, 8, "4 evaluations per process, appended")
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[4]), &rec))
	for _, k := range []string{"step", "steps", "epoch", "train_loss", "val_loss", "best_val_loss", "lr", "elapsed_s", "time"} {
		require.Contains(t, rec, k)
	}
	require.Equal(t, 80.0, rec["step"])
	require.Equal(t, 134.0, rec["steps"])
}
