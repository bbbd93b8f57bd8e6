// Command bench runs rnnkit's workloads W1-W4 (docs/DESIGN.md) against the
// PyTorch reference scripts in bench/pytorch, alternating the two sides in
// one sitting, and prints a Markdown table of medians, ratios and peak RSS.
//
//	go run ./bench                       # every workload, 5 repetitions
//	go run ./bench --workloads W1,W2 --reps 3
//	go run ./bench --quick               # a smoke run: 1 repetition, few steps
//
// Each side of each workload runs as its own child process, so its peak RSS
// is the child's rusage ru_maxrss. The rnnkit side is the package's compiled
// test binary running one Benchmark (see workloads.go); the PyTorch side is
// a script printing JSON lines. Throughput is given per wall-clock second and
// per CPU-second (user+system of the whole process over the timed loop): on
// a shared machine the second is the steadier one. Ratios are rnnkit over
// PyTorch, as the median of the per-repetition ratios (the two sides run back
// to back, in alternating order).
//
// Cold start is the wall time of `rnnkit generate -n 1` from a built binary.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	workloads  string
	reps       int
	quick      bool
	python     string
	coldStart  bool
	coldRuns   int
	out        string
	jsonOut    string
	profileDir string
	keep       bool
}

func main() {
	var o options
	flag.StringVar(&o.workloads, "workloads", "W1,W2,W3,W4", "comma-separated workloads to run")
	flag.IntVar(&o.reps, "reps", 5, "repetitions of each side (medians are reported)")
	flag.BoolVar(&o.quick, "quick", false, "smoke run: 1 repetition (unless --reps is given), few steps, 5 cold starts")
	flag.StringVar(&o.python, "python", "/usr/bin/python3", "Python interpreter with torch")
	flag.BoolVar(&o.coldStart, "coldstart", true, "time `rnnkit generate -n 1` from a built binary")
	flag.IntVar(&o.coldRuns, "cold-runs", 15, "cold-start runs (median reported)")
	flag.StringVar(&o.out, "o", "", "also write the Markdown report to this file")
	flag.StringVar(&o.jsonOut, "json", "", "write every raw measurement as JSON to this file")
	flag.StringVar(&o.profileDir, "profile", "", "write a CPU profile of each rnnkit benchmark (last repetition) to this directory")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary build directory")
	flag.Parse()
	repsSet := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "reps" {
			repsSet = true
		}
	})
	if o.quick && !repsSet {
		o.reps = 1
	}
	if o.quick && o.coldRuns == 15 {
		o.coldRuns = 5
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sample is one measurement of one side in one repetition.
type sample struct {
	Rep      int     `json:"rep"`
	Side     string  `json:"side"` // "rnnkit" or "pytorch"
	Workload string  `json:"workload"`
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`     // per wall second
	CPUValue float64 `json:"cpu_value"` // per CPU-second
	Unit     string  `json:"unit"`
	RSSKiB   int64   `json:"rss_kib"`
}

// job is one child process; metrics sharing a command share the job.
type job struct {
	side string
	dir  string
	argv []string
}

func (j job) key() string { return j.side + "\x00" + strings.Join(j.argv, "\x00") }

type result struct {
	stdout []byte
	rss    int64 // KiB
	err    error
}

func run(o options) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, w := range strings.Split(o.workloads, ",") {
		if w = strings.TrimSpace(strings.ToUpper(w)); w != "" {
			want[w] = true
		}
	}
	var sel []metric
	for _, m := range metrics {
		if want[m.Workload] {
			sel = append(sel, m)
		}
	}
	for w := range want {
		if !slices.ContainsFunc(metrics, func(m metric) bool { return m.Workload == w }) {
			fmt.Fprintf(os.Stderr, "bench: %s has no entry in bench/workloads.go yet; skipped\n", w)
		}
	}
	tmp, err := os.MkdirTemp("", "rnnkit-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "bench: build directory", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	// Build each package's test binary once; check each benchmark exists.
	bins := map[string]string{}
	goSkip := map[string]string{} // metric key -> reason
	for _, m := range sel {
		if _, ok := bins[m.GoPkg]; ok {
			continue
		}
		bin := filepath.Join(tmp, strings.ReplaceAll(m.GoPkg, "/", "_")+".test")
		logf("building %s test binary", m.GoPkg)
		cmd := exec.Command("go", "test", "-c", "-o", bin, "./"+m.GoPkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			bins[m.GoPkg] = ""
			logf("cannot build ./%s: %v\n%s", m.GoPkg, err, out)
			continue
		}
		bins[m.GoPkg] = bin
	}
	for _, m := range sel {
		bin := bins[m.GoPkg]
		if bin == "" {
			goSkip[mkey(m)] = "package does not build"
			continue
		}
		cmd := exec.Command(bin, "-test.list", "^"+m.GoBench+"$")
		cmd.Dir = filepath.Join(root, m.GoPkg)
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), m.GoBench) {
			goSkip[mkey(m)] = m.GoBench + " not found in ./" + m.GoPkg
		}
	}

	// PyTorch present?
	torchVersion, pyErr := torchVersion(o.python)
	if pyErr != nil {
		fmt.Fprintf(os.Stderr, `bench: PyTorch is not available (%v).
Install it (Debian/Ubuntu) with:

	apt-get install -y python3-torch libopenblas0-pthread

and run with --python /usr/bin/python3. Running rnnkit's side only.
`, pyErr)
	}
	pySkip := map[string]string{}
	for _, m := range sel {
		if pyErr != nil {
			pySkip[mkey(m)] = "torch not importable"
		} else if _, err := os.Stat(filepath.Join(root, "bench", "pytorch", m.Py)); err != nil {
			pySkip[mkey(m)] = "bench/pytorch/" + m.Py + " missing"
		}
	}

	load0 := loadAvg()
	start := time.Now()
	var samples []sample
	for rep := 0; rep < o.reps; rep++ {
		// Alternate which side goes first so slow drifts of the machine's
		// load cancel out of the ratios.
		sides := []string{"rnnkit", "pytorch"}
		if rep%2 == 1 {
			sides = []string{"pytorch", "rnnkit"}
		}
		done := map[string]result{}
		for _, m := range sel {
			for _, side := range sides {
				var j job
				if side == "rnnkit" {
					if goSkip[mkey(m)] != "" {
						continue
					}
					j = goJob(o, root, bins[m.GoPkg], sel, m, rep == o.reps-1)
				} else {
					if pySkip[mkey(m)] != "" {
						continue
					}
					j = pyJob(o, root, m)
				}
				r, ok := done[j.key()]
				if !ok {
					logf("rep %d/%d  %s %s: %s", rep+1, o.reps, m.Workload, side, strings.Join(j.argv, " "))
					r = runJob(j)
					done[j.key()] = r
				}
				if r.err != nil {
					return fmt.Errorf("%s %s: %v", m.Workload, side, r.err)
				}
				var s sample
				var err error
				if side == "rnnkit" {
					s, err = parseGo(r.stdout, m)
				} else {
					s, err = parsePy(r.stdout, m)
				}
				if err != nil {
					return fmt.Errorf("%s %s: %v\n%s", m.Workload, side, err, r.stdout)
				}
				s.Rep, s.Side, s.Workload, s.Metric, s.RSSKiB = rep, side, m.Workload, m.Name, r.rss
				logf("    %s %s %s: %.4g %s, %.4g per cpu-s, RSS %.0f MiB", m.Workload, m.Name, side, s.Value, s.Unit, s.CPUValue, mib(s.RSSKiB))
				samples = append(samples, s)
			}
		}
	}
	elapsed := time.Since(start)

	var cold *coldResult
	if o.coldStart {
		c, err := coldStart(root, tmp, o.coldRuns)
		if err != nil {
			logf("cold start: %v", err)
		} else {
			cold = &c
		}
	}

	var buf bytes.Buffer
	report(&buf, o, sel, samples, goSkip, pySkip, torchVersion, cold, load0, loadAvg(), elapsed)
	os.Stdout.Write(buf.Bytes())
	if o.out != "" {
		if err := os.WriteFile(o.out, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"samples": samples, "coldstart": cold}, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func mkey(m metric) string { return m.Workload + "/" + m.Name }

func goJob(o options, root, bin string, sel []metric, m metric, last bool) job {
	n := m.GoN
	if o.quick {
		n = m.GoQuick
	}
	// Group with the other selected metrics of the workload that share the
	// PyTorch process, so both sides' RSS covers the same work.
	var names []string
	for _, x := range sel {
		if x.Workload == m.Workload && x.GoPkg == m.GoPkg && x.GoN == m.GoN && x.GoQuick == m.GoQuick &&
			x.Py == m.Py && slices.Equal(x.PyArgs, m.PyArgs) {
			names = append(names, x.GoBench)
		}
	}
	argv := []string{bin, "-test.run", "^$", "-test.bench", "^(" + strings.Join(names, "|") + ")$",
		"-test.benchtime", strconv.Itoa(n) + "x", "-test.benchmem"}
	if last && o.profileDir != "" {
		os.MkdirAll(o.profileDir, 0o755)
		p, _ := filepath.Abs(filepath.Join(o.profileDir, strings.Join(names, "+")+".pprof"))
		argv = append(argv, "-test.cpuprofile", p)
	}
	return job{side: "rnnkit", dir: filepath.Join(root, m.GoPkg), argv: argv}
}

func pyJob(o options, root string, m metric) job {
	args := m.PyArgs
	if o.quick {
		args = m.PyQuick
	}
	dir := filepath.Join(root, "bench", "pytorch")
	return job{side: "pytorch", dir: dir, argv: append([]string{o.python, m.Py}, args...)}
}

// runJob runs one child process and returns its stdout and peak RSS.
func runJob(j job) result {
	cmd := exec.Command(j.argv[0], j.argv[1:]...)
	cmd.Dir = j.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = int64(ru.Maxrss) // KiB on Linux
		}
	}
	if err != nil {
		err = fmt.Errorf("%v\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	return result{stdout: stdout.Bytes(), rss: rss, err: err}
}

// parseGo reads the benchmark line:
// BenchmarkW1TrainStep-2  15  123 ns/op  5600 chars/cpu-s  5400 chars/s ...
func parseGo(out []byte, m metric) (sample, error) {
	cpuUnit := strings.TrimSuffix(m.GoUnit, "/s") + "/cpu-s"
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || (f[0] != m.GoBench && !strings.HasPrefix(f[0], m.GoBench+"-")) {
			continue
		}
		s := sample{Unit: m.GoUnit}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case m.GoUnit:
				s.Value = v
			case cpuUnit:
				s.CPUValue = v
			}
		}
		if s.Value == 0 {
			return s, fmt.Errorf("no %s metric in the benchmark output", m.GoUnit)
		}
		return s, nil
	}
	return sample{}, fmt.Errorf("no %s line in the output", m.GoBench)
}

func parsePy(out []byte, m metric) (sample, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r struct {
			Metric   string   `json:"metric"`
			Value    float64  `json:"value"`
			CPUValue *float64 `json:"cpu_value"`
			Unit     string   `json:"unit"`
		}
		if err := json.Unmarshal(line, &r); err != nil || r.Metric != m.PyMetric {
			continue
		}
		s := sample{Value: r.Value, Unit: r.Unit}
		if r.CPUValue != nil {
			s.CPUValue = *r.CPUValue
		}
		return s, nil
	}
	return sample{}, fmt.Errorf("no JSON line with metric %q", m.PyMetric)
}

func torchVersion(python string) (string, error) {
	cmd := exec.Command(python, "-c", "import torch; print(torch.__version__)")
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return "", fmt.Errorf("%s: %v: %s", python, err, lines[len(lines)-1])
	}
	return strings.TrimSpace(string(out)), nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/rnnkit/rnnkit\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the rnnkit module (go run ./bench)")
		}
		dir = parent
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

var _ io.Writer = (*bytes.Buffer)(nil)
