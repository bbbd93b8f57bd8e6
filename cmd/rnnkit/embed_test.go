package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/embed"
)

// writePlantedCorpus writes sentences drawn from topics of 4 words each
// ("t3w0" .. "t3w3"), so a word's neighbours are its topic mates.
func writePlantedCorpus(t *testing.T) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for s := 0; s < 2000; s++ {
		topic := rng.IntN(10)
		for k := 0; k < 10; k++ {
			fmt.Fprintf(&b, "T%dw%d ", topic, rng.IntN(4)) // uppercase: training lowercases
		}
		b.WriteString(".\n")
	}
	p := filepath.Join(t.TempDir(), "corpus.txt")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func TestEmbedTrainNeighborsAnalogy(t *testing.T) {
	data := writePlantedCorpus(t)
	out := filepath.Join(t.TempDir(), "v.vec")
	stdout, _, err := runCLI(t, "embed", "train", "-q", "--data", data, "--out", out,
		"--dim", "16", "--epochs", "3", "--min-count", "2", "--threads", "1", "--sample", "1e-3")
	require.NoError(t, err)
	assert.Contains(t, stdout, "wrote "+out+": 40 words x 16 dims, trained on 20000 words x 3 epochs")

	v, err := embed.ReadVectors(out, embed.Auto)
	require.NoError(t, err)
	assert.Len(t, v.Words, 40)

	stdout, _, err = runCLI(t, "embed", "neighbors", "--vectors", out, "-k", "3", "--json", "T1W2", "t7w0")
	require.NoError(t, err)
	var res []struct {
		Query     string `json:"query"`
		Neighbors []struct {
			Word       string  `json:"word"`
			Similarity float64 `json:"similarity"`
		} `json:"neighbors"`
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") { // one object per query
		var r struct {
			Query     string `json:"query"`
			Neighbors []struct {
				Word       string  `json:"word"`
				Similarity float64 `json:"similarity"`
			} `json:"neighbors"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r), stdout)
		res = append(res, r)
	}
	require.Len(t, res, 2)
	assert.Equal(t, "T1W2", res[0].Query)
	for i, prefix := range []string{"t1w", "t7w"} {
		require.Len(t, res[i].Neighbors, 3)
		for _, n := range res[i].Neighbors {
			assert.True(t, strings.HasPrefix(n.Word, prefix), "%s: neighbour %s", res[i].Query, n.Word)
		}
	}

	stdout, _, err = runCLI(t, "embed", "neighbors", "--vectors", out, "t1w2")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	assert.Equal(t, "t1w2", lines[0])
	assert.Len(t, lines, 9, "the query and 8 neighbours by default")
	assert.Regexp(t, `^\s+1\s+t1w\d\s+0\.\d{4}$`, lines[1])

	stdout, _, err = runCLI(t, "embed", "analogy", "--vectors", out, "-k", "2", "t1w0", "t1w1", "t5w0")
	require.NoError(t, err)
	assert.Contains(t, stdout, "t1w0 is to t1w1 as t5w0 is to ?")
	assert.Len(t, strings.Split(strings.TrimSpace(stdout), "\n"), 3)

	stdout, _, err = runCLI(t, "embed", "analogy", "--vectors", out, "--json", "t1w0", "t1w1", "t5w0")
	require.NoError(t, err)
	var an struct {
		Query     string           `json:"query"`
		Neighbors []embed.Neighbor `json:"neighbors"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &an))
	assert.Len(t, an.Neighbors, 5)

	_, _, err = runCLI(t, "embed", "neighbors", "--vectors", out, "zebra")
	require.ErrorContains(t, err, `"zebra" is not in the vocabulary`)
}

func TestEmbedTrainBinary(t *testing.T) {
	data := writePlantedCorpus(t)
	out := filepath.Join(t.TempDir(), "v.w2v")
	stdout, _, err := runCLI(t, "embed", "train", "-q", "--data", data, "--out", out, "--binary", "--json",
		"--dim", "8", "--epochs", "1", "--min-count", "2", "--threads", "1")
	require.NoError(t, err)
	var sum embedTrainSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum))
	assert.Equal(t, 40, sum.Vocab)
	assert.Equal(t, int64(20000), sum.CorpusWords)
	v, err := embed.ReadVectors(out, embed.Word2VecBinary)
	require.NoError(t, err)
	assert.Equal(t, 8, v.Dim)
}

func TestEmbedUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"embed", "train", "--out", "x.vec"},
		{"embed", "train", "--data", "x.txt", "--out", "x.vec", "--dim", "0"},
		{"embed", "neighbors", "word"},
		{"embed", "neighbors", "--vectors", "v.vec"},
		{"embed", "neighbors", "--vectors", "v.vec", "--format", "hdf5", "w"},
		{"embed", "analogy", "--vectors", "v.vec", "a", "b"},
	} {
		_, _, err := runCLI(t, args...)
		require.Error(t, err, args)
		var ue usageError
		assert.True(t, isUsage(err, &ue), "%v: %v is a usage error", args, err)
	}
	_, _, err := runCLI(t, "embed", "train", "--data", "/nonexistent/corpus.txt", "--out", filepath.Join(t.TempDir(), "v.vec"))
	require.ErrorContains(t, err, "/nonexistent/corpus.txt")
}

func isUsage(err error, ue *usageError) bool {
	if e, ok := err.(usageError); ok {
		*ue = e
		return true
	}
	return isCobraUsageErr(err)
}

func TestEmbedHelpHasExamples(t *testing.T) {
	for _, sub := range []string{"train", "neighbors", "analogy"} {
		stdout, _, err := runCLI(t, "embed", sub, "--help")
		require.NoError(t, err)
		assert.Contains(t, stdout, "Examples:")
		assert.Contains(t, stdout, "rnnkit embed "+sub+" --")
	}
}

// On a corpus too small for the subsampling rate, embed train warns that
// most of the text is dropped; --sample 0 turns subsampling off (it was a
// usage error) and trains on every word.
func TestEmbedTrainSmallCorpusSample(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "c.txt", []byte(strings.Repeat("the cat sat on the mat .\n", 50)))
	out := filepath.Join(dir, "v.vec")
	args := []string{"embed", "train", "--data", data, "--out", out, "--dim", "8", "--epochs", "1", "--min-count", "1", "--threads", "1", "--json"}
	stdout, stderr, err := runCLI(t, args...)
	require.NoError(t, err)
	assert.Contains(t, stderr, "warning: --sample 0.0001 is too high for a corpus of 300 words")
	var sum embedTrainSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum))

	stdout, stderr, err = runCLI(t, append(args, "--sample", "0")...)
	require.NoError(t, err)
	assert.NotContains(t, stderr, "warning")
	var off embedTrainSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &off))
	assert.Greater(t, off.Loss, 0.0, "every word is trained on")
	require.Equal(t, 2, run(append(args, "--sample", "-1")))
}
