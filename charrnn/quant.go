package charrnn

// Quantize switches the model's inference (Generator, Evaluate) to int8
// weights, as PyTorch's quantize_dynamic does for nn.LSTM and nn.Linear:
// the recurrent layers' W_ih and W_hh and the output layer's weight become
// int8 with one scale per output row, and each product quantizes its input
// per row (rnn.Layer.Quantize, rnn.Linear.Quantize). The embedding and the
// biases stay float32, and the float32 weights are kept, so Save still
// writes them. A quantized model no longer takes the half-precision path
// of batch-1 generation (rnn.Layer.NewInferenceSeq).
//
// It is for inference: do not train a quantized model. Call it before the
// model is used by several goroutines.
func (m *Model) Quantize() {
	m.rnn.Quantize()
	m.dec.Quantize()
}

// Quantized reports whether Quantize has been called.
func (m *Model) Quantized() bool { return m.rnn.Quantized() }
