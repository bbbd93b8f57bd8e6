package sentiment

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A classifier saved as int8 (rnn.Q8) loads unchanged and gives nearly the
// probabilities of its float file.
func TestInt8FileCloseToFloat(t *testing.T) {
	words := strings.Fields("good bad film plot great awful acting boring moving script actor scene music ending slow " +
		"fun dull brilliant weak strong story character funny sad terrible wonderful director camera dialogue pace")
	rng := rand.New(rand.NewPCG(3, 3))
	var reviews []string
	for range 40 {
		var sb strings.Builder
		for range 5 + rng.IntN(30) {
			sb.WriteString(words[rng.IntN(len(words))] + " ")
		}
		reviews = append(reviews, sb.String())
	}
	tok, err := tokenize.TrainWord(strings.NewReader(strings.Join(reviews, "\n")), tokenize.WordOptions{Lowercase: true, SplitPunct: true})
	require.NoError(t, err)
	m, err := New(Config{Cell: rnn.GRU, Embedding: 48, Hidden: 32, Layers: 1, Bidirectional: true, Pooling: "max+mean+attention",
		Labels: []string{"negative", "positive"}, MaxLen: 40}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(1, 2)))
	for i := range m.Params.Values {
		m.Params.Values[i] *= 3
	}
	dir := t.TempDir()
	f32, q8 := filepath.Join(dir, "f32.safetensors"), filepath.Join(dir, "int8.safetensors")
	require.NoError(t, m.Save(f32, rnn.F32))
	require.NoError(t, m.Save(q8, rnn.Q8))
	a, err := Load(f32)
	require.NoError(t, err)
	b, err := Load(q8)
	require.NoError(t, err)
	pa, pb := a.PredictBatch(reviews), b.PredictBatch(reviews)
	var maxDiff float64
	for i := range pa {
		for c := range pa[i].Probs {
			d := float64(pa[i].Probs[c] - pb[i].Probs[c])
			maxDiff = max(maxDiff, d, -d)
		}
	}
	t.Logf("largest probability difference %.5f", maxDiff)
	assert.Less(t, maxDiff, 0.02)

	data, err := os.ReadFile(q8)
	require.NoError(t, err)
	c, err := LoadBytes("int8", data)
	require.NoError(t, err)
	assert.Equal(t, pb, c.PredictBatch(reviews))
}
