package seq2seq

import "testing"

// BenchmarkW4GreedyInt8 is BenchmarkW4Greedy on the quantized model
// (Model.Quantize). Reports sentences/s.
func BenchmarkW4GreedyInt8(b *testing.B) { benchDecode(b, 1, true) }

// BenchmarkW4Beam5Int8 is BenchmarkW4Beam5 on the quantized model.
func BenchmarkW4Beam5Int8(b *testing.B) { benchDecode(b, 5, true) }
