package main

import (
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

type summary struct {
	m                       metric
	goV, goC, pyV, pyC      float64 // medians
	ratio, ratioLo, ratioHi float64 // median, min, max of per-repetition wall ratios
	cpuRatio                float64 // median of per-repetition CPU-second ratios
	goRSS, pyRSS            float64 // MiB, medians
	nGo, nPy                int
}

func summarize(m metric, samples []sample) summary {
	s := summary{m: m}
	byRep := map[int]map[string]sample{}
	var goV, goC, pyV, pyC, goR, pyR []float64
	for _, x := range samples {
		if x.Workload != m.Workload || x.Metric != m.Name {
			continue
		}
		if byRep[x.Rep] == nil {
			byRep[x.Rep] = map[string]sample{}
		}
		byRep[x.Rep][x.Side] = x
		if x.Side == "rnnkit" {
			goV, goC, goR = append(goV, x.Value), append(goC, x.CPUValue), append(goR, mib(x.RSSKiB))
		} else {
			pyV, pyC, pyR = append(pyV, x.Value), append(pyC, x.CPUValue), append(pyR, mib(x.RSSKiB))
		}
	}
	s.nGo, s.nPy = len(goV), len(pyV)
	s.goV, s.goC, s.pyV, s.pyC = median(goV), median(goC), median(pyV), median(pyC)
	s.goRSS, s.pyRSS = median(goR), median(pyR)
	var rs, cr []float64
	for _, p := range byRep {
		g, okG := p["rnnkit"]
		py, okP := p["pytorch"]
		if okG && okP && py.Value > 0 {
			rs = append(rs, g.Value/py.Value)
			if py.CPUValue > 0 {
				cr = append(cr, g.CPUValue/py.CPUValue)
			}
		}
	}
	if len(rs) > 0 {
		s.ratio, s.ratioLo, s.ratioHi = median(rs), slices.Min(rs), slices.Max(rs)
	}
	s.cpuRatio = median(cr)
	return s
}

func report(w io.Writer, o options, sel []metric, samples []sample, goSkip, pySkip map[string]string,
	torch string, cold *coldResult, load0, load1 string, elapsed time.Duration) {
	fmt.Fprintf(w, "## rnnkit vs PyTorch, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	tv := torch
	if tv == "" {
		tv = "not available"
	}
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %s; PyTorch %s (1 torch thread, OpenBLAS at its default threads). "+
		"Load average %s at the start, %s at the end; %d repetition(s) per side, alternating; %s in all.\n\n",
		cpuModel(), runtime.NumCPU(), goVersion(), tv, load0, load1, o.reps, elapsed.Round(time.Second))
	fmt.Fprintln(w, "Throughput is the median over repetitions, per wall-clock second and per CPU-second of the process "+
		"(user+system, all threads). Ratios are rnnkit/PyTorch: the median of the per-repetition ratios, with their range; "+
		"higher is better. RSS is each side's peak resident set (child-process rusage), median over repetitions; lower is better.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | metric | rnnkit | PyTorch | ratio (range) | rnnkit /cpu-s | PyTorch /cpu-s | ratio /cpu-s | target | rnnkit RSS | PyTorch RSS | RSS ratio (target <= 0.5x) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
	for _, m := range sel {
		s := summarize(m, samples)
		cell := func(v float64, n int, reason string) string {
			if n == 0 {
				return "n/a (" + reason + ")"
			}
			return fmtNum(v)
		}
		gs, ps := goSkip[mkey(m)], pySkip[mkey(m)]
		row := []string{m.Workload, m.Name + " (" + m.GoUnit + ")",
			cell(s.goV, s.nGo, gs), cell(s.pyV, s.nPy, ps)}
		if s.ratio > 0 {
			row = append(row, fmt.Sprintf("**%.2fx** (%.2f-%.2f)", s.ratio, s.ratioLo, s.ratioHi))
		} else {
			row = append(row, "-")
		}
		row = append(row, cell(s.goC, s.nGo, gs), cell(s.pyC, s.nPy, ps))
		if s.cpuRatio > 0 {
			row = append(row, fmt.Sprintf("%.2fx", s.cpuRatio))
		} else {
			row = append(row, "-")
		}
		verdict := fmt.Sprintf(">= %gx: ", m.Target)
		switch {
		case s.ratio == 0:
			verdict += "not measured"
		case s.ratio >= m.Target:
			verdict += "met"
		default:
			verdict += "**not met**"
		}
		row = append(row, verdict)
		rssCell := func(v float64, n int) string {
			if n == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f MiB", v)
		}
		row = append(row, rssCell(s.goRSS, s.nGo), rssCell(s.pyRSS, s.nPy))
		if s.nGo > 0 && s.nPy > 0 && s.pyRSS > 0 {
			r := s.goRSS / s.pyRSS
			v := "met"
			if r > rssTarget {
				v = "**not met**"
			}
			row = append(row, fmt.Sprintf("%.2fx: %s", r, v))
		} else {
			row = append(row, "-")
		}
		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
	fmt.Fprintln(w)
	for _, m := range sel {
		fmt.Fprintf(w, "- %s: %s. rnnkit: `%s` in ./%s (-benchtime %dx); PyTorch: `bench/pytorch/%s %s`.\n",
			m.Workload, m.Config, m.GoBench, m.GoPkg, pick(o.quick, m.GoQuick, m.GoN), m.Py, strings.Join(pickS(o.quick, m.PyQuick, m.PyArgs), " "))
	}
	if cold != nil {
		v := "met"
		if cold.MedianMs >= coldStartTargetMs {
			v = "**not met**"
		}
		fmt.Fprintf(w, "\nCold start: `%s` from a built binary: median **%.1f ms** (min %.1f, max %.1f, %d runs), peak RSS %.0f MiB; target < %d ms: %s.\n",
			cold.Command, cold.MedianMs, cold.MinMs, cold.MaxMs, len(cold.Runs), mib(cold.RSSKiB), coldStartTargetMs, v)
		if cold.Note != "" {
			fmt.Fprintf(w, "(%s.)\n", cold.Note)
		}
	}
}

func pick(q bool, a, b int) int {
	if q {
		return a
	}
	return b
}

func pickS(q bool, a, b []string) []string {
	if q {
		return a
	}
	return b
}

func fmtNum(v float64) string {
	switch {
	case v >= 100:
		return commas(int64(v + 0.5))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}
