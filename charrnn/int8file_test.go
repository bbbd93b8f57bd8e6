package charrnn

import (
	"math"
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

// A model saved as int8 (rnn.Q8) loads unchanged and scores a text almost
// as its float file does, at about half the size of its F16 file.
func TestInt8FileCloseToFloat(t *testing.T) {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n", 12)
	tok := tokenize.NewRune([]rune(text))
	for _, cell := range []rnn.Cell{rnn.LSTM, rnn.GRU} {
		t.Run(cell.String(), func(t *testing.T) {
			m, err := New(Config{Cell: cell, Embedding: 32, Hidden: 64, Layers: 2}, tok)
			require.NoError(t, err)
			m.Init(rand.New(rand.NewPCG(7, 8)))
			for i := range m.Params.Values { // larger weights than the init's: less uniform outputs
				m.Params.Values[i] *= 3
			}
			dir := t.TempDir()
			paths := map[rnn.DType]string{}
			losses := map[rnn.DType]float64{}
			for _, dt := range []rnn.DType{rnn.F32, rnn.F16, rnn.Q8} {
				paths[dt] = filepath.Join(dir, string(dt)+".safetensors")
				require.NoError(t, m.Save(paths[dt], dt))
				l, err := Load(paths[dt])
				require.NoError(t, err)
				r, err := l.Evaluate(text)
				require.NoError(t, err)
				losses[dt] = r.Loss
			}
			t.Logf("%s loss F32 %.5f F16 %.5f int8 %.5f", cell, losses[rnn.F32], losses[rnn.F16], losses[rnn.Q8])
			assert.InDelta(t, losses[rnn.F32], losses[rnn.Q8], 0.01*losses[rnn.F32])
			assert.False(t, math.IsNaN(losses[rnn.Q8]))

			size := func(p string) int64 { st, err := os.Stat(p); require.NoError(t, err); return st.Size() }
			assert.Less(t, float64(size(paths[rnn.Q8])), 0.65*float64(size(paths[rnn.F16])))

			// Loaded from memory (an embedded default) it is the same model.
			data, err := os.ReadFile(paths[rnn.Q8])
			require.NoError(t, err)
			mb, err := LoadBytes("int8", data)
			require.NoError(t, err)
			r, err := mb.Evaluate(text)
			require.NoError(t, err)
			assert.Equal(t, losses[rnn.Q8], r.Loss)
		})
	}
}

// LoadQuantized is Load and Quantize in one: for an int8 file it packs the
// stored int8 weights, and the model scores a text as Load + Quantize
// does (to float rounding: the two may differ in a scale's last bit). It
// keeps nothing that a later Quantize could take after the weights change.
func TestLoadQuantizedIsLoadThenQuantize(t *testing.T) {
	text := strings.Repeat("pack my box with five dozen liquor jugs.\n", 10)
	tok := tokenize.NewRune([]rune(text))
	m, err := New(Config{Cell: rnn.LSTM, Embedding: 16, Hidden: 48, Layers: 2}, tok)
	require.NoError(t, err)
	m.Init(rand.New(rand.NewPCG(3, 4)))
	dir := t.TempDir()
	for _, dt := range []rnn.DType{rnn.F16, rnn.Q8} {
		p := filepath.Join(dir, string(dt)+".safetensors")
		require.NoError(t, m.Save(p, dt))
		a, err := Load(p)
		require.NoError(t, err)
		a.Quantize()
		b, err := LoadQuantized(p)
		require.NoError(t, err)
		assert.True(t, b.Quantized())
		assert.Equal(t, a.Params.Values, b.Params.Values, "%s: the float weights are the file's", dt)
		ra, err := a.Evaluate(text)
		require.NoError(t, err)
		rb, err := b.Evaluate(text)
		require.NoError(t, err)
		assert.InDelta(t, ra.Loss, rb.Loss, 1e-5, dt)

		data, err := os.ReadFile(p)
		require.NoError(t, err)
		c, err := LoadBytesQuantized("mem", data)
		require.NoError(t, err)
		rc, err := c.Evaluate(text)
		require.NoError(t, err)
		assert.Equal(t, rb.Loss, rc.Loss)

		// Weights changed after the load reach the next Quantize.
		for i := range b.Params.Values {
			b.Params.Values[i] = 0
		}
		b.Quantize()
		rz, err := b.Evaluate(text)
		require.NoError(t, err)
		assert.InDelta(t, math.Log(float64(m.Config.Vocab)), rz.Loss, 1e-4, "zero weights: the uniform loss")
	}
	_, err = LoadQuantized(filepath.Join(dir, "missing.safetensors"))
	assert.ErrorContains(t, err, "missing.safetensors")
}
