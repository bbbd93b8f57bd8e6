package charrnn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkW2SampleInt8 is BenchmarkW2Sample on the quantized model
// (Model.Quantize). Reports chars/s.
func BenchmarkW2SampleInt8(b *testing.B) {
	m, _ := w1Model(b)
	roundToHalf(b, m.Params)
	m.Quantize()
	g := m.NewGenerator()
	rng := rand.New(rand.NewPCG(3, 3))
	g.Feed(5)
	opt := SampleOptions{Temperature: 0.8}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		g.Feed(g.Sample(rng, opt))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chars/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "chars/cpu-s")
}
