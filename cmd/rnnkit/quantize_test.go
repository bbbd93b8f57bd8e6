package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuantizeFlag: --quantize int8 on classify, translate, generate and the
// eval commands runs the embedded models quantized, with results close to
// the float32 ones; other values are usage errors.
func TestQuantizeFlag(t *testing.T) {
	reviews := "A wonderful film, moving and beautifully acted.\nDull, far too long and badly written. I want my money back.\n"
	classify := func(args ...string) []map[string]any {
		out, _, err := runClassifyIn(t, strings.NewReader(reviews), append([]string{"classify", "--json", "--no-summary"}, args...)...)
		require.NoError(t, err)
		return classifyJSONLines(t, out)
	}
	f32, i8 := classify("--quantize", "none"), classify("--quantize", "int8")
	require.Len(t, i8, 2)
	for i := range f32 {
		assert.Equal(t, f32[i]["label"], i8[i]["label"], "review %d", i)
		assert.InDelta(t, f32[i]["probability"], i8[i]["probability"], 0.05, "review %d", i)
	}

	out, _, err := runCLI(t, "translate", "--quantize", "int8", "--beam", "1", "I would like a cup of coffee, please.")
	require.NoError(t, err)
	assert.Contains(t, out, "café")

	out, _, err = runCLI(t, "generate", "--quantize", "int8", "-n", "80", "--rng-seed", "1", "--seed", "ROMEO:", "--json")
	require.NoError(t, err)
	var g struct {
		Chars       int     `json:"chars"`
		MeanLogProb float64 `json:"mean_log_prob"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &g))
	assert.Equal(t, 80, g.Chars)
	assert.Less(t, g.MeanLogProb, 0.0)

	dir := t.TempDir()
	text := filepath.Join(dir, "heldout.txt")
	require.NoError(t, os.WriteFile(text, []byte(strings.Repeat("KING:\nWhat say you to this, my lord? Speak, and be brief.\n\n", 20)), 0o644))
	loss := func(args ...string) float64 {
		out, _, err := runCLI(t, append([]string{"eval", "charrnn", "--data", text, "--json"}, args...)...)
		require.NoError(t, err)
		var r struct {
			Loss float64 `json:"loss"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &r))
		return r.Loss
	}
	// The default generate models are stored as int8, so auto (the
	// default) runs them in int8 arithmetic, and none in float.
	lf, lq, la := loss("--quantize", "none"), loss("--quantize", "int8"), loss()
	assert.NotEqual(t, lf, lq, "the int8 path ran")
	assert.Equal(t, lq, la, "auto is int8 for int8 files")
	assert.InDelta(t, lf, lq, 0.05*lf, "int8 loss %.4f against float32 %.4f nats/char", lq, lf)

	pairs := filepath.Join(dir, "pairs.tsv")
	require.NoError(t, os.WriteFile(pairs, []byte("I am tired.\tEstoy cansado.\nThe cat is sleeping.\tEl gato está durmiendo.\n"), 0o644))
	_, _, err = runCLI(t, "eval", "seq2seq", "--data", pairs, "--beam", "1", "--quantize", "int8")
	require.NoError(t, err)

	for _, args := range [][]string{
		{"generate", "--quantize", "int4"},
		{"translate", "--quantize", "fp16", "Hello."},
		{"eval", "charrnn", "--data", text, "--quantize", "int16"},
	} {
		_, _, err := runCLI(t, args...)
		var ue usageError
		require.ErrorAs(t, err, &ue, "%v", args)
		assert.Contains(t, err.Error(), "--quantize must be auto, int8 or none")
	}
}
