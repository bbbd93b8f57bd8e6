package rnn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBuildAllocatesOnce: Build's counting pass registers the same
// parameters as the real one, and the real buffers are allocated once, at
// exactly the model's size.
func TestBuildAllocatesOnce(t *testing.T) {
	build := func(ps *Params) *Layer {
		NewLinear(ps, "in.", 7, 5, true)
		return NewLayer(ps, "rnn.", Config{Cell: LSTM, InputSize: 5, HiddenSize: 6, NumLayers: 2, Bidirectional: true})
	}
	c := NewParamCounter()
	build(c)
	require.Empty(t, c.Values)
	direct := NewParams()
	build(direct)
	require.Equal(t, direct.Len(), c.Count())
	require.Equal(t, direct.Names(), c.Names())

	var ps *Params
	l := Build(func(p *Params) *Layer { ps = p; return build(p) })
	require.NotNil(t, l)
	require.Equal(t, direct.Len(), ps.Len())
	require.Equal(t, ps.Len(), cap(ps.Values), "no slack: the buffers were sized by the count")
	require.Equal(t, ps.Len(), cap(ps.Grads))
	for _, name := range ps.Names() {
		p := ps.Get(name)
		require.Len(t, p.W, direct.Get(name).Size(), name)
	}
	// The views are into the flat buffers.
	ps.Values[0] = 42
	require.Equal(t, float32(42), ps.Get(ps.List()[0].Name).W[0])
}
