package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/rnnkit/rnnkit/rnn"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResumeChecksAllTrainers: train lm, sentiment and seq2seq record their
// flags and a fingerprint of their data in the checkpoint, so --resume
// refuses another model shape or tokenizer (naming the flag) and other data;
// with the same flags a resume trains on (a larger --epochs is allowed) and
// --log appends to the records of the first run. (train charrnn:
// TestCharRNNResumeChecks.)
func TestResumeChecksAllTrainers(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name          string
		args          func(data string) []string // a tiny run on data, without --epochs
		data, other   string
		changed       []string // a changed fixed flag ...
		want          string   // ... and the error naming it
		evalsPerEpoch int
	}{
		{
			name: "lm",
			args: func(data string) []string {
				return []string{"train", "lm", "--data", data, "--out", filepath.Join(dir, "lm.safetensors"), "-q", "--embedding", "8", "--hidden", "8",
					"--seq-len", "8", "--batch", "4", "--sampled", "8", "--warmup", "5", "--val-frac", "0.1", "--min-freq", "1"}
			},
			data: writeLMText(t, dir, 60), other: writeFile(t, dir, "other.txt", []byte(strings.Repeat("a different text of words\n", 60))),
			changed: []string{"--vocab", "100"}, want: "--vocab 100 differs from the checkpoint's 25000", evalsPerEpoch: 4,
		},
		{
			name: "sentiment",
			args: func(data string) []string {
				return []string{"train", "sentiment", "--data", data, "--out", filepath.Join(dir, "s.safetensors"), "-q", "--embedding", "8", "--hidden", "8",
					"--batch", "16", "--warmup", "5", "--val-frac", "0.2"}
			},
			data: writeSentimentTSV(t, dir, 120, 1), other: writeSentimentTSV(t, t.TempDir(), 120, 2),
			changed: []string{"--pooling", "last"}, want: "--pooling last differs from the checkpoint's max+mean", evalsPerEpoch: 2,
		},
		{
			name: "seq2seq",
			args: func(data string) []string {
				return []string{"train", "seq2seq", "--data", data, "--out", filepath.Join(dir, "t.safetensors"), "-q", "--tokenizer", "word",
					"--embedding", "8", "--enc-hidden", "8", "--dec-hidden", "8", "--batch", "32", "--warmup", "5", "--val-frac", "0.1",
					"--val-max", "20"}
			},
			data: writeToyPairs(t, dir, 200, 1), other: writeToyPairs(t, dir, 200, 2),
			changed: []string{"--dec-hidden", "16"}, want: "--dec-hidden 16 differs from the checkpoint's 8", evalsPerEpoch: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logPath := filepath.Join(dir, tc.name+".jsonl")
			args := append(tc.args(tc.data), "--log", logPath)
			out := args[slices.Index(args, "--out")+1]
			ck := out + ".ckpt"
			_, stderr, err := runCLI(t, append(args, "--epochs", "1")...)
			require.NoError(t, err, stderr)
			lines := func() int {
				b, err := os.ReadFile(logPath)
				require.NoError(t, err)
				return strings.Count(string(b), "\n")
			}
			first := lines()
			require.GreaterOrEqual(t, first, tc.evalsPerEpoch)

			_, _, err = runCLI(t, append(append(args, "--epochs", "2", "--resume", ck), tc.changed...)...)
			require.ErrorContains(t, err, tc.want)
			_, _, err = runCLI(t, append(tc.args(tc.other), "--epochs", "2", "--resume", ck)...)
			require.ErrorContains(t, err, "the training data differs from the checkpoint's run")

			history := func() int {
				_, meta, err := rnn.ReadHeader(ck)
				require.NoError(t, err)
				var h []map[string]float64
				require.NoError(t, json.Unmarshal([]byte(meta[rnn.MetaHistory]), &h))
				return len(h)
			}
			require.Equal(t, first, history(), "the checkpoint at the last step has every evaluation")

			_, stderr, err = runCLI(t, append(args, "--epochs", "2", "--resume", ck)...)
			require.NoError(t, err, stderr)
			require.Greater(t, lines(), first, "the resumed run appends its records")
			require.Equal(t, lines(), history(), "the checkpoint keeps the curve of both processes (--plot draws it)")
		})
	}
}
