package charrnn

import "testing"

// BenchmarkW2SampleInt8 is BenchmarkW2Sample on the quantized model
// (Model.Quantize). Reports chars/s.
func BenchmarkW2SampleInt8(b *testing.B) { benchSample(b, true, 1) }
