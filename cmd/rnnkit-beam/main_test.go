package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/rnnkit/rnnkit/tokenize"
)

// rnnkitBin is the rnnkit command, built from the root module by TestMain
// (or $RNNKIT_BIN): the pipelines' output is compared with its own.
var rnnkitBin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		rnnkitBin = os.Getenv("RNNKIT_BIN")
		if rnnkitBin == "" {
			dir, err := os.MkdirTemp("", "rnnkit-beam-test-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			rnnkitBin = filepath.Join(dir, "rnnkit")
			cmd := exec.Command("go", "build", "-o", rnnkitBin, "./cmd/rnnkit")
			cmd.Dir = filepath.Join("..", "..")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "building rnnkit: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}())
}

// cli runs the rnnkit command; the exit status is not checked (1 when a
// record failed), only that it ran.
func cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(rnnkitBin, append([]string{"-q", "--threads", "1"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok || cmd.ProcessState.ExitCode() != 1 {
			t.Fatalf("rnnkit %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
	}
	return out.String()
}

// beamRun runs one rnnkit-beam command line on Prism in loopback mode.
func beamRun(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("rnnkit-beam %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return errb.String()
}

// shards reads the shards of prefix: their lines, in shard order, and the
// number of shard files.
func shards(t *testing.T, prefix string) (lines []string, files int) {
	t.Helper()
	names, err := filepath.Glob(prefix + "-[0-9]*-of-*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines, len(names)
}

// shardBytes is the concatenated content of every shard of prefix.
func shardBytes(t *testing.T, prefix string) string {
	t.Helper()
	names, _ := filepath.Glob(prefix + "-[0-9]*-of-*.jsonl")
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		d, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "== %s\n%s", filepath.Base(n), d)
	}
	return b.String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func assertSameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = sorted(got), sorted(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d lines, want %d", what, len(got), len(want))
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("first difference:\n got %s\nwant %s", g, w)
				break
			}
		}
	}
}

// ---- tiny models, built and saved by the library ----

var reviews = []string{
	"A wonderful, moving film. The cast is superb and the ending made me cry.",
	"Terrible. Boring plot, wooden acting, and it never ends.<br /><br />Avoid it.",
	"It was okay, I guess; some scenes worked, others didn't.",
	"Not bad at all!!! I'd watch it again :)",
	"zxqv blorft unknownwordhere ¿qué? ÉLAN naïve café",
	"The first half drags, and then nothing happens, but the finale is brilliant.",
	"Great.",
	"Dull, predictable & far too long <3",
}

func sentimentModel(t *testing.T, dir string) string {
	t.Helper()
	tok, err := tokenize.TrainWord(strings.NewReader(strings.Join(reviews, "\n")), tokenize.WordOptions{Lowercase: true, SplitPunct: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sentiment.Config{Cell: rnn.GRU, Embedding: 8, Hidden: 6, Bidirectional: true, Pooling: "max+mean",
		Labels: []string{"negative", "neutral", "positive"}, MaxLen: 12}
	m, err := sentiment.New(cfg, tok)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(1, 2)))
	path := filepath.Join(dir, "sentiment.safetensors")
	if err := m.Save(path, rnn.F32); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	english = []string{"I like to read books.", "Where is the train station?", "The children are playing in the garden.",
		"Tom doesn't know what Mary wants.", "I have two brothers and a sister.", "She is reading a book, isn't she?"}
	spanish = []string{"Me gusta leer libros.", "¿Dónde está la estación de tren?", "Los niños están jugando en el jardín.",
		"Tom no sabe lo que quiere María.", "Tengo dos hermanos y una hermana.", "Ella está leyendo un libro, ¿verdad?"}
)

func seq2seqModel(t *testing.T, dir string) string {
	t.Helper()
	src, err := tokenize.TrainWord(strings.NewReader(strings.Join(english, "\n")), tokenize.WordOptions{SplitPunct: true})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := tokenize.TrainWord(strings.NewReader(strings.Join(spanish, "\n")), tokenize.WordOptions{SplitPunct: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := seq2seq.Config{Cell: rnn.GRU, Embedding: 8, EncHidden: 6, DecHidden: 10, Attention: rnn.Additive, InputFeeding: true}
	m, err := seq2seq.New(cfg, src, tgt)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(3, 4)))
	path := filepath.Join(dir, "seq2seq.safetensors")
	if err := m.Save(path, rnn.F32); err != nil {
		t.Fatal(err)
	}
	return path
}

const shakespeare = "ROMEO:\nBut soft, what light through yonder window breaks?\n\nJULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n"

func charrnnModel(t *testing.T, dir string) string {
	t.Helper()
	tok, err := tokenize.TrainRune(strings.NewReader(shakespeare), tokenize.RuneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := charrnn.New(charrnn.Config{Cell: rnn.LSTM, Embedding: 8, Hidden: 16, Layers: 2}, tok)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(5, 6)))
	path := filepath.Join(dir, "charrnn.safetensors")
	if err := m.Save(path, rnn.F32); err != nil {
		t.Fatal(err)
	}
	return path
}

// ---- classify ----

// TestClassifyFiles: one review per file, under nested folders, with bad
// files among them; the output and the dead letters together are exactly
// the lines of `rnnkit classify --json` on the same folder.
func TestClassifyFiles(t *testing.T) {
	dir := t.TempDir()
	model := sentimentModel(t, dir)
	root := filepath.Join(dir, "reviews")
	for i, r := range reviews {
		write(t, filepath.Join(root, fmt.Sprintf("part%d", i%3), fmt.Sprintf("r%02d.txt", i)), r)
	}
	write(t, filepath.Join(root, "part0", "empty.txt"), "  \n")
	write(t, filepath.Join(root, "part1", "binary.txt"), "abc\x00def")
	write(t, filepath.Join(root, "part2", "latin1.txt"), "caf\xe9 cr\xe8me\nfine\n")
	write(t, filepath.Join(root, "part2", ".hidden.txt"), "not a review")

	want := strings.Split(strings.TrimSpace(cli(t, "", "classify", "--json", "--probs", "-k", "2", "--model", model, root)), "\n")
	if len(want) != len(reviews)+3 {
		t.Fatalf("rnnkit classify gave %d lines, want %d", len(want), len(reviews)+3)
	}
	out := filepath.Join(dir, "out", "labels")
	stderr := beamRun(t, "classify", "--input", root, "--output", out, "--model", model, "--probs", "-k", "2", "--batch", "3", "--shards", "3")
	got, n := shards(t, out)
	dead, nd := shards(t, out+"-errors")
	if n != 3 || nd != 1 {
		t.Errorf("%d output shards and %d dead-letter shards, want 3 and 1", n, nd)
	}
	if len(got) != len(reviews) || len(dead) != 3 {
		t.Errorf("%d outputs and %d dead letters, want %d and 3", len(got), len(dead), len(reviews))
	}
	assertSameLines(t, "classify --input: outputs + dead letters vs rnnkit classify --json", append(got, dead...), want)
	if !strings.Contains(stderr, fmt.Sprintf("%d records written", len(reviews))) || !strings.Contains(stderr, "3 dead letters") {
		t.Errorf("summary: %q", stderr)
	}

	// ** patterns select the same files; the result does not depend on the
	// batch size or the number of shards' contents order.
	out2 := filepath.Join(dir, "out2", "labels")
	beamRun(t, "classify", "--input", filepath.Join(root, "**", "r*.txt"), "--output", out2, "--model", model, "--probs", "-k", "2", "--batch", "1", "--shards", "3")
	got2, _ := shards(t, out2)
	assertSameLines(t, "classify --input with **", got2, got)
	if a, b := shardBytes(t, out), shardBytes(t, out2); a != b {
		t.Errorf("the shards differ with --batch 1 and --batch 3:\n%s\n---\n%s", a, b)
	}
}

// TestClassifyLines: one review per line of several files, with blank and
// bad lines; each object has the file and line, as `rnnkit classify
// --lines --json`.
func TestClassifyLines(t *testing.T) {
	dir := t.TempDir()
	model := sentimentModel(t, dir)
	p1 := filepath.Join(dir, "part-1.txt")
	p2 := filepath.Join(dir, "part-2.txt")
	write(t, p1, strings.Join(reviews[:5], "\n")+"\n\n"+"caf\xe9\n"+reviews[5]+"\n")
	write(t, p2, strings.Join(reviews[5:], "\r\n")+"\r\n")
	want := strings.Split(strings.TrimSpace(cli(t, "", "classify", "--json", "--lines", "--model", model, p1, p2)), "\n")
	out := filepath.Join(dir, "out", "labels")
	beamRun(t, "classify", "--lines", filepath.Join(dir, "part-*.txt"), "--output", out, "--model", model, "--batch", "4")
	got, _ := shards(t, out)
	dead, _ := shards(t, out+"-errors")
	if len(dead) != 2 {
		t.Errorf("%d dead letters, want 2 (a blank line and a non-UTF-8 line): %q", len(dead), dead)
	}
	assertSameLines(t, "classify --lines: outputs + dead letters vs rnnkit classify --lines --json", append(got, dead...), want)
}

// TestDefaultModels: without --model the pipelines use the default models
// that rnnkit embeds, and give what rnnkit gives with them.
func TestDefaultModels(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "part-1.txt")
	write(t, p, strings.Join(reviews[:4], "\n")+"\n")
	want := strings.Split(strings.TrimSpace(cli(t, "", "classify", "--json", "--lines", p)), "\n")
	out := filepath.Join(dir, "out", "labels")
	beamRun(t, "classify", "--lines", p, "--output", out)
	got, _ := shards(t, out)
	assertSameLines(t, "classify with the default model", got, want)

	s := filepath.Join(dir, "sentences.txt")
	text := "I have two brothers.\nMy name is Anna.\n"
	write(t, s, text)
	var wantT []string
	for i, l := range strings.Split(strings.TrimSpace(cli(t, text, "translate", "--json", "--beam", "1")), "\n") {
		var tr seq2seq.Translation
		if err := json.Unmarshal([]byte(l), &tr); err != nil {
			t.Fatal(err)
		}
		wantT = append(wantT, jsonLine(translation{File: s, Line: i + 1, Translation: tr}))
	}
	if len(wantT) != 2 || !strings.Contains(wantT[1], "Anna") {
		t.Fatalf("rnnkit translate: %q", wantT)
	}
	outT := filepath.Join(dir, "out", "es")
	beamRun(t, "translate", "--input", s, "--output", outT, "--beam", "1")
	gotT, _ := shards(t, outT)
	gotT, wantT = sorted(gotT), sorted(wantT)
	if len(gotT) != len(wantT) {
		t.Fatalf("translate with the default model: %d lines, want %d", len(gotT), len(wantT))
	}
	for i := range gotT { // text and tokens: the floats differ in the last bits with the batch
		var g, w translation
		if json.Unmarshal([]byte(gotT[i]), &g) != nil || json.Unmarshal([]byte(wantT[i]), &w) != nil ||
			g.Line != w.Line || g.Text != w.Text || !slices.Equal(g.Target, w.Target) {
			t.Errorf("translate with the default model:\n got %s\nwant %s", gotT[i], wantT[i])
		}
	}
}

// TestClassifyTooLarge: a file over --max-record-bytes is a dead letter.
func TestClassifyTooLarge(t *testing.T) {
	dir := t.TempDir()
	model := sentimentModel(t, dir)
	write(t, filepath.Join(dir, "in", "big.txt"), strings.Repeat("Great film. ", 200))
	write(t, filepath.Join(dir, "in", "small.txt"), "Great film.")
	out := filepath.Join(dir, "out", "labels")
	beamRun(t, "classify", "--input", filepath.Join(dir, "in"), "--output", out, "--model", model, "--max-record-bytes", "1000")
	got, _ := shards(t, out)
	dead, _ := shards(t, out+"-errors")
	if len(got) != 1 || len(dead) != 1 || !strings.Contains(dead[0], "too large for one review") || !strings.Contains(dead[0], "big.txt") {
		t.Errorf("outputs %q, dead letters %q", got, dead)
	}
}

// ---- translate ----

// TestTranslate: each line of each file is translated as `rnnkit translate
// --json` translates it, with its file and line; blank, non-UTF-8 and too
// long lines are dead letters.
func TestTranslate(t *testing.T) {
	dir := t.TempDir()
	model := seq2seqModel(t, dir)
	long := strings.TrimSpace(strings.Repeat("I like books ", 150))
	files := map[string][]string{
		filepath.Join(dir, "sentences-1.txt"): {english[0], english[1], "", english[2], long, "Zorblax quintessentially flummoxed the xylophone."},
		filepath.Join(dir, "sentences-2.txt"): {english[3], "caf\xe9", english[4], english[5]},
	}
	for _, beam := range []string{"1", "3"} {
		var want, wantDead []string
		for f, lines := range files {
			write(t, f, strings.Join(lines, "\n")+"\n")
			cliOut := strings.Split(strings.TrimSpace(cli(t, strings.Join(lines, "\n")+"\n", "translate", "--json", "--beam", beam, "--model", model)), "\n")
			if len(cliOut) != len(lines) {
				t.Fatalf("rnnkit translate gave %d lines for %d", len(cliOut), len(lines))
			}
			for i, l := range cliOut {
				var obj map[string]any
				if err := json.Unmarshal([]byte(l), &obj); err != nil {
					t.Fatal(err)
				}
				switch {
				case lines[i] == "" || strings.Contains(lines[i], "\xe9"):
					continue // blank: an empty translation for rnnkit, a dead letter here; checked below
				case obj["error"] != nil:
					wantDead = append(wantDead, jsonLine(map[string]any{"file": f, "line": i + 1, "error": obj["error"]}))
					continue
				}
				var tr seq2seq.Translation
				if err := json.Unmarshal([]byte(l), &tr); err != nil {
					t.Fatal(err)
				}
				want = append(want, jsonLine(translation{File: f, Line: i + 1, Translation: tr}))
			}
		}
		out := filepath.Join(dir, "out-beam"+beam, "es")
		beamRun(t, "translate", "--input", filepath.Join(dir, "sentences-*.txt"), "--output", out, "--model", model, "--beam", beam, "--batch", "2")
		got, _ := shards(t, out)
		dead, _ := shards(t, out+"-errors")
		sameTranslations(t, "translate --beam "+beam+" vs rnnkit translate --json", got, want)
		if len(wantDead) != 1 || len(dead) != 3 {
			t.Fatalf("dead letters: %q, want 3 (from rnnkit: %q)", dead, wantDead)
		}
		var other []string
		for _, d := range dead {
			if d != wantDead[0] {
				other = append(other, d)
			}
		}
		if len(other) != 2 || !strings.Contains(strings.Join(other, "\n"), `"line":3`) || !strings.Contains(strings.Join(other, "\n"), "UTF-8") {
			t.Errorf("dead letters %q: want the too long line %q and a blank and a non-UTF-8 line", dead, wantDead[0])
		}
		// The same job again writes the same bytes, whatever the bundles.
		out2 := filepath.Join(dir, "out2-beam"+beam, "es")
		beamRun(t, "translate", "--input", filepath.Join(dir, "sentences-*.txt"), "--output", out2, "--model", model, "--beam", beam, "--batch", "2")
		if a, b := shardBytes(t, out), shardBytes(t, out2); a != b {
			t.Errorf("a second run wrote other shards")
		}
	}
}

// sameTranslations compares translation lines: the text, tokens, file and
// line exactly; log_prob and attention to float rounding, since batched
// decoding depends in the last bits on the other sentences of the batch
// (rnnkit translate batches a whole file, the pipeline --batch sentences).
func sameTranslations(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = sorted(got), sorted(want)
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines, want %d", what, len(got), len(want))
	}
	for i := range got {
		var g, w translation
		if err := json.Unmarshal([]byte(got[i]), &g); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(want[i]), &w); err != nil {
			t.Fatal(err)
		}
		ok := g.File == w.File && g.Line == w.Line && g.Text == w.Text && slices.Equal(g.Source, w.Source) &&
			slices.Equal(g.Target, w.Target) && len(g.Attention) == len(w.Attention) && math.Abs(g.LogProb-w.LogProb) <= 1e-6
		for r := range min(len(g.Attention), len(w.Attention)) {
			for c := range min(len(g.Attention[r]), len(w.Attention[r])) {
				ok = ok && math.Abs(float64(g.Attention[r][c]-w.Attention[r][c])) <= 1e-6
			}
		}
		if !ok {
			t.Errorf("%s:\n got %s\nwant %s", what, got[i], want[i])
			return
		}
	}
}

// ---- generate ----

// TestGenerate: each seed line gives --samples objects equal to `rnnkit
// generate --json --rng-seed R` for the rng seed the record was given;
// seeds with unknown characters and blank lines are dead letters.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	model := charrnnModel(t, dir)
	seeds := []string{"ROMEO:", "O Romeo", "", "Zq€", "JULIET:"}
	seedFile := filepath.Join(dir, "seeds.txt")
	write(t, seedFile, strings.Join(seeds, "\n")+"\n")
	out := filepath.Join(dir, "out", "gen")
	beamRun(t, "generate", "--seeds", seedFile, "--output", out, "--model", model, "-n", "40", "--samples", "2", "--stop", `\n\n`, "--rng-seed", "9")
	got, _ := shards(t, out)
	dead, _ := shards(t, out+"-errors")
	if len(got) != 6 || len(dead) != 2 {
		t.Fatalf("%d outputs and %d dead letters, want 6 and 2:\n%s\n%s", len(got), len(dead), strings.Join(got, "\n"), strings.Join(dead, "\n"))
	}
	var want []string
	for _, l := range got {
		var g generation
		if err := json.Unmarshal([]byte(l), &g); err != nil {
			t.Fatal(err)
		}
		if base := RecordSeed(9, seedFile, g.Line); g.RNGSeed != base && g.RNGSeed != base+1 {
			t.Errorf("line %d: rng_seed %d, want %d or %d", g.Line, g.RNGSeed, base, base+1)
		}
		c := strings.TrimSpace(cli(t, "", "generate", "--json", "--model", model, "--seed", seeds[g.Line-1], "-n", "40", "--stop", `\n\n`, "--rng-seed", fmt.Sprint(g.RNGSeed)))
		var w generation
		if err := json.Unmarshal([]byte(c), &w); err != nil {
			t.Fatal(err)
		}
		w.File, w.Line = g.File, g.Line
		want = append(want, jsonLine(w))
	}
	assertSameLines(t, "generate vs rnnkit generate --json", got, want)
	if !strings.Contains(strings.Join(dead, "\n"), "not in the model's vocabulary") || !strings.Contains(strings.Join(dead, "\n"), "empty line") {
		t.Errorf("dead letters %q", dead)
	}

	// The same run again writes the same bytes.
	out2 := filepath.Join(dir, "out2", "gen")
	beamRun(t, "generate", "--seeds", seedFile, "--output", out2, "--model", model, "-n", "40", "--samples", "2", "--stop", `\n\n`, "--rng-seed", "9")
	if a, b := shardBytes(t, out), shardBytes(t, out2); a != b {
		t.Errorf("a second run wrote other shards:\n%s\n---\n%s", a, b)
	}
}

// ---- pieces ----

func TestMatchSegments(t *testing.T) {
	for _, c := range []struct {
		pat, name string
		ok        bool
	}{
		{"**/*.txt", "a.txt", true},
		{"**/*.txt", "x/y/a.txt", true},
		{"**/*.txt", "x/y/a.tsv", false},
		{"x/**/a.txt", "x/a.txt", true},
		{"x/**/a.txt", "x/1/2/a.txt", true},
		{"x/**/a.txt", "y/a.txt", false},
		{"**", "any/thing", true},
	} {
		if got := matchSegments(strings.Split(c.pat, "/"), strings.Split(c.name, "/")); got != c.ok {
			t.Errorf("matchSegments(%q, %q) = %v", c.pat, c.name, got)
		}
	}
}

func TestRecordSeed(t *testing.T) {
	// The seed depends on the file's base name, not its folder or scheme,
	// so that a local run and a run on gs:// files give the same texts.
	a := RecordSeed(1, "/data/seeds.txt", 3)
	if b := RecordSeed(1, "gs://bucket/in/seeds.txt", 3); a != b {
		t.Errorf("RecordSeed differs between folders: %d, %d", a, b)
	}
	if RecordSeed(1, "seeds.txt", 4) == a || RecordSeed(2, "seeds.txt", 3) == a || a >= 1<<52 {
		t.Errorf("RecordSeed(1, seeds.txt, 3) = %d", a)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"classify", "--output", filepath.Join(dir, "x")},
		{"classify", "--input", filepath.Join(dir, "nothing-*.txt"), "--output", filepath.Join(dir, "x"), "--model", "m"},
		{"translate", "--input", "a.txt"},
		{"generate", "--seeds", "a.txt", "--output", filepath.Join(dir, "x"), "-n", "0"},
	} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("rnnkit-beam %s: no error", strings.Join(args, " "))
		}
	}
}
