package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool behind Sgemm, SgemmPacked, PackB and Parallel.
//
// A piece of work is handed to a worker only when an idle worker has been
// reserved for it (pool.idle is decremented by compare-and-swap); otherwise
// the caller runs it itself. A handed-off piece therefore never waits for a
// worker that is busy, and nested use (a ParallelFor body that calls Sgemm, a
// GEMM issued from another package's worker goroutine) cannot deadlock: at
// worst it runs on fewer goroutines.

type gemmJob struct {
	kern          *microKernel
	aT, bT        bool
	m, n, k       int
	alpha, beta   float32
	a, b, c       []float32
	lda, ldb, ldc int
	pb            *PackedB // if not nil, op(B) is its columns [pbCol, pbCol+n)
	pbCol         int
}

func (j *gemmJob) run(bufs *packBufs) {
	gemmSerial(bufs, j.kern, j.aT, j.bT, j.m, j.n, j.k, j.alpha, j.a, j.lda, j.b, j.ldb, j.pb, j.pbCol, j.beta, j.c, j.ldc)
}

// task is one piece of work for a worker: a GEMM block or a Parallel range.
type task struct {
	gemm   gemmJob
	r      Ranger
	lo, hi int
	g      *group
}

// group counts the pieces a caller handed off and waits for them.
type group struct {
	pending atomic.Int32
	done    chan struct{}
}

var groupPool = sync.Pool{New: func() any { return &group{done: make(chan struct{}, 64)} }}

func getGroup() *group { return groupPool.Get().(*group) }

var pool struct {
	mu      sync.Mutex
	started atomic.Int32 // workers started; only grows, under mu
	idle    atomic.Int32
	tasks   chan task
}

// spawn hands t to an idle worker and reports whether one took it.
func (g *group) spawn(t task) bool {
	ensureWorkers(numThreads() - 1)
	for {
		n := pool.idle.Load()
		if n <= 0 {
			return false
		}
		if pool.idle.CompareAndSwap(n, n-1) {
			break
		}
	}
	t.g = g
	g.pending.Add(1)
	pool.tasks <- t // a reserved worker is, or is about to be, receiving
	return true
}

// wait blocks until every piece handed off by spawn has finished, then
// returns g to its pool.
func (g *group) wait() {
	start := time.Now()
	for i := 0; g.pending.Load() > 0; i++ {
		select {
		case <-g.done:
			g.pending.Add(-1)
			continue
		default:
		}
		if i%64 == 63 && time.Since(start) > spin {
			<-g.done
			g.pending.Add(-1)
			continue
		}
		yield(i)
	}
	groupPool.Put(g)
}

// spin is how long a worker looks for more work, and a caller for its
// pieces to finish, before blocking. The pieces here take tens to hundreds
// of microseconds, and on a virtual machine waking a blocked thread costs
// about as much: a per-step product in W1 ran slower on two threads
// (326 µs) than on one (263 µs) until the wake-ups were spun past. The spin
// yields at every turn (yield), so goroutines with real work, such as an
// application's own workers, run first, and so do other processes.
const spin = 1000 * time.Microsecond

// yield is turn i of a spin: it offers the processor to other goroutines
// (runtime.Gosched) and, after the first 64 turns (a few microseconds),
// to other threads of the machine too (osYield, sched_yield on Linux). On
// a quiet machine the second returns at once; on one shared with other
// work the spinning thread steps aside instead of burning the time slice
// it waits through. With the trainings of other
// sessions on the two cores, that took W4 training from 84-96 to 91-114
// pairs per CPU-second and greedy decoding from 230-296 to 256-348
// sentences, W1 training from 11.0-11.4k to 13.7-15.9k characters, and
// left W2 and W3 within their noise.
func yield(i int) {
	runtime.Gosched()
	if i >= 64 {
		osYield()
	}
}

// next returns the next task, spinning for a while before blocking.
func next(tasks <-chan task) task {
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case t := <-tasks:
			return t
		default:
		}
		if i%64 == 63 && time.Since(start) > spin {
			return <-tasks
		}
		yield(i)
	}
}

func ensureWorkers(n int) {
	if n <= 0 || int(pool.started.Load()) >= n {
		return // the common case: no lock
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.tasks == nil {
		pool.tasks = make(chan task, 64)
	}
	for ; int(pool.started.Load()) < n; pool.started.Add(1) {
		go func(tasks <-chan task) {
			// Each worker owns its packing buffers: no sync.Pool traffic
			// between goroutines, no allocation once they have grown.
			bufs := new(packBufs)
			for {
				pool.idle.Add(1)
				t := next(tasks)
				if t.r != nil {
					t.r.Range(t.lo, t.hi)
				} else {
					t.gemm.run(bufs)
				}
				t.g.done <- struct{}{}
			}
		}(pool.tasks)
	}
}

// Ranger is a body for Parallel: Range does the work of items [lo, hi).
type Ranger interface {
	Range(lo, hi int)
}

// RangeFunc adapts a function to Ranger.
type RangeFunc func(lo, hi int)

// Range calls f(lo, hi).
func (f RangeFunc) Range(lo, hi int) { f(lo, hi) }

// Parallel calls r.Range(lo, hi) on disjoint ranges covering [0, n), each
// of at least grain items (except when n < grain), on up to SetThreads
// (default GOMAXPROCS) goroutines, the caller's included, and returns when
// all have finished. r must not depend on how [0, n) was split: results
// must be the same whichever goroutine runs which range. r may itself call
// Sgemm or Parallel. Parallel allocates nothing; a long-lived r (a pointer
// to a struct kept with its workspace) keeps a hot loop allocation-free.
func Parallel(n, grain int, r Ranger) {
	if n <= 0 {
		return
	}
	t := min(numThreads(), max(n/max(grain, 1), 1))
	if t <= 1 {
		r.Range(0, n)
		return
	}
	g := getGroup()
	for w := 1; w < t; w++ {
		lo, hi := w*n/t, (w+1)*n/t
		if !g.spawn(task{r: r, lo: lo, hi: hi}) {
			r.Range(lo, hi)
		}
	}
	r.Range(0, n/t)
	g.wait()
}

// ParallelFor is Parallel with a function body.
func ParallelFor(n, grain int, fn func(lo, hi int)) { Parallel(n, grain, RangeFunc(fn)) }
