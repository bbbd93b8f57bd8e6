package rnn

import "errors"

// ErrNonFinite reports a NaN or Inf loss or gradient in training. The
// applications' ErrNonFinite (charrnn, sentiment, seq2seq) are this error,
// so errors.Is(err, rnn.ErrNonFinite) holds for a run of any of them.
var ErrNonFinite = errors.New("non-finite loss or gradient")
