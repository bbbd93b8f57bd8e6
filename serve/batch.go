package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// errQueueFull is the answer when a model's queue is full (503).
var errQueueFull = errors.New("the server is busy (the queue is full); retry later")

// errClosed is the answer to a job that arrives after Close (503).
var errClosed = errors.New("the server is shutting down")

// job is one request's share of a batch: its input, what it counts against
// the batch size (its texts), and its result. The worker sets out or err,
// then closes done; the request reads them only after done is closed.
type job[In, Out any] struct {
	ctx  context.Context
	in   In
	n    int
	out  Out
	err  error
	done chan struct{}
}

func newJob[In, Out any](ctx context.Context, in In, n int) *job[In, Out] {
	return &job[In, Out]{ctx: ctx, in: in, n: n, done: make(chan struct{})}
}

// batcher gathers jobs from concurrent requests into batches and runs each
// batch with one call of run. A worker takes the first waiting job, then
// gathers more for at most wait, or until they hold maxBatch texts (a job
// that would pass maxBatch starts the worker's next batch; one job larger
// than maxBatch is a batch by itself). Jobs whose context is done by then
// are dropped. run sets every job's out or err; it is called with a context
// that is cancelled once no job of the batch is wanted any more.
type batcher[In, Out any] struct {
	queue    chan *job[In, Out]
	maxBatch int
	wait     time.Duration
	run      func(ctx context.Context, jobs []*job[In, Out])
	hook     func() // tests: called before each batch runs

	mu     sync.RWMutex // held for reading by submit, for writing when closing
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newBatcher[In, Out any](workers, queue, maxBatch int, wait time.Duration, run func(context.Context, []*job[In, Out])) *batcher[In, Out] {
	b := &batcher[In, Out]{queue: make(chan *job[In, Out], queue), maxBatch: maxBatch, wait: wait, run: run, stop: make(chan struct{})}
	for range workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// submit queues j without blocking: errQueueFull when the queue is full,
// errClosed after close.
func (b *batcher[In, Out]) submit(j *job[In, Out]) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errClosed
	}
	select {
	case b.queue <- j:
		return nil
	default:
		return errQueueFull
	}
}

// depth is the number of jobs waiting in the queue.
func (b *batcher[In, Out]) depth() int { return len(b.queue) }

// close stops the workers after the batches they hold, and fails the jobs
// still queued with errClosed.
func (b *batcher[In, Out]) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.wg.Wait()
	for {
		select {
		case j := <-b.queue:
			j.err = errClosed
			close(j.done)
		default:
			return
		}
	}
}

func (b *batcher[In, Out]) work() {
	defer b.wg.Done()
	var carry *job[In, Out]
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				return
			}
		}
		batch := []*job[In, Out]{first}
		n := first.n
		var timer *time.Timer
		var timeout <-chan time.Time
		if b.wait > 0 && n < b.maxBatch {
			timer = time.NewTimer(b.wait)
			timeout = timer.C
		}
	gather:
		for n < b.maxBatch {
			var j *job[In, Out]
			if timeout == nil {
				select { // no waiting: only what is queued already
				case j = <-b.queue:
				default:
					break gather
				}
			} else {
				select {
				case j = <-b.queue:
				case <-timeout:
					break gather
				}
			}
			if n+j.n > b.maxBatch {
				carry = j
				break
			}
			batch = append(batch, j)
			n += j.n
		}
		if timer != nil {
			timer.Stop()
		}
		b.runBatch(batch)
	}
}

// runBatch drops the jobs nobody waits for, runs the others and closes
// every job's done. A panic in run fails the batch's jobs instead of the
// process.
func (b *batcher[In, Out]) runBatch(batch []*job[In, Out]) {
	live := make([]*job[In, Out], 0, len(batch))
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			close(j.done)
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			for _, j := range live {
				j.err = fmt.Errorf("internal error: %v", r)
			}
		}
		for _, j := range live {
			close(j.done)
		}
	}()
	if b.hook != nil {
		b.hook()
	}
	ctx, cancel := batchContext(live)
	defer cancel()
	b.run(ctx, live)
}

// batchContext returns a context that is cancelled once the context of
// every job is done: the batch's work is wanted while one request waits.
func batchContext[In, Out any](jobs []*job[In, Out]) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	var left atomic.Int64
	left.Store(int64(len(jobs)))
	stops := make([]func() bool, len(jobs))
	for i, j := range jobs {
		stops[i] = context.AfterFunc(j.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

// limiter bounds work that is not batched (generation): at most cap(slots)
// at once, and at most queue more waiting for a slot.
type limiter struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
}

func newLimiter(workers, queue int) *limiter {
	return &limiter{slots: make(chan struct{}, workers), queue: int64(queue)}
}

// acquire takes a slot, waiting in the queue if none is free: errQueueFull
// when the queue is full too, ctx.Err() when ctx ends first.
func (l *limiter) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if l.waiting.Add(1) > l.queue {
		l.waiting.Add(-1)
		return errQueueFull
	}
	defer l.waiting.Add(-1)
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) release() { <-l.slots }

// depth is the number of requests waiting for a slot.
func (l *limiter) depth() int { return int(l.waiting.Load()) }
