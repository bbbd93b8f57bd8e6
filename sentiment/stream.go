package sentiment

import (
	"context"
	"iter"
	"runtime"
	"sync"
)

// StreamOptions configure ClassifyStream.
type StreamOptions struct {
	Batch   int // texts predicted together (default 32)
	Workers int // parallel classifiers (default runtime.GOMAXPROCS(0))
	// Explain, when ExplainOcclusion or ExplainGradient, explains every
	// text with that method (Model.Explain) instead of predicting it in a
	// batch.
	Explain string
	// Sync, when set, is called on the calling goroutine after each result
	// arrives, once every result it completes in input order has been
	// delivered; idle reports that no other result is ready yet, the moment
	// to flush buffered output. An error stops the stream and is returned.
	Sync func(idle bool) error
}

// Classified is the outcome of one input of ClassifyStream.
type Classified struct {
	Prediction  Prediction
	Explanation *Explanation // with StreamOptions.Explain
	// Err is the text function's error, in which case the input was not
	// classified, or Explain's.
	Err error
}

type streamJob[T any] struct {
	seq  int
	item T
}

type streamResult[T any] struct {
	streamJob[T]
	Classified
}

// ClassifyStream classifies the inputs as they come, with opt.Workers
// goroutines that each take up to opt.Batch waiting inputs at a time, and
// calls deliver with each input and its result in input order, on the
// calling goroutine, as soon as the result and every one before it are
// ready: results stream out while inputs are still read, and memory stays
// bounded (at most 4*Batch*Workers inputs are read and not yet delivered).
//
// text gives an input's text; it runs on the workers, so it may read a
// file, and it may change the input (drop a text it has returned, so that
// the input waiting for delivery does not keep it). An input for which it
// returns an error is delivered with that error and not classified.
//
// ClassifyStream returns when every input is delivered, when opt.Sync
// returns an error (that error), or when ctx is done (ctx.Err(), at once,
// even while the iteration of inputs blocks in a read).
func ClassifyStream[T any](ctx context.Context, m *Model, inputs iter.Seq[T], text func(*T) (string, error), opt StreamOptions, deliver func(T, Classified)) error {
	batchSize, workers := opt.Batch, opt.Workers
	if batchSize <= 0 {
		batchSize = 32
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := make(chan struct{}, 4*batchSize*workers) // bounds inputs not yet delivered
	jobs := make(chan streamJob[T], batchSize*workers)
	results := make(chan streamResult[T], batchSize*workers)
	go func() {
		defer close(jobs)
		seq := 0
		for item := range inputs {
			select {
			case inflight <- struct{}{}:
			case <-stop.Done():
				return
			}
			select {
			case jobs <- streamJob[T]{seq: seq, item: item}:
				seq++
			case <-stop.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var batch, ok []streamJob[T]
			var ids [][]int32
			for j := range jobs {
				batch = append(batch[:0], j)
			gather:
				for len(batch) < batchSize {
					select {
					case j2, more := <-jobs:
						if !more {
							break gather
						}
						batch = append(batch, j2)
					default:
						break gather
					}
				}
				if stop.Err() != nil {
					continue // stopped: nobody reads the results
				}
				ids, ok = ids[:0], ok[:0]
				for _, j := range batch {
					t, err := text(&j.item)
					switch {
					case err != nil:
						results <- streamResult[T]{streamJob: j, Classified: Classified{Err: err}}
					case opt.Explain != "":
						e, err := m.Explain(t, opt.Explain)
						results <- streamResult[T]{streamJob: j, Classified: Classified{Prediction: e.Prediction, Explanation: &e, Err: err}}
					default:
						ids = append(ids, m.Encode(t))
						ok = append(ok, j)
					}
				}
				for i, p := range m.PredictIDs(ids) {
					results <- streamResult[T]{streamJob: ok[i], Classified: Classified{Prediction: p}}
				}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	drain := func() {
		cancel()
		go func() {
			for range results {
			}
		}()
	}
	pending := map[int]streamResult[T]{}
	next := 0
	for {
		select {
		case r, more := <-results:
			if !more {
				return ctx.Err()
			}
			pending[r.seq] = r
			for {
				p, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				deliver(p.item, p.Classified)
				<-inflight
			}
			if opt.Sync != nil {
				if err := opt.Sync(len(results) == 0); err != nil {
					drain()
					return err
				}
			}
		case <-ctx.Done(): // even while a read of the inputs blocks
			drain()
			return ctx.Err()
		}
	}
}
