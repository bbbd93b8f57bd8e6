package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseGo(t *testing.T) {
	m := metric{GoBench: "BenchmarkW1TrainStep", GoUnit: "chars/s"}
	out := []byte(`goos: linux
BenchmarkW1TrainStepX-2 1 5 ns/op 1 chars/s
BenchmarkW1TrainStep-2   	      15	 695656208 ns/op	      5212 chars/cpu-s	      2944 chars/s	  174885 B/op	       1 allocs/op
PASS
`)
	s, err := parseGo(out, m)
	if err != nil {
		t.Fatal(err)
	}
	if s.Value != 2944 || s.CPUValue != 5212 {
		t.Fatalf("got %+v, want value 2944, cpu 5212", s)
	}
	// GOMAXPROCS=1: no -N suffix.
	s, err = parseGo([]byte("BenchmarkW1TrainStep 2 1 ns/op 10 chars/s 20 chars/cpu-s\n"), m)
	if err != nil || s.Value != 10 || s.CPUValue != 20 {
		t.Fatalf("no suffix: %+v, %v", s, err)
	}
	if _, err := parseGo([]byte("BenchmarkW1TrainStep-2 2 1 ns/op\n"), m); err == nil {
		t.Fatal("want an error for a line without the metric")
	}
	if _, err := parseGo([]byte("PASS\n"), m); err == nil {
		t.Fatal("want an error for missing benchmark line")
	}
}

func TestParsePy(t *testing.T) {
	out := []byte(`warning: something
{"workload": "W3", "metric": "train", "value": 100.5, "unit": "tokens/s", "cpu_value": 50, "threads": 1}
{"workload": "W3", "metric": "infer", "value": 7, "unit": "reviews/s", "cpu_value": null, "threads": 1}
`)
	s, err := parsePy(out, metric{PyMetric: "infer"})
	if err != nil || s.Value != 7 || s.CPUValue != 0 || s.Unit != "reviews/s" {
		t.Fatalf("infer: %+v, %v", s, err)
	}
	s, err = parsePy(out, metric{PyMetric: "train"})
	if err != nil || s.Value != 100.5 || s.CPUValue != 50 {
		t.Fatalf("train: %+v, %v", s, err)
	}
	if _, err := parsePy(out, metric{PyMetric: "greedy"}); err == nil {
		t.Fatal("want an error for a missing metric")
	}
}

func TestSummarizeRatios(t *testing.T) {
	m := metric{Workload: "W1", Name: "x", GoUnit: "chars/s", Target: 1}
	var ss []sample
	for rep, v := range [][2]float64{{10, 5}, {30, 10}, {8, 8}} { // ratios 2, 3, 1
		ss = append(ss,
			sample{Rep: rep, Side: "rnnkit", Workload: "W1", Metric: "x", Value: v[0], CPUValue: v[0], RSSKiB: 1024},
			sample{Rep: rep, Side: "pytorch", Workload: "W1", Metric: "x", Value: v[1], CPUValue: 2 * v[1], RSSKiB: 4096})
	}
	s := summarize(m, ss)
	if s.ratio != 2 || s.ratioLo != 1 || s.ratioHi != 3 || s.cpuRatio != 1 {
		t.Fatalf("ratios %v (%v-%v), cpu %v; want 2 (1-3), cpu 1", s.ratio, s.ratioLo, s.ratioHi, s.cpuRatio)
	}
	if s.goV != 10 || s.pyV != 8 || s.goRSS != 1 || s.pyRSS != 4 {
		t.Fatalf("medians %+v", s)
	}
	var buf bytes.Buffer
	report(&buf, options{reps: 3}, []metric{m}, ss, map[string]string{}, map[string]string{}, "1.13", nil, "1 1 1", "1 1 1", time.Second)
	if !strings.Contains(buf.String(), "**2.00x** (1.00-3.00)") || !strings.Contains(buf.String(), "0.25x: met") {
		t.Fatalf("report:\n%s", buf.String())
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestWorkloadTable(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range metrics {
		k := mkey(m)
		if seen[k] {
			t.Errorf("duplicate metric %s", k)
		}
		seen[k] = true
		if m.GoN <= 0 || m.GoQuick <= 0 || m.Target <= 0 || m.PyMetric == "" || !strings.HasSuffix(m.GoUnit, "/s") {
			t.Errorf("%s: incomplete entry %+v", k, m)
		}
	}
}
