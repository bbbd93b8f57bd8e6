package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLIStdin runs the CLI in-process with stdin.
func runCLIStdin(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := NewRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	_, err = root.ExecuteContextC(context.Background())
	return out.String(), errb.String(), err
}

// writeToyPairs writes an invented parallel corpus: the target is the
// source reversed, in capitals, with a final period.
func writeToyPairs(t *testing.T, dir string, n int, seed uint64) string {
	t.Helper()
	words := strings.Fields("ka lo mi nu pe ra")
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for i := 0; i < n; i++ {
		var s, tt []string
		for j := 0; j < 2+r.IntN(3); j++ {
			s = append(s, words[r.IntN(len(words))])
		}
		for j := len(s) - 1; j >= 0; j-- {
			tt = append(tt, strings.ToUpper(s[j]))
		}
		fmt.Fprintf(&b, "%s\t%s.\n", strings.Join(s, " "), strings.Join(tt, " "))
	}
	path := filepath.Join(dir, fmt.Sprintf("pairs-%d.tsv", seed))
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// trainedToy trains a tiny model in a temporary directory.
func trainedToy(t *testing.T) (model, dir string) {
	t.Helper()
	dir = t.TempDir()
	data := writeToyPairs(t, dir, 1500, 1)
	model = filepath.Join(dir, "toy.safetensors")
	_, _, err := runCLI(t, "train", "seq2seq", "--data", data, "--out", model, "--tokenizer", "word",
		"--embedding", "16", "--enc-hidden", "32", "--dec-hidden", "32", "--epochs", "5", "--batch", "32",
		"--lr", "1e-2", "--warmup", "20", "--val-frac", "0.1", "--dropout", "0", "-q",
		"--val-out", filepath.Join(dir, "val.tsv"), "--plot", filepath.Join(dir, "curve.png"),
		"--license", "test", "--attribution", "invented")
	require.NoError(t, err)
	return model, dir
}

func TestSeq2seqTrainTranslateEval(t *testing.T) {
	model, dir := trainedToy(t)
	assert.FileExists(t, filepath.Join(dir, "curve.png"))
	assert.FileExists(t, model+".ckpt")

	out, _, err := runCLI(t, "translate", "--model", model, "ka lo mi", "pe nu")
	require.NoError(t, err)
	assert.Equal(t, "MI LO KA.\nNU PE.\n", out)

	// stdin: one translation per line, in order, blank lines kept
	out, _, err = runCLIStdin(t, "ka lo mi\n\npe nu\n", "translate", "--model", model, "--beam", "3")
	require.NoError(t, err)
	assert.Equal(t, "MI LO KA.\n\nNU PE.\n", out)

	png := filepath.Join(dir, "attn.png")
	out, _, err = runCLI(t, "translate", "--model", model, "--json", "--attention", png, "ka lo mi")
	require.NoError(t, err)
	var tr struct {
		Translation string      `json:"translation"`
		Source      []string    `json:"source_tokens"`
		Target      []string    `json:"target_tokens"`
		Attention   [][]float64 `json:"attention"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &tr))
	assert.Equal(t, "MI LO KA.", tr.Translation)
	assert.Len(t, tr.Attention, len(tr.Target))
	assert.Len(t, tr.Attention[0], len(tr.Source))
	// reversal: the first target word looks at the last source word
	assert.Greater(t, tr.Attention[0][2], tr.Attention[0][0])
	assert.FileExists(t, png)

	out, _, err = runCLI(t, "eval", "seq2seq", "--model", model, "--data", filepath.Join(dir, "val.tsv"))
	require.NoError(t, err)
	assert.Contains(t, out, "BLEU|nrefs:")
	assert.Contains(t, out, "tok:13a|smooth:exp|version:")
	assert.Contains(t, out, "chrF2|nrefs:")

	out, _, err = runCLI(t, "eval", "seq2seq", "--model", model, "--data", filepath.Join(dir, "val.tsv"), "--json", "--beam", "2")
	require.NoError(t, err)
	var ev struct {
		BLEU struct{ Score float64 } `json:"bleu"`
		ChrF struct{ Score float64 } `json:"chrf2"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &ev))
	assert.Greater(t, ev.BLEU.Score, 80.0)
	assert.Greater(t, ev.ChrF.Score, 80.0)

	// --score: another system's output, one line per pair; the targets themselves score 100
	valData, err := os.ReadFile(filepath.Join(dir, "val.tsv"))
	require.NoError(t, err)
	var hyps strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(valData)), "\n") {
		hyps.WriteString(strings.Split(l, "\t")[1] + "\n")
	}
	scored := filepath.Join(dir, "hyps.txt")
	require.NoError(t, os.WriteFile(scored, []byte(hyps.String()), 0o644))
	out, _, err = runCLI(t, "eval", "seq2seq", "--data", filepath.Join(dir, "val.tsv"), "--score", scored)
	require.NoError(t, err)
	assert.Contains(t, out, "= 100.00")
	require.NoError(t, os.WriteFile(scored, []byte("one line\n"), 0o644))
	_, _, err = runCLI(t, "eval", "seq2seq", "--data", filepath.Join(dir, "val.tsv"), "--score", scored)
	assert.ErrorContains(t, err, "one translation per pair")
}

func TestSeq2seqResume(t *testing.T) {
	dir := t.TempDir()
	data := writeToyPairs(t, dir, 300, 2)
	out := filepath.Join(dir, "m.safetensors")
	args := []string{"train", "seq2seq", "--data", data, "--out", out, "--tokenizer", "word", "--embedding", "8",
		"--enc-hidden", "8", "--dec-hidden", "8", "--epochs", "2", "--batch", "16", "--eval-every", "10", "-q"}
	_, _, err := runCLI(t, args...)
	require.NoError(t, err)
	_, _, err = runCLI(t, append(args, "--resume", out+".ckpt")...)
	require.NoError(t, err)
	_, _, err = runCLI(t, append(args, "--reverse", "--out", filepath.Join(dir, "r.safetensors"))...)
	require.NoError(t, err)
}

func TestSeq2seqBadInput(t *testing.T) {
	model, dir := trainedToy(t)
	cases := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"empty stdin", "", nil, "empty input"},
		{"huge line", "ka lo\n" + strings.Repeat("ka ", 40000) + "\n", nil, "stdin:2: line longer than"},
		{"bad arg", "", []string{"bad \xff"}, "not valid UTF-8"},
		{"bad beam", "", []string{"--beam", "0", "ka"}, "--beam"},
		{"missing model", "", []string{"--model", filepath.Join(dir, "nope.safetensors"), "ka"}, "nope.safetensors"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"translate"}, tc.args...)
			if !strings.Contains(strings.Join(tc.args, " "), "--model") {
				args = append(args[:1], append([]string{"--model", model}, args[1:]...)...)
			}
			_, _, err := runCLIStdin(t, tc.stdin, args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "goroutine")
		})
	}
	// A bad stdin line is reported with its number and keeps its place in
	// the output; the other lines are translated and the exit status is 1.
	lines := []struct{ name, bad, want string }{
		{"invalid utf8", "mi \xff nu", "stdin:3: invalid UTF-8"},
		{"binary", "ka\x00lo", "stdin:3: NUL byte"},
		{"long sentence", strings.Repeat("ka ", 3000), "stdin:3: sentence too long"},
	}
	for _, tc := range lines {
		t.Run(tc.name, func(t *testing.T) {
			var in strings.Builder
			for i := range 300 {
				if i == 2 {
					in.WriteString(tc.bad + "\n")
				} else {
					in.WriteString("ka lo\n")
				}
			}
			out, stderr, err := runCLIStdin(t, in.String(), "translate", "--model", model, "--beam", "1")
			var ee exitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, 1, ee.code)
			assert.Contains(t, stderr, tc.want)
			assert.Contains(t, stderr, "1 of 300 lines could not be translated")
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			require.Len(t, got, 300)
			assert.Equal(t, "", got[2])
			assert.NotEqual(t, "", got[1])
			assert.Equal(t, got[1], got[299])

			out, _, err = runCLIStdin(t, in.String(), "translate", "--model", model, "--beam", "1", "--json")
			require.Error(t, err)
			got = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			require.Len(t, got, 300)
			var obj struct {
				Line  int    `json:"line"`
				Error string `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(got[2]), &obj))
			assert.Equal(t, 3, obj.Line)
			assert.NotEmpty(t, obj.Error)
		})
	}

	// a model of another kind, a truncated model, an empty or malformed pairs file
	trunc := filepath.Join(dir, "trunc.safetensors")
	b, _ := os.ReadFile(model)
	require.NoError(t, os.WriteFile(trunc, b[:len(b)/2], 0o644))
	_, _, err := runCLI(t, "translate", "--model", trunc, "ka")
	require.Error(t, err)
	empty := filepath.Join(dir, "empty.tsv")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, _, err = runCLI(t, "eval", "seq2seq", "--model", model, "--data", empty)
	require.ErrorContains(t, err, "empty")
	_, _, err = runCLI(t, "train", "seq2seq", "--data", empty, "--out", filepath.Join(dir, "x.safetensors"))
	require.ErrorContains(t, err, "empty")
	bad := filepath.Join(dir, "bad.tsv")
	require.NoError(t, os.WriteFile(bad, []byte("ka\tKA\nno tab here\n"), 0o644))
	_, _, err = runCLI(t, "eval", "seq2seq", "--model", model, "--data", bad)
	require.ErrorContains(t, err, "2")
	_, _, err = runCLI(t, "train", "seq2seq", "--data", filepath.Join(dir, "missing.tsv"), "--out", filepath.Join(dir, "x.safetensors"))
	require.Error(t, err)
	// a model of another kind
	other := filepath.Join(dir, "other.safetensors")
	ps := rnn.NewParams()
	ps.Add("w", 2)
	require.NoError(t, rnn.SaveModel(other, rnn.ModelInfo{Kind: "charrnn", Config: []byte("{}")}, ps, rnn.F32))
	_, _, err = runCLI(t, "translate", "--model", other, "ka")
	require.ErrorContains(t, err, "charrnn")
}

// TestDefaultTranslator checks the embedded en->es model (when this build
// has one): Spanish punctuation and accents come out right, stdin works, and
// its metadata carries the licence, attribution and measured quality.
func TestDefaultTranslator(t *testing.T) {
	if _, _, err := defaultModel("seq2seq"); err != nil {
		t.Skip("no embedded seq2seq model in this build")
	}
	out, _, err := runCLI(t, "translate", "Where is the old blue bridge?")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out, "¿Dónde") && strings.HasSuffix(out, "?\n"), "got %q", out)
	out, _, err = runCLI(t, "translate", "I would like a cup of coffee, please.")
	require.NoError(t, err)
	assert.Contains(t, out, "una taza de café, por favor.")
	out, _, err = runCLIStdin(t, "I like cats.\nThank you very much.\n", "translate", "--beam", "4")
	require.NoError(t, err)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 2)
	m, err := loadSeq2seq("")
	require.NoError(t, err)
	for _, k := range []string{"trained_on", "license", "attribution", "quality.val_bleu", "quality.val_chrf2"} {
		assert.NotEmpty(t, m.Meta[k], k)
	}
}

func TestTranslateNBestAndLanguages(t *testing.T) {
	model, _ := trainedToy(t)
	out, _, err := runCLI(t, "translate", "--model", model, "--nbest", "3", "ka lo", "mi")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.NotEmpty(t, lines)
	for _, l := range lines {
		f := strings.Split(l, " ||| ")
		require.Len(t, f, 3, "Moses n-best format: %q", l)
		assert.Contains(t, []string{"0", "1"}, f[0])
		assert.Len(t, strings.Fields(f[2]), 2, "log_prob and score")
	}
	best, _, err := runCLI(t, "translate", "--model", model, "ka lo")
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(best), strings.Split(lines[0], " ||| ")[1], "the first of the n-best list is the translation")

	out, _, err = runCLI(t, "translate", "--model", model, "--json", "--nbest", "2", "ka lo")
	require.NoError(t, err)
	var tr struct {
		Translation string `json:"translation"`
		NBest       []struct {
			Translation string  `json:"translation"`
			LogProb     float64 `json:"log_prob"`
			Score       float64 `json:"score"`
		} `json:"nbest"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &tr))
	require.NotEmpty(t, tr.NBest)
	assert.Equal(t, tr.Translation, tr.NBest[0].Translation)

	for _, args := range [][]string{
		{"--from", "fr", "Bonjour"},
		{"--from", "en", "--to", "en", "Hello"},
		{"--model", model, "--from", "es", "ka"},
		{"--nbest", "0", "ka"},
	} {
		_, _, err := runCLI(t, append([]string{"translate"}, args...)...)
		var ue usageError
		assert.ErrorAs(t, err, &ue, "%v", args)
	}
}

func TestSeq2seqInitAndSegments(t *testing.T) {
	dir := t.TempDir()
	data := writeToyPairs(t, dir, 300, 3)
	// pairs of two sentences, and pairs that address someone: shorter pairs inside
	f, err := os.OpenFile(data, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	for i := range 40 {
		fmt.Fprintf(f, "ka lo. Mi nu %d.\tLO KA. NU MI %d.\n", i, i)
		fmt.Fprintf(f, "pe ra %d, Tom.\tRA PE %d, Tom.\n", i, i)
	}
	require.NoError(t, f.Close())
	base := filepath.Join(dir, "base.safetensors")
	args := []string{"train", "seq2seq", "--data", data, "--tokenizer", "word", "--embedding", "8",
		"--enc-hidden", "8", "--dec-hidden", "8", "--epochs", "1", "--batch", "16", "--eval-every", "10"}
	_, stderr, err := runCLI(t, append(args, "--out", base)...)
	require.NoError(t, err)
	assert.Regexp(t, `added [1-9]\d* shorter pairs found inside training pairs`, stderr)

	// a checkpoint of a run without the segments does not resume with them, and says why
	noseg := filepath.Join(dir, "noseg.safetensors")
	_, _, err = runCLI(t, append(args, "--out", noseg, "--augment-segments=false", "-q")...)
	require.NoError(t, err)
	_, _, err = runCLI(t, append(args, "--out", noseg, "--resume", noseg+".ckpt", "-q")...)
	assert.ErrorContains(t, err, "--augment-segments false (now true)")

	// --init: the model's shape, tokenizers and metadata, a new run's weights
	ft := filepath.Join(dir, "ft.safetensors")
	initArgs := []string{"train", "seq2seq", "--data", data, "--init", base, "--out", ft, "--epochs", "1",
		"--batch", "16", "--eval-every", "10", "--lr", "1e-3", "-q"}
	_, _, err = runCLI(t, initArgs...)
	require.NoError(t, err)
	_, bm, err := rnn.ReadHeader(base)
	require.NoError(t, err)
	_, fm, err := rnn.ReadHeader(ft)
	require.NoError(t, err)
	assert.Equal(t, bm[rnn.MetaConfig], fm[rnn.MetaConfig])
	assert.Equal(t, base, fm["init"])
	bmod, err := seq2seq.Load(base)
	require.NoError(t, err)
	fmod, err := seq2seq.Load(ft)
	require.NoError(t, err)
	assert.Equal(t, bmod.Src.VocabSize(), fmod.Src.VocabSize())
	assert.NotEqual(t, bmod.Params.Tensors(), fmod.Params.Tensors(), "fine-tuning changed the weights")
	// and it resumes from its checkpoint with the same command
	_, _, err = runCLI(t, append(initArgs, "--resume", ft+".ckpt", "--epochs", "1.5")...)
	require.NoError(t, err)

	_, _, err = runCLI(t, append(initArgs, "--embedding", "16")...)
	assert.ErrorContains(t, err, "--embedding shapes the model")
	// both are refused before the data are read (this data file is not there)
	noData := filepath.Join(dir, "no-data.tsv")
	_, _, err = runCLI(t, "train", "seq2seq", "--data", noData, "--init", base, "--dropout", "0.1", "--out", ft, "-q")
	assert.ErrorContains(t, err, "--dropout shapes the model")
	_, _, err = runCLI(t, "train", "seq2seq", "--data", noData, "--init", filepath.Join(dir, "missing.safetensors"), "--out", ft, "-q")
	assert.ErrorContains(t, err, "--init")
	assert.ErrorContains(t, err, "missing.safetensors")
}

func TestTranslateEnsemble(t *testing.T) {
	model, dir := trainedToy(t)
	// a model decoded with itself translates as it does alone
	alone, _, err := runCLI(t, "translate", "--model", model, "ka lo mi", "pe nu")
	require.NoError(t, err)
	both, _, err := runCLI(t, "translate", "--model", model, "--ensemble", model, "ka lo mi", "pe nu")
	require.NoError(t, err)
	assert.Equal(t, alone, both)
	out, _, err := runCLI(t, "eval", "seq2seq", "--model", model, "--ensemble", model, "--data", filepath.Join(dir, "val.tsv"))
	require.NoError(t, err)
	assert.Contains(t, out, "BLEU|nrefs:")

	_, _, err = runCLI(t, "translate", "--model", model, "--ensemble", filepath.Join(dir, "missing.safetensors"), "ka")
	assert.ErrorContains(t, err, "--ensemble")
	_, _, err = runCLI(t, "translate", "--ensemble", model, "ka")
	assert.ErrorContains(t, err, "same source tokenizer", "the toy's tokenizers are not the default's")
	_, _, err = runCLI(t, "translate", "--from", "auto", "--ensemble", model, "ka")
	assert.ErrorContains(t, err, "--ensemble needs one direction")
}

// rnnkit translate's flag defaults are seq2seq.DefaultTranslateOptions,
// which rnnkit serve decodes with: the two give the same translations.
func TestTranslateDefaultsAreTheLibrarys(t *testing.T) {
	c := newTranslateCmd(&globalOptions{})
	d := seq2seq.DefaultTranslateOptions()
	for flag, want := range map[string]string{
		"beam": fmt.Sprint(d.Beam), "length-penalty": fmt.Sprint(d.LengthPenalty), "max-len-ratio": fmt.Sprint(d.MaxLenRatio),
		"batch": fmt.Sprint(d.Batch), "nbest": fmt.Sprint(d.NBest), "lexicon-penalty": fmt.Sprint(d.LexiconPenalty),
		"name-penalty": fmt.Sprint(d.NamePenalty), "copy-names": fmt.Sprint(d.CopyNames), "back-weight": fmt.Sprint(d.BackWeight),
		"sentences": fmt.Sprint(d.SplitSentences),
	} {
		f := c.Flags().Lookup(flag)
		require.NotNil(t, f, flag)
		assert.Equal(t, want, f.DefValue, flag)
	}
}
