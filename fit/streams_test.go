package fit

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rnnkit/rnnkit/rnn"
)

func TestCarryRoundTrip(t *testing.T) {
	lstm := &rnn.State{H: []float32{1, 2, 3}, C: []float32{4, 5, 6}}
	gru := &rnn.State{H: []float32{7, 8}}
	ts := CarryTensors(nil, "carry.fwd.", lstm)
	ts = CarryTensors(ts, "carry.bwd.", gru)
	names := []string{}
	for _, tt := range ts {
		names = append(names, tt.Name)
	}
	assert.Equal(t, []string{"carry.fwd.h", "carry.fwd.c", "carry.bwd.h"}, names)

	run := &rnn.RunState{Tensors: ts}
	l2 := &rnn.State{H: make([]float32, 3), C: make([]float32, 3)}
	g2 := &rnn.State{H: make([]float32, 2)}
	require.NoError(t, RestoreCarry(run, "carry.fwd.", l2))
	require.NoError(t, RestoreCarry(run, "carry.bwd.", g2))
	assert.Equal(t, lstm, l2)
	assert.Equal(t, gru, g2)

	assert.ErrorIs(t, RestoreCarry(run, "carry.bwd.", &rnn.State{H: make([]float32, 3)}), ErrOtherRun, "another batch size")
	assert.ErrorIs(t, RestoreCarry(run, "carry.bwd.", l2), ErrOtherRun, "an LSTM state from a GRU run")
}

func TestStreamWindow(t *testing.T) {
	ids := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	in, tgt := make([]int32, 6), make([]int32, 6)
	// streams 0.. and 5..; the window of 2 steps from position 1
	StreamWindow(in, tgt, ids, 5, 1, 2, 2)
	assert.Equal(t, []int32{1, 6, 2, 7, 0, 0}, in)
	assert.Equal(t, []int32{2, 7, 3, 8, 0, 0}, tgt)
}
