package charrnn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

// TestQuantize: the quantized model's loss is within a hundredth of a nat
// per character of the float32 one, and its generator (which the int8
// weights take over from the half-precision path) still samples.
func TestQuantize(t *testing.T) {
	text := synthetic(3000)
	for _, cell := range []rnn.Cell{rnn.LSTM, rnn.GRU} {
		m := newTiny(t, text, cell)
		before, err := m.Evaluate(text)
		require.NoError(t, err)
		m.Quantize()
		require.True(t, m.Quantized())
		after, err := m.Evaluate(text)
		require.NoError(t, err)
		assert.NotEqual(t, before.Loss, after.Loss, "%v: the int8 path did not run", cell)
		assert.InDelta(t, before.Loss, after.Loss, 0.01, "%v", cell)
		g := m.NewGenerator()
		rng := rand.New(rand.NewPCG(1, 2))
		g.Feed(5)
		for i := 0; i < 50; i++ {
			id := g.Sample(rng, SampleOptions{Temperature: 0.8})
			require.GreaterOrEqual(t, id, int32(0))
			g.Feed(id)
		}
	}
}
