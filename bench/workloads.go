package main

// The workload table. Adding a workload (or a metric of one) is one entry:
// the Go benchmark that measures rnnkit's side, the PyTorch script that
// measures the reference, and the target ratio from issue 8.
//
// The rnnkit side runs the package's compiled test binary:
//
//	<pkg>.test -test.run '^$' -test.bench '^<Bench>$' -test.benchtime <N>x
//
// so it measures exactly the benchmark `go test -bench` runs, which drives
// the same code paths as the library's Train/Generate/Predict. The benchmark
// must report the metric under GoUnit (for example "chars/s") and, for the
// per-CPU-second figure, the same unit with "/s" replaced by "/cpu-s".
//
// The PyTorch side runs `python3 bench/pytorch/<Py> <PyArgs>`, which prints
// JSON lines {"workload","metric","value","unit","cpu_value",...}; the line
// whose "metric" equals PyMetric is used.
//
// Metrics of one workload that share a script and its arguments share one
// PyTorch process per repetition; their Go benchmarks (same package and
// GoN) then also share one test binary run, so the peak RSS of both sides
// covers the same work (for W3 and W4: training, then inference).

type metric struct {
	Workload string // W1..W4 (docs/DESIGN.md)
	Name     string // what is measured, e.g. "training"
	Config   string // one-line config, for the table's footnotes

	GoPkg        string // package directory relative to the module root
	GoBench      string // benchmark function name
	GoUnit       string // metric unit reported by the benchmark (per wall second)
	GoN, GoQuick int    // -benchtime iterations (normal, --quick)

	Py              string   // script under bench/pytorch
	PyArgs, PyQuick []string // arguments (normal, --quick)
	PyMetric        string   // "metric" field of the JSON line to use

	Target float64 // rnnkit/PyTorch throughput ratio to reach (issue 8)
}

var metrics = []metric{
	{
		Workload: "W1", Name: "char-LSTM training", Config: "vocab 65+4, emb 64, LSTM 2x256, batch 32, seq 64, Adam, clip 5",
		GoPkg: "charrnn", GoBench: "BenchmarkW1TrainStep", GoUnit: "chars/s", GoN: 15, GoQuick: 3,
		Py: "w1.py", PyArgs: []string{"--steps", "15", "--warmup", "3"}, PyQuick: []string{"--steps", "3", "--warmup", "1"},
		PyMetric: "train", Target: 1,
	},
	{
		Workload: "W2", Name: "char-LSTM sampling", Config: "W1 model, batch 1, temperature 0.8",
		GoPkg: "charrnn", GoBench: "BenchmarkW2Sample", GoUnit: "chars/s", GoN: 3000, GoQuick: 300,
		Py: "w2.py", PyArgs: []string{"--chars", "1000", "--warmup", "50"}, PyQuick: []string{"--chars", "200", "--warmup", "20"},
		PyMetric: "sample", Target: 10,
	},
	{
		Workload: "W3", Name: "sentiment training", Config: "vocab 20k, emb 128, BiLSTM 128, max-pool, Linear to 2, batch 64, 256 tokens, Adam",
		GoPkg: "sentiment", GoBench: "BenchmarkW3Train", GoUnit: "tokens/s", GoN: 5, GoQuick: 1,
		Py: "w3.py", PyArgs: []string{"--steps", "5", "--warmup", "1", "--infer-batches", "5"}, PyQuick: []string{"--steps", "1", "--warmup", "1", "--infer-batches", "1"},
		PyMetric: "train", Target: 1,
	},
	{
		Workload: "W3", Name: "sentiment inference", Config: "same model, batches of 64 reviews of 256 tokens",
		GoPkg: "sentiment", GoBench: "BenchmarkW3Infer", GoUnit: "reviews/s", GoN: 5, GoQuick: 1,
		Py: "w3.py", PyArgs: []string{"--steps", "5", "--warmup", "1", "--infer-batches", "5"}, PyQuick: []string{"--steps", "1", "--warmup", "1", "--infer-batches", "1"},
		PyMetric: "infer", Target: 1,
	},
	{
		Workload: "W4", Name: "seq2seq training", Config: "vocab 8k/8k, emb 128, bi-GRU 256 encoder, GRU 256 decoder, additive attention, batch 64, 20 tokens, Adam, clip 5",
		GoPkg: "seq2seq", GoBench: "BenchmarkW4Train", GoUnit: "pairs/s", GoN: 4, GoQuick: 1,
		Py: "w4.py", PyArgs: []string{"--steps", "4", "--warmup", "1", "--infer-batches", "4"}, PyQuick: []string{"--steps", "1", "--warmup", "1", "--infer-batches", "1"},
		PyMetric: "train", Target: 1,
	},
	{
		Workload: "W4", Name: "seq2seq greedy decoding", Config: "same model, batch 64, 20 output tokens",
		GoPkg: "seq2seq", GoBench: "BenchmarkW4Greedy", GoUnit: "sentences/s", GoN: 4, GoQuick: 1,
		Py: "w4.py", PyArgs: []string{"--steps", "4", "--warmup", "1", "--infer-batches", "4"}, PyQuick: []string{"--steps", "1", "--warmup", "1", "--infer-batches", "1"},
		PyMetric: "greedy", Target: 1,
	},
	// int8 inference (issue 20): rnnkit's Model.Quantize against PyTorch's
	// quantize_dynamic on the same model (bench/pytorch/benchutil.py
	// quantize_int8; fbgemm where torch has it, else onednn), with two torch
	// threads: PyTorch's int8 kernels do not use OpenBLAS, and on an idle
	// two-core machine two threads decode W4 1.5-1.6x faster than one
	// (2026-12-02), so two is its best setting there.
	{
		Workload: "W3", Name: "sentiment inference int8", Config: "W3 model quantized (int8 weights, dynamic activations), batches of 64 reviews of 256 tokens; PyTorch with 2 torch threads",
		GoPkg: "sentiment", GoBench: "BenchmarkW3InferInt8", GoUnit: "reviews/s", GoN: 5, GoQuick: 1,
		Py: "w3.py", PyArgs: []string{"--quantize", "int8", "--threads", "2", "--warmup", "1", "--infer-batches", "5"}, PyQuick: []string{"--quantize", "int8", "--warmup", "1", "--infer-batches", "1"},
		PyMetric: "infer_int8", Target: 2,
	},
	{
		Workload: "W4", Name: "seq2seq greedy decoding int8", Config: "W4 model quantized, batch 64, 20 output tokens; PyTorch with 2 torch threads",
		GoPkg: "seq2seq", GoBench: "BenchmarkW4GreedyInt8", GoUnit: "sentences/s", GoN: 12, GoQuick: 1,
		Py: "w4.py", PyArgs: []string{"--quantize", "int8", "--threads", "2", "--warmup", "1", "--infer-batches", "12"}, PyQuick: []string{"--quantize", "int8", "--warmup", "1", "--infer-batches", "1"},
		PyMetric: "greedy_int8", Target: 2,
	},
}

// rssTarget is the peak-RSS ratio (rnnkit/PyTorch) to stay under (issue 8).
const rssTarget = 0.5

// coldStartTargetMs is the wall time of `rnnkit generate -n 1` to stay
// under (issue 20: < 50 ms).
const coldStartTargetMs = 50
