package rnn

import (
	"fmt"
	"math/rand/v2"
)

// Dropout is inverted dropout (torch.nn.Dropout): in training each element is
// zeroed with probability p and the survivors are scaled by 1/(1-p), so the
// expected activation is unchanged and evaluation is the identity. The mask of
// the last Forward is kept for Backward and its buffer is reused, so a
// steady-state step allocates nothing.
//
// The zero value is ready to use. One Dropout serves one call site; a layer
// that drops out several tensors per step holds one Dropout for each.
type Dropout struct {
	mask     []float32 // (N): 0 or 1/(1-p) per element of the last Forward
	identity bool      // the last Forward was the identity (p = 0 or !train)
}

// Forward writes x with dropout applied into dst. When p = 0 or train is false
// it copies x (dst may be x itself, then nothing is done). p = 1 zeroes
// everything, as torch does. rng is only used in training with p > 0.
//
//	x, dst: (N); dst may alias x.
func (d *Dropout) Forward(dst, x []float32, p float32, rng *rand.Rand, train bool) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("rnn: Dropout.Forward: len(dst)=%d, len(x)=%d", len(dst), len(x)))
	}
	if p < 0 || p > 1 {
		panic(fmt.Sprintf("rnn: Dropout.Forward: probability %v outside [0, 1]", p))
	}
	if p == 0 || !train {
		d.identity = true
		copy(dst, x)
		return
	}
	d.identity = false
	if cap(d.mask) < len(x) {
		d.mask = make([]float32, len(x))
	}
	d.mask = d.mask[:len(x)]
	scale := float32(0)
	if p < 1 {
		scale = 1 / (1 - p)
	}
	for i, v := range x {
		m := scale
		if rng.Float32() < p {
			m = 0
		}
		d.mask[i] = m
		dst[i] = v * m
	}
}

// Backward writes ∂L/∂x = dy ⊙ mask into dx for the last Forward.
//
//	dy, dx: (N), the length of the last Forward; dx may alias dy.
func (d *Dropout) Backward(dx, dy []float32) {
	if len(dx) != len(dy) || (!d.identity && len(dy) != len(d.mask)) {
		panic(fmt.Sprintf("rnn: Dropout.Backward: len(dx)=%d, len(dy)=%d, last Forward had %d elements",
			len(dx), len(dy), len(d.mask)))
	}
	if d.identity {
		copy(dx, dy)
		return
	}
	for i, g := range dy {
		dx[i] = g * d.mask[i]
	}
}

// Mask returns the multipliers (0 or 1/(1-p)) of the last training Forward,
// or nil after an identity Forward. It is owned by d and overwritten by the
// next Forward.
func (d *Dropout) Mask() []float32 {
	if d.identity {
		return nil
	}
	return d.mask
}

// WeightDrop is DropConnect on weight matrices (Wan et al. 2013), as AWD-LSTM
// (Merity et al. 2018) applies it to the hidden-to-hidden weights of a
// recurrent layer: one mask per training step, shared by every time step, so
// the recurrence is regularised while the recurrent kernels run unchanged.
//
// Drop before the forward pass. Restore after the backward pass and before
// the optimizer step: it puts the weights back and turns the gradient with
// respect to the dropped weights into the gradient with respect to the
// weights (G ⊙ mask). Restore without a Drop before it does nothing. The
// buffers are reused, so a steady-state step allocates nothing.
type WeightDrop struct {
	saved  [][]float32
	drops  []Dropout
	active bool
}

// Drop saves the values of ps and replaces them by a dropped copy: each
// element is zeroed with probability p and the others scaled by 1/(1-p).
// p = 0 does nothing.
func (w *WeightDrop) Drop(ps []*Param, p float32, rng *rand.Rand) {
	if w.active {
		panic("rnn: WeightDrop.Drop: the previous Drop was not restored")
	}
	if p == 0 {
		return
	}
	if len(w.saved) != len(ps) {
		w.saved = make([][]float32, len(ps))
		w.drops = make([]Dropout, len(ps))
	}
	for i, q := range ps {
		w.saved[i] = append(w.saved[i][:0], q.W...)
		w.drops[i].Forward(q.W, w.saved[i], p, rng, true)
	}
	w.active = true
}

// Restore undoes the last Drop on the same ps: the saved values come back and
// each gradient is multiplied by its mask.
func (w *WeightDrop) Restore(ps []*Param) {
	if !w.active {
		return
	}
	for i, q := range ps {
		copy(q.W, w.saved[i])
		w.drops[i].Backward(q.G, q.G)
	}
	w.active = false
}
