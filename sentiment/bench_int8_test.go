package sentiment

import "testing"

// BenchmarkW3InferInt8 is BenchmarkW3Infer on the quantized model
// (Model.Quantize). Reports reviews/s.
func BenchmarkW3InferInt8(b *testing.B) {
	m, ids := w3(b, 64)
	m.Quantize()
	m.PredictIDs(ids)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		m.PredictIDs(ids)
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "reviews/s")
	b.ReportMetric(float64(b.N*64)/(cpuTime()-cpu0).Seconds(), "reviews/cpu-s")
}
