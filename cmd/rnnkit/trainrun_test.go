package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// The time left after a resume comes from the steps done in this process:
// resumed at step 500 of 1000, 10 steps in 20 s leave 490 steps, 980 s. (The
// bar's own estimate would count the first 500 steps as done in no time.)
func TestTrainingBarTimeLeftAfterResume(t *testing.T) {
	c := &cobra.Command{}
	var errb bytes.Buffer
	c.SetErr(&errb)
	bar := newTrainingBar(c, &globalOptions{quiet: true})
	t0 := time.Now()
	bar.updateAt(t0, 501, 1000, "")
	require.Equal(t, "unknown", bar.timeLeft(t0, 501, 1000))
	bar.updateAt(t0.Add(20*time.Second), 511, 1000, "")
	require.Equal(t, "16m18s", bar.timeLeft(t0.Add(20*time.Second), 511, 1000))
	require.Equal(t, "0s", bar.timeLeft(t0.Add(time.Hour), 1000, 1000))
}

func TestConfigFlagValue(t *testing.T) {
	cfg := map[string]any{"hidden": 256.0, "dropout": 0.1, "cell": "lstm", "bidirectional": true}
	for key, want := range map[string]string{"hidden": "256", "dropout": "0.1", "cell": "lstm", "bidirectional": "true", "!bidirectional": "false"} {
		got, ok := configFlagValue(cfg, key)
		require.True(t, ok, key)
		require.Equal(t, want, got, key)
	}
	_, ok := configFlagValue(cfg, "nope")
	require.False(t, ok)
}

// An unknown --format of labelled data is a usage error (exit status 2),
// as it is for the other commands with --format.
func TestLabelledFormatUsageError(t *testing.T) {
	dir := t.TempDir()
	data := writeSentimentTSV(t, dir, 10, 1)
	out := dir + "/m.safetensors"
	require.Equal(t, 2, run([]string{"train", "sentiment", "--data", data, "--out", out, "--format", "fasttext", "-q"}))
	_, _, err := runCLI(t, "train", "sentiment", "--data", data, "--out", out, "--format", "fasttext")
	require.EqualError(t, err, `--format must be auto, imdb-dir, tsv, csv or jsonl, got "fasttext"`)
	require.Equal(t, 2, run([]string{"eval", "sentiment", "--data", data, "--format", "fasttext", "-q"}))
}
