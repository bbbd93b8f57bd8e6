package fit

import "github.com/rnnkit/rnnkit/rnn"

// Stateful truncated BPTT (charrnn, the sentiment LM) walks B contiguous
// streams of tokens in windows (StreamWindow). The recurrent state it
// carries from one window to the next is part of a checkpoint (CarryTensors,
// RestoreCarry), so that a resumed run is bit-identical.

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

// StreamWindow fills in and tgt, (tw, B) time-major, with a window of B
// contiguous streams cut from ids, stream b being ids[b*streamLen:]: for
// each time t < tw, in holds the token at start+t of every stream and tgt
// the one after it, the token to predict. ids must hold
// (B-1)*streamLen+start+tw+1 tokens at least.
func StreamWindow(in, tgt, ids []int32, streamLen, start, tw, B int) {
	for t := 0; t < tw; t++ {
		for b := 0; b < B; b++ {
			i := b*streamLen + start + t
			in[t*B+b], tgt[t*B+b] = ids[i], ids[i+1]
		}
	}
}
