package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

type coldResult struct {
	MedianMs float64   `json:"median_ms"`
	MinMs    float64   `json:"min_ms"`
	MaxMs    float64   `json:"max_ms"`
	RSSKiB   int64     `json:"rss_kib"`
	Runs     []float64 `json:"runs_ms"`
	Command  string    `json:"command"`
	Note     string    `json:"note,omitempty"`
}

// coldStart builds cmd/rnnkit and times `rnnkit generate -n 1`: process
// start, loading the embedded model, one character, exit. If the binary has
// no embedded model yet, it times the same command with --model pointing at
// a W1-shaped model file (random weights, stored F16 as the default is).
func coldStart(root, tmp string, runs int) (coldResult, error) {
	bin := filepath.Join(tmp, "rnnkit")
	logf("building cmd/rnnkit for the cold-start test")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/rnnkit")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return coldResult{}, fmt.Errorf("go build ./cmd/rnnkit: %v\n%s", err, out)
	}
	args := []string{"generate", "-n", "1", "--rng-seed", "1"}
	res := coldResult{}
	if _, _, err := timeOnce(bin, args); err != nil {
		model := filepath.Join(tmp, "w1.safetensors")
		if merr := w1ModelFile(model); merr != nil {
			return res, fmt.Errorf("%v; and making a stand-in model: %v", err, merr)
		}
		args = append(args, "--model", model)
		if _, _, err2 := timeOnce(bin, args); err2 != nil {
			return res, err2
		}
		res.Note = "no embedded model in this build (" + firstLine(err.Error()) + "); timed with --model on a W1-shaped F16 file"
	}
	res.Command = "rnnkit " + strings.Join(args, " ")
	timeOnce(bin, args) // page cache warm: both sides are measured warm
	for i := 0; i < runs; i++ {
		d, rss, err := timeOnce(bin, args)
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, float64(d.Microseconds())/1000)
		res.RSSKiB = max(res.RSSKiB, rss)
	}
	res.MedianMs = median(res.Runs)
	res.MinMs, res.MaxMs = res.Runs[0], res.Runs[0]
	for _, v := range res.Runs {
		res.MinMs, res.MaxMs = min(res.MinMs, v), max(res.MaxMs, v)
	}
	logf("cold start: median %.1f ms over %d runs", res.MedianMs, runs)
	return res, nil
}

func timeOnce(bin string, args []string) (time.Duration, int64, error) {
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = int64(ru.Maxrss)
		}
	}
	if err != nil {
		return d, rss, fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return d, rss, nil
}

// w1ModelFile writes a W1-shaped charrnn model (65-rune vocabulary,
// embedding 64, LSTM 2x256) with random weights.
func w1ModelFile(path string) error {
	alpha := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'-\n&$3"
	tok, err := tokenize.TrainRune(strings.NewReader(alpha), tokenize.RuneOptions{})
	if err != nil {
		return err
	}
	m, err := charrnn.New(charrnn.DefaultConfig(tok.VocabSize()), tok)
	if err != nil {
		return err
	}
	m.Init(rand.New(rand.NewPCG(1, 1)))
	return m.Save(path, rnn.F16)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

var _ = os.Getpid
