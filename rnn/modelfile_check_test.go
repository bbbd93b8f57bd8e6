package rnn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckTensorsOnCounter: CheckTensors makes SetFromTensors' checks on a
// counter, which has no buffers, so a model file can be checked against a
// config before anything is allocated.
func TestCheckTensorsOnCounter(t *testing.T) {
	good := testParams().Tensors()
	counter := func() *Params {
		c := NewParamCounter()
		for _, p := range testParams().List() {
			c.Add(p.Name, p.Shape...)
		}
		return c
	}
	require.NoError(t, counter().CheckTensors(good))
	require.NoError(t, sameArch().CheckTensors(good))

	bad := append([]Tensor(nil), good...)
	for i := range bad {
		if bad[i].Name == "lstm.weight_hh_l0" {
			bad[i] = Tensor{Name: "lstm.weight_hh_l0", Shape: []int{2, 8}, Data: make([]float32, 16)}
		}
	}
	for _, ps := range []*Params{counter(), sameArch()} {
		err := ps.CheckTensors(bad)
		assert.ErrorContains(t, err, `tensor "lstm.weight_hh_l0" has shape [2 8], but the model needs [8 2]`)
		assert.ErrorContains(t, ps.CheckTensors(good[1:]), "is missing")
		assert.ErrorContains(t, ps.CheckTensors(append(good, Tensor{Name: "x", Shape: []int{1}, Data: []float32{0}})), `tensor "x" (shape [1]) is not a parameter`)
		short := append([]Tensor(nil), good...)
		short[0].Data = short[0].Data[:3]
		assert.ErrorContains(t, ps.CheckTensors(short), "but 3 values")
	}
	ps := sameArch()
	require.NoError(t, ps.CheckTensors(good))
	assert.Equal(t, make([]float32, ps.Len()), ps.Values, "CheckTensors copies nothing")
}
