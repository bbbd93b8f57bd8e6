package main

import "testing"

// BenchmarkColdLoadCharRNN loads the embedded generate default as
// `rnnkit generate` does (the load part of cold start).
func BenchmarkColdLoadCharRNN(b *testing.B) {
	for b.Loop() {
		if _, _, err := loadCharRNN("", nil, "auto"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdGenerate1 runs `rnnkit generate -n 1` in-process: cold start
// without the process's own start-up.
func BenchmarkColdGenerate1(b *testing.B) {
	for b.Loop() {
		if _, stderr, err := runCLI(b, "generate", "-n", "1", "-q"); err != nil {
			b.Fatal(err, stderr)
		}
	}
}
