package seq2seq

import (
	"testing"
	"time"
)

// BenchmarkW4GreedyInt8 is BenchmarkW4Greedy on the quantized model
// (Model.Quantize). Reports sentences/s.
func BenchmarkW4GreedyInt8(b *testing.B) { benchDecodeInt8(b, 1) }

// BenchmarkW4Beam5Int8 is BenchmarkW4Beam5 on the quantized model.
func BenchmarkW4Beam5Int8(b *testing.B) { benchDecodeInt8(b, 5) }

func benchDecodeInt8(b *testing.B, beam int) {
	m, srcs, _ := w4(b)
	m.Quantize()
	inf := newInfer(m)
	opt := TranslateOptions{Beam: beam, MaxLenRatio: 0.75, LengthPenalty: 1}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for i := 0; i < b.N; i++ {
		if beam > 1 {
			for lo := 0; lo < len(srcs); lo += 64 / beam {
				inf.beam(srcs[lo:min(lo+64/beam, len(srcs))], opt)
			}
		} else {
			inf.greedy(srcs, opt)
		}
		n += len(srcs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "sentences/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "sentences/cpu-s")
}
