package sentiment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

// TestQuantize: a quantized classifier's probabilities stay within a few
// hundredths of the float32 model's, for every pooling, and Save still
// writes the float32 weights.
func TestQuantize(t *testing.T) {
	ex := synth(40, 12, 3)
	tok := synthTok(t, ex)
	texts := make([]string, len(ex))
	for i, e := range ex {
		texts[i] = e.Text
	}
	for _, pool := range []string{PoolMax, PoolMean, PoolLast, PoolAttention} {
		m := tinyModel(t, tok, rnn.LSTM, pool)
		want := m.PredictBatch(texts)
		values := append([]float32(nil), m.Params.Values...)
		require.False(t, m.Quantized())
		m.Quantize()
		require.True(t, m.Quantized())
		got := m.PredictBatch(texts)
		moved := false
		for i := range want {
			for c := range want[i].Probs {
				assert.InDelta(t, want[i].Probs[c], got[i].Probs[c], 0.02, "%s review %d", pool, i)
				moved = moved || want[i].Probs[c] != got[i].Probs[c]
			}
		}
		assert.True(t, moved, "%s: the int8 path did not run", pool)
		assert.Equal(t, values, m.Params.Values, "the float32 weights are kept")
	}
}
