package sentiment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

type streamItem struct {
	i    int
	text string
}

func streamItems(ex []Example) []streamItem {
	items := make([]streamItem, len(ex))
	for i, e := range ex {
		items[i] = streamItem{i: i, text: e.Text}
	}
	if len(items) > 5 {
		items[5].text = "" // fails in the text function below
	}
	return items
}

var errEmptyItem = errors.New("empty")

func streamText(it *streamItem) (string, error) {
	if it.text == "" {
		return "", errEmptyItem
	}
	t := it.text
	it.text = ""
	return t, nil
}

// TestClassifyStreamInOrder: whatever the workers and batches, every input
// is delivered once, in input order, with the prediction Predict gives
// (or the text function's error), and Sync sees every result.
func TestClassifyStreamInOrder(t *testing.T) {
	ex := synth(100, 30, 5)
	m := tinyModel(t, synthTok(t, ex), rnn.GRU, "max+mean")
	items := streamItems(ex)
	for _, o := range []StreamOptions{{}, {Batch: 1, Workers: 1}, {Batch: 7, Workers: 3}, {Batch: 64, Workers: 2}} {
		t.Run(fmt.Sprintf("batch%d-workers%d", o.Batch, o.Workers), func(t *testing.T) {
			var got []int
			syncs := 0
			o.Sync = func(idle bool) error { syncs++; return nil }
			err := ClassifyStream(context.Background(), m, slices.Values(items), streamText, o, func(it streamItem, c Classified) {
				got = append(got, it.i)
				assert.Empty(t, it.text, "the text function's change is kept")
				if it.i == 5 {
					assert.ErrorIs(t, c.Err, errEmptyItem)
					return
				}
				require.NoError(t, c.Err)
				assert.Nil(t, c.Explanation)
				want := m.Predict(ex[it.i].Text)
				assert.Equal(t, want.Label, c.Prediction.Label, it.i)
				assert.InDelta(t, want.Probs[1], c.Prediction.Probs[1], 1e-5, it.i)
			})
			require.NoError(t, err)
			assert.Equal(t, len(items), len(got))
			assert.True(t, slices.IsSorted(got))
			assert.Equal(t, len(items), syncs, "one Sync per result")
		})
	}
}

func TestClassifyStreamExplains(t *testing.T) {
	ex := synth(12, 10, 6)
	m := tinyModel(t, synthTok(t, ex), rnn.GRU, "max")
	n := 0
	err := ClassifyStream(context.Background(), m, slices.Values(streamItems(ex)), streamText,
		StreamOptions{Batch: 4, Workers: 2, Explain: ExplainGradient}, func(it streamItem, c Classified) {
			n++
			if it.i == 5 {
				assert.ErrorIs(t, c.Err, errEmptyItem)
				assert.Nil(t, c.Explanation)
				return
			}
			want, err := m.Explain(ex[it.i].Text, ExplainGradient)
			require.NoError(t, err)
			require.NotNil(t, c.Explanation)
			assert.Equal(t, want.Method, c.Explanation.Method)
			assert.Equal(t, want.Prediction.Label, c.Prediction.Label)
		})
	require.NoError(t, err)
	assert.Equal(t, 12, n)
}

// TestClassifyStreamStops: a Sync error and a cancelled context end the
// stream with that error, also while the inputs block.
func TestClassifyStreamStops(t *testing.T) {
	ex := synth(200, 10, 7)
	m := tinyModel(t, synthTok(t, ex), rnn.GRU, "max")
	stop := errors.New("stdout closed")
	n := 0
	err := ClassifyStream(context.Background(), m, slices.Values(streamItems(ex)), streamText,
		StreamOptions{Batch: 2, Workers: 2, Sync: func(bool) error {
			if n >= 3 {
				return stop
			}
			return nil
		}}, func(streamItem, Classified) { n++ })
	assert.ErrorIs(t, err, stop)
	assert.Less(t, n, len(ex))

	ctx, cancel := context.WithCancel(context.Background())
	block := make(chan struct{})
	defer close(block)
	inputs := func(yield func(streamItem) bool) {
		if !yield(streamItem{i: 0, text: ex[0].Text}) {
			return
		}
		<-block // a read of stdin that never returns
	}
	delivered := 0
	err = ClassifyStream(ctx, m, inputs, streamText, StreamOptions{Workers: 1}, func(streamItem, Classified) {
		delivered++
		cancel()
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, delivered)
}
