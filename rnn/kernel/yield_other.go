//go:build !linux

package kernel

// osYield is a no-op where sched_yield is not at hand (runtime.Gosched
// alone yields the processor to other goroutines).
func osYield() {}
