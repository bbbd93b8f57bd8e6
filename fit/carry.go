package fit

import "github.com/rnnkit/rnnkit/rnn"

// The recurrent state that stateful truncated BPTT (charrnn, the
// sentiment LM) carries from one window to the next is part of a
// checkpoint, so that a resumed run is bit-identical.

// CarryTensors appends the carried state s to ts as the checkpoint tensors
// prefix+"h" and, for an LSTM, prefix+"c". The tensors share s's memory.
func CarryTensors(ts []rnn.Tensor, prefix string, s *rnn.State) []rnn.Tensor {
	ts = append(ts, rnn.Tensor{Name: prefix + "h", Shape: []int{len(s.H)}, Data: s.H})
	if s.C != nil {
		ts = append(ts, rnn.Tensor{Name: prefix + "c", Shape: []int{len(s.C)}, Data: s.C})
	}
	return ts
}

// RestoreCarry copies the tensors prefix+"h" and prefix+"c" of run into s,
// as CarryTensors saved them. It returns ErrOtherRun when their sizes are
// not s's (another model or batch size).
func RestoreCarry(run *rnn.RunState, prefix string, s *rnn.State) error {
	h, c := run.Tensor(prefix+"h"), run.Tensor(prefix+"c")
	if len(h) != len(s.H) || len(c) != len(s.C) {
		return ErrOtherRun
	}
	copy(s.H, h)
	copy(s.C, c)
	return nil
}
