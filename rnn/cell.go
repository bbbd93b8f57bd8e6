package rnn

import (
	"fmt"
	"strings"
)

// Cell is the recurrent cell type. The equations are PyTorch's, so weights
// interchange with torch.nn.RNN, torch.nn.LSTM and torch.nn.GRU:
//
// Tanh and ReLU (torch.nn.RNN, keras SimpleRNN):
//
//	h' = act(W_ih x + b_ih + W_hh h + b_hh)
//
// LSTM (Hochreiter & Schmidhuber 1997; gate rows in the order i, f, g, o):
//
//	i = σ(W_ii x + b_ii + W_hi h + b_hi)
//	f = σ(W_if x + b_if + W_hf h + b_hf)
//	g = tanh(W_ig x + b_ig + W_hg h + b_hg)
//	o = σ(W_io x + b_io + W_ho h + b_ho)
//	c' = f ⊙ c + i ⊙ g
//	h' = o ⊙ tanh(c')
//
// GRU (Cho et al. 2014, in torch's form with the reset applied after the
// hidden matmul; gate rows in the order r, z, n):
//
//	r = σ(W_ir x + b_ir + W_hr h + b_hr)
//	z = σ(W_iz x + b_iz + W_hz h + b_hz)
//	n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//	h' = (1 − z) ⊙ n + z ⊙ h
type Cell int

// The cell types.
const (
	Tanh Cell = iota // simple RNN with tanh (torch nonlinearity="tanh")
	ReLU             // simple RNN with ReLU (torch nonlinearity="relu")
	LSTM
	GRU
)

var cellNames = [...]string{"rnn_tanh", "rnn_relu", "lstm", "gru"}

// String returns the cell's name as used in configs: rnn_tanh, rnn_relu, lstm, gru.
func (c Cell) String() string {
	if c < 0 || int(c) >= len(cellNames) {
		return fmt.Sprintf("Cell(%d)", int(c))
	}
	return cellNames[c]
}

// ParseCell accepts rnn_tanh (or tanh, rnn), rnn_relu (or relu), lstm and gru, in any case.
func ParseCell(s string) (Cell, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "rnn_tanh", "tanh", "rnn":
		return Tanh, nil
	case "rnn_relu", "relu":
		return ReLU, nil
	case "lstm":
		return LSTM, nil
	case "gru":
		return GRU, nil
	}
	return 0, fmt.Errorf("unknown cell %q (want lstm, gru, rnn_tanh or rnn_relu)", s)
}

// MarshalText implements encoding.TextMarshaler (configs store the name).
func (c Cell) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Cell) UnmarshalText(b []byte) error {
	v, err := ParseCell(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Gates is the number of gate blocks stacked in the weight rows: 1 for the
// simple RNN, 4 for LSTM, 3 for GRU.
func (c Cell) Gates() int {
	switch c {
	case LSTM:
		return 4
	case GRU:
		return 3
	}
	return 1
}

// cellForward applies the gate nonlinearities and the state update for one
// batch row. g holds the pre-activations (G*H): for LSTM and the simple RNN
// both the input and hidden parts summed; for GRU only the input part, with
// the hidden part in gh (3H). On return g holds the activated gates (LSTM:
// i,f,g,o; GRU: r,z,n), ghn (GRU) the hidden part of n, and h, c the new state.
func cellForward(cell Cell, hn, cn, g, gh, ghn, hp, cp, tc []float32) {
	H := len(hn)
	switch cell {
	case Tanh:
		copy(hn, g[:H])
		tanhVec(hn)
	case ReLU:
		for j := 0; j < H; j++ {
			hn[j] = max(g[j], 0)
		}
	case LSTM:
		// Nonlinearities on whole gate blocks (vectorized), then the state.
		gi, gf, gg, go_ := g[:H], g[H:2*H], g[2*H:3*H], g[3*H:4*H]
		sigmoidVec(g[:2*H]) // i, f
		tanhVec(gg)
		sigmoidVec(go_)
		for j := 0; j < H; j++ {
			c := gf[j]*cp[j] + gi[j]*gg[j]
			cn[j] = c
			tc[j] = c
		}
		tanhVec(tc[:H])
		for j := 0; j < H; j++ {
			hn[j] = go_[j] * tc[j]
		}
	case GRU:
		gr, gz, gn := g[:H], g[H:2*H], g[2*H:3*H]
		hnn := gh[2*H : 3*H]
		for j := 0; j < 2*H; j++ {
			g[j] += gh[j] // r and z take the sum of both sides
		}
		sigmoidVec(g[:2*H])
		for j := 0; j < H; j++ {
			gn[j] += gr[j] * hnn[j]
			ghn[j] = hnn[j]
		}
		tanhVec(gn)
		for j := 0; j < H; j++ {
			hn[j] = (1-gz[j])*gn[j] + gz[j]*hp[j]
		}
	}
}

// cellBackward is the backward of cellForward for one batch row. On entry dh
// holds dL/dh' and dc dL/dc' (LSTM). It writes the pre-activation gradients
// dgx (input side) and dgh (hidden side; the same as dgx except for GRU),
// and replaces dh and dc with the parts of dL/dh and dL/dc that do not flow
// through W_hh (the caller adds dgh·W_hh to dh).
func cellBackward(cell Cell, dgx, dgh, dh, dc, g, ghn, ho, hp, cp, tc []float32) {
	H := len(dh)
	switch cell {
	case Tanh:
		for j := 0; j < H; j++ {
			dgx[j] = dh[j] * (1 - ho[j]*ho[j])
			dh[j] = 0
		}
	case ReLU:
		for j := 0; j < H; j++ {
			if ho[j] > 0 {
				dgx[j] = dh[j]
			} else {
				dgx[j] = 0
			}
			dh[j] = 0
		}
	case LSTM:
		gi, gf, gg, go_ := g[:H], g[H:2*H], g[2*H:3*H], g[3*H:4*H]
		di, df, dg, do := dgx[:H], dgx[H:2*H], dgx[2*H:3*H], dgx[3*H:4*H]
		for j := 0; j < H; j++ {
			i, f, gv, o, t := gi[j], gf[j], gg[j], go_[j], tc[j]
			dcj := dc[j] + dh[j]*o*(1-t*t)
			do[j] = dh[j] * t * o * (1 - o)
			di[j] = dcj * gv * i * (1 - i)
			df[j] = dcj * cp[j] * f * (1 - f)
			dg[j] = dcj * i * (1 - gv*gv)
			dc[j] = dcj * f
			dh[j] = 0
		}
	case GRU:
		gr, gz, gn := g[:H], g[H:2*H], g[2*H:3*H]
		xr, xz, xn := dgx[:H], dgx[H:2*H], dgx[2*H:3*H]
		hr, hz, hn := dgh[:H], dgh[H:2*H], dgh[2*H:3*H]
		for j := 0; j < H; j++ {
			r, z, n, d := gr[j], gz[j], gn[j], dh[j]
			dn := d * (1 - z) * (1 - n*n)
			dz := d * (hp[j] - n) * z * (1 - z)
			dr := dn * ghn[j] * r * (1 - r)
			xr[j], xz[j], xn[j] = dr, dz, dn
			hr[j], hz[j], hn[j] = dr, dz, dn*r
			dh[j] = d * z
		}
	}
}
