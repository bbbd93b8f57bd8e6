package sentiment

// Quantize switches the model's inference to int8 weights, as PyTorch's
// quantize_dynamic does for nn.LSTM and nn.Linear: the encoder's W_ih and
// W_hh and the classifier's weight become int8 with one scale per output
// row, and each product quantizes its input per row (rnn.Layer.Quantize,
// rnn.Linear.Quantize). The embedding table, the attention pooling's scores
// and the biases stay float32. It costs a copy of the quantized matrices (a
// quarter of their float32 size); the float32 weights stay as they are, so
// Save still writes them.
//
// It is for inference (Predict, PredictBatch, Evaluate, ...): do not train a
// quantized model. Call it before the model is used by several goroutines.
func (m *Model) Quantize() {
	m.rnn.Quantize()
	m.fc.Quantize()
}

// Quantized reports whether Quantize has been called.
func (m *Model) Quantized() bool { return m.rnn.Quantized() }
