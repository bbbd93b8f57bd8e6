package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultModelOutputs pins what the embedded default models print for
// fixed inputs: generate with fixed seeds, classify's probabilities and
// both translators. A refactor must leave this byte-identical; a new
// default model changes it on purpose: regenerate with
// go test ./cmd/rnnkit -run TestDefaultModelOutputs -update.
func TestDefaultModelOutputs(t *testing.T) {
	var b strings.Builder
	run := func(stdin string, args ...string) {
		out, _, err := runCLIStdin(t, stdin, args...)
		require.NoError(t, err, "%v", args)
		b.WriteString("$ rnnkit " + strings.Join(args, " ") + "\n" + out)
	}
	for _, seed := range []string{"1", "2", "3"} {
		run("", "generate", "--seed", "ROMEO:", "-n", "120", "--rng-seed", seed)
	}
	run("", "generate", "--seed", "JULIET:", "-n", "80", "--temperature", "0", "--rng-seed", "1", "--json")
	for _, review := range []string{
		"A warm, funny and beautifully acted film; I loved every minute.",
		"Two hours of my life I will never get back. Dull plot, wooden acting.",
		"It was fine, I guess, although the ending dragged on.",
	} {
		run(review, "classify", "--json", "-")
	}
	en := "The children are playing in the garden.\nI would like a cup of coffee, please.\nMy sister lives near the sea.\nGoodbye.\nNice to meet you.\n"
	run(en, "translate")
	run(en, "translate", "--beam", "1")
	es := "Los niños juegan en el jardín.\nMe gustaría una taza de café, por favor.\nMi hermana vive cerca del mar.\nBuenas tardes.\n"
	run(es, "translate", "--from", "es")

	path := filepath.Join("testdata", "default_outputs.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "regenerate with: go test ./cmd/rnnkit -run TestDefaultModelOutputs -update")
	assert.Equal(t, string(want), b.String())
}
