package seq2seq

// Quantize switches the model's inference (Translate, Evaluate) to int8
// weights, as PyTorch's quantize_dynamic does for nn.GRU, nn.LSTM and
// nn.Linear: W_ih and W_hh of the encoder and decoder, the bridge, the
// attention's projections and the output layer (and the tied model's
// pre-output projection) become int8 with one scale per output row, and
// each product quantizes its input per row (rnn.Layer.Quantize,
// rnn.Linear.Quantize). The embeddings, the attention scores and the biases
// stay float32; a tied output layer gets its own int8 copy of the
// embedding. The float32 weights are kept, so Save still writes them.
//
// It is for inference: do not train a quantized model. Call it before the
// model is used by several goroutines.
func (m *Model) Quantize() {
	m.enc.Quantize()
	m.dec.Quantize()
	m.attn.Quantize()
	m.bridge.Quantize()
	if m.preOut != nil {
		m.preOut.Quantize()
	}
	m.out.Quantize()
}

// Quantized reports whether Quantize has been called.
func (m *Model) Quantized() bool { return m.enc.Quantized() }
