package embed

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// Word2VecOptions configures Train. Zero values mean the documented defaults
// (those of word2vec.c's skip-gram).
type Word2VecOptions struct {
	Dim      int     // vector dimension; default 100
	Window   int     // maximum context distance; each center word draws its window from [1, Window]; default 5
	Negative int     // noise words per positive pair; default 5
	MinCount int     // words seen fewer times are dropped; default 5
	Epochs   int     // passes over the corpus; default 5
	LR       float64 // starting learning rate, decayed linearly to LR*1e-4; default 0.025
	Sample   float64 // subsampling threshold for frequent words; default 1e-4; < 0 disables
	Threads  int     // goroutines updating the vectors lock-free (Hogwild); default GOMAXPROCS
	Seed     uint64  // random seed; with Threads 1 a seed reproduces a run exactly
}

func (o Word2VecOptions) withDefaults() Word2VecOptions {
	def := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	def(&o.Dim, 100)
	def(&o.Window, 5)
	def(&o.Negative, 5)
	def(&o.MinCount, 5)
	def(&o.Epochs, 5)
	def(&o.Threads, runtime.GOMAXPROCS(0))
	if o.LR <= 0 {
		o.LR = 0.025
	}
	if o.Sample == 0 {
		o.Sample = 1e-4
	}
	return o
}

// Progress reports a training run's state to the Train callback.
type Progress struct {
	Epoch       int           // current epoch, 1-based
	Epochs      int           // total epochs
	Words       int64         // corpus words processed so far, over all epochs (before subsampling)
	TotalWords  int64         // Epochs x corpus words
	LR          float64       // current learning rate
	Loss        float64       // mean negative-sampling loss per sample since the last report
	WordsPerSec float64       // throughput so far
	Elapsed     time.Duration // since training started (after reading the corpus)
	Vocab       int           // vocabulary size after MinCount
}

// Model is a trained word2vec model: the input vectors, words sorted by
// decreasing corpus frequency, with their counts.
type Model struct {
	Vectors
	Counts []int64 // corpus count of each word; nil for a loaded model
}

// LoadModel reads a model saved with Save (any format ReadVectors reads).
func LoadModel(path string, format Format) (*Model, error) {
	v, err := ReadVectors(path, format)
	if err != nil {
		return nil, err
	}
	return &Model{Vectors: *v}, nil
}

// maxSentence caps the words of one training sentence (word2vec.c's
// MAX_SENTENCE_LENGTH), so a corpus without line breaks still splits into
// sentences the threads can share.
const maxSentence = 1000

// Train learns word vectors from a text corpus with skip-gram and negative
// sampling. Each line is a sentence (context windows do not cross lines);
// words are split and lowercased by AppendWords's rule. The corpus is read
// once and held as int32 ids. progress, if not nil, is called about five
// times a second and at the end, from one goroutine at a time.
//
// If ctx is cancelled Train stops within a few thousand words and returns
// the model trained so far together with ctx.Err().
func Train(ctx context.Context, corpus io.Reader, opt Word2VecOptions, progress func(Progress)) (*Model, error) {
	opt = opt.withDefaults()
	ids := map[string]int32{}
	var words []string
	var counts []int64
	var tokens []int32
	var ends []int // sentence i is tokens[ends[i-1]:ends[i]]
	br := bufio.NewReaderSize(corpus, 1<<20)
	var buf, line []byte
	addWord := func(w []byte) {
		id, ok := ids[string(w)]
		if !ok {
			id = int32(len(words))
			words = append(words, string(w))
			counts = append(counts, 0)
			ids[words[id]] = id
		}
		counts[id]++
		tokens = append(tokens, id)
	}
	lineNo := 0
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(line) < 1<<20 {
				continue
			}
			// A very long line: tokenize what we have up to its last
			// separator and keep the rest.
			cut := lastSeparator(line)
			forEachWord(&buf, line[:cut], addWord)
			line = append(line[:0], line[cut:]...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("embed: reading the corpus (line %d): %w", lineNo+1, err)
		}
		if len(line) > 0 {
			lineNo++
			forEachWord(&buf, line, addWord)
			if len(ends) == 0 || ends[len(ends)-1] != len(tokens) {
				ends = append(ends, len(tokens))
			}
			line = line[:0]
		}
		if err != nil {
			break
		}
		if lineNo%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return train(ctx, words, counts, tokens, ends, opt, progress)
}

func lastSeparator(b []byte) int {
	for i := len(b) - 1; i > 0; i-- {
		if c := b[i]; c == ' ' || c == '\t' || c == '\n' {
			return i
		}
	}
	return len(b)
}

// TrainSentences is Train on a corpus already tokenized to ids: sentences[i]
// is one sentence, each id indexes words (for example a tokenize.Tokenizer's
// vocabulary). Words seen fewer than MinCount times are dropped, so the
// model's Words are a subset of words, sorted by frequency; use Align to map
// them back to the ids.
func TrainSentences(ctx context.Context, sentences [][]int32, words []string, opt Word2VecOptions, progress func(Progress)) (*Model, error) {
	opt = opt.withDefaults()
	counts := make([]int64, len(words))
	var tokens []int32
	var ends []int
	for si, s := range sentences {
		for _, id := range s {
			if id < 0 || int(id) >= len(words) {
				return nil, fmt.Errorf("embed: sentence %d: token id %d out of range [0, %d)", si, id, len(words))
			}
			counts[id]++
		}
		if len(s) > 0 {
			tokens = append(tokens, s...)
			ends = append(ends, len(tokens))
		}
	}
	return train(ctx, words, counts, tokens, ends, opt, progress)
}

// train builds the vocabulary (MinCount, sorted by count), rewrites the
// tokens in place to the new ids, and runs the workers.
func train(ctx context.Context, words []string, counts []int64, tokens []int32, ends []int, opt Word2VecOptions, progress func(Progress)) (*Model, error) {
	order := make([]int32, 0, len(words))
	for i, c := range counts {
		if c >= int64(opt.MinCount) {
			order = append(order, int32(i))
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("embed: no word occurs at least %d times (min count) in the corpus of %d words", opt.MinCount, len(tokens))
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(words[a], words[b])
	})
	remap := make([]int32, len(words))
	for i := range remap {
		remap[i] = -1
	}
	m := &Model{Vectors: Vectors{Dim: opt.Dim, Words: make([]string, len(order))}, Counts: make([]int64, len(order))}
	for newID, old := range order {
		remap[old] = int32(newID)
		m.Words[newID] = words[old]
		m.Counts[newID] = counts[old]
	}
	// Drop rare words from the token stream and cut sentences at maxSentence.
	var sents []int32 // sentence boundaries in the compacted stream
	n, start, prevEnd := 0, 0, 0
	for _, e := range ends {
		for _, t := range tokens[prevEnd:e] {
			if id := remap[t]; id >= 0 {
				tokens[n] = id
				n++
				if n-start == maxSentence {
					sents = append(sents, int32(n))
					start = n
				}
			}
		}
		prevEnd = e
		if n > start {
			sents = append(sents, int32(n))
			start = n
		}
	}
	tokens = tokens[:n]
	if len(tokens) < 2 {
		return nil, fmt.Errorf("embed: the corpus has %d words occurring at least %d times; too few to train", len(tokens), opt.MinCount)
	}

	t := newTrainer(m, tokens, sents, opt)
	err := t.run(ctx, progress)
	m.Data = t.syn0
	return m, err
}

const (
	expTableSize = 1000
	maxExp       = 6
	noiseTable   = 1e7
)

type trainer struct {
	opt      Word2VecOptions
	dim      int
	syn0     []float32 // input vectors (V, Dim)
	syn1     []float32 // output vectors (V, Dim)
	tokens   []int32
	sents    []int32
	keep     []uint32 // keep word w if rand32 < keep[w] (subsampling); 1<<32-1 = always
	noise    []int32  // unigram^0.75 table, shuffled
	sig      [expTableSize]float32
	logSig   [expTableSize]float32 // log sigmoid on the same grid, for the loss
	total    int64                 // Epochs x len(tokens)
	done     atomic.Int64          // words processed
	stop     atomic.Bool
	mu       sync.Mutex
	loss     float64 // sum since last report
	samples  int64
	lastLoss float64 // mean of the last report with samples
}

func newTrainer(m *Model, tokens, sents []int32, opt Word2VecOptions) *trainer {
	v, d := len(m.Words), opt.Dim
	t := &trainer{opt: opt, dim: d, tokens: tokens, sents: sents,
		syn0: make([]float32, v*d), syn1: make([]float32, v*d),
		total: int64(opt.Epochs) * int64(len(tokens))}
	// word2vec.c: syn0 ~ U(-0.5/Dim, 0.5/Dim), syn1neg = 0.
	r := newRNG(opt.Seed ^ 0x5eed)
	for i := range t.syn0 {
		t.syn0[i] = (float32(r.next()>>40)/(1<<24) - 0.5) / float32(d)
	}
	for i := range t.sig {
		x := (float64(i)/expTableSize*2 - 1) * maxExp
		t.sig[i] = float32(1 / (1 + math.Exp(-x)))
		t.logSig[i] = float32(-math.Log1p(math.Exp(-x)))
	}
	// Subsampling (word2vec.c): keep with p = (sqrt(f/(s*T)) + 1) * s*T/f.
	t.keep = make([]uint32, v)
	trainWords := float64(len(tokens))
	for w := range t.keep {
		p := 1.0
		if opt.Sample > 0 {
			st := opt.Sample * trainWords
			f := float64(m.Counts[w])
			p = (math.Sqrt(f/st) + 1) * st / f
		}
		if p >= 1 {
			t.keep[w] = math.MaxUint32
		} else {
			t.keep[w] = uint32(p * (1 << 32))
		}
	}
	// Noise distribution: count^0.75, as a table of ids.
	size := min(int(noiseTable), max(1<<16, 1000*v))
	t.noise = make([]int32, size)
	var z float64
	for _, c := range m.Counts {
		z += math.Pow(float64(c), 0.75)
	}
	w, cum := 0, math.Pow(float64(m.Counts[0]), 0.75)/z
	for i := range t.noise {
		t.noise[i] = int32(w)
		if float64(i+1)/float64(size) > cum && w < v-1 {
			w++
			cum += math.Pow(float64(m.Counts[w]), 0.75) / z
		}
	}
	// Shuffled once, then read sequentially by the workers (as fastText
	// does): random reads of a 40 MB table would miss the cache every time.
	for i := len(t.noise) - 1; i > 0; i-- {
		j := r.below(i + 1)
		t.noise[i], t.noise[j] = t.noise[j], t.noise[i]
	}
	return t
}

// rng is xorshift64*: a few instructions, inlined in the hot loop.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng {
	// splitmix64 of the seed, never zero
	z := seed + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	if z == 0 {
		z = 1
	}
	return rng{z}
}

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 2685821657736338717
}

// below returns a number in [0, n) (Lemire's multiply-shift).
func (r *rng) below(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

func (t *trainer) run(ctx context.Context, progress func(Progress)) error {
	threads := min(t.opt.Threads, len(t.sents))
	// Split the sentences into contiguous chunks of about equal word counts.
	bounds := make([]int, threads+1)
	for i, s := 1, 0; i < threads; i++ {
		target := int32(int64(len(t.tokens)) * int64(i) / int64(threads))
		for s < len(t.sents) && t.sents[s] < target {
			s++
		}
		bounds[i] = s
	}
	bounds[threads] = len(t.sents)

	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < threads; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			t.worker(id, bounds[id], bounds[id+1])
		}(i)
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	report := func() {
		if progress != nil {
			progress(t.progress(start))
		}
	}
	for {
		select {
		case <-finished:
			report()
			if t.stop.Load() {
				return ctx.Err()
			}
			return nil
		case <-ctx.Done():
			t.stop.Store(true)
			<-finished
			report()
			return ctx.Err()
		case <-tick.C:
			report()
		}
	}
}

func (t *trainer) progress(start time.Time) Progress {
	done := t.done.Load()
	el := time.Since(start)
	t.mu.Lock()
	if t.samples > 0 {
		t.lastLoss = t.loss / float64(t.samples)
	}
	loss := t.lastLoss
	t.loss, t.samples = 0, 0
	t.mu.Unlock()
	epoch := 1
	if n := int64(len(t.tokens)); n > 0 {
		epoch = min(int(done/n)+1, t.opt.Epochs)
	}
	return Progress{Epoch: epoch, Epochs: t.opt.Epochs, Words: done, TotalWords: t.total,
		LR: t.lr(done), Loss: loss, WordsPerSec: float64(done) / max(el.Seconds(), 1e-9),
		Elapsed: el, Vocab: len(t.keep)}
}

func (t *trainer) lr(done int64) float64 {
	a := t.opt.LR * (1 - float64(done)/float64(t.total+1))
	return max(a, t.opt.LR*1e-4)
}

// worker trains on sentences [s0, s1) for every epoch. It reads and writes
// syn0 and syn1 without locks (Hogwild), as word2vec.c's threads do.
func (t *trainer) worker(id, s0, s1 int) {
	const reportEvery = 10000
	d, window, neg := t.dim, t.opt.Window, t.opt.Negative
	syn0, syn1, noise, keep := t.syn0, t.syn1, t.noise, t.keep
	r := newRNG(t.opt.Seed + uint64(id+1)*0x9e3779b97f4a7c15)
	neu1e := make([]float32, d)
	sen := make([]int32, 0, maxSentence)
	alpha := float32(t.opt.LR)
	np := r.below(len(noise)) // this worker's position in the noise table
	var pending int64
	var loss float64
	var samples int64
	flush := func() {
		t.done.Add(pending)
		pending = 0
		t.mu.Lock()
		t.loss += loss
		t.samples += samples
		t.mu.Unlock()
		loss, samples = 0, 0
		alpha = float32(t.lr(t.done.Load()))
	}
	const scale = expTableSize / maxExp / 2
	for epoch := 0; epoch < t.opt.Epochs; epoch++ {
		for s := s0; s < s1; s++ {
			if pending >= reportEvery {
				flush()
				if t.stop.Load() {
					return
				}
			}
			lo := int32(0)
			if s > 0 {
				lo = t.sents[s-1]
			}
			words := t.tokens[lo:t.sents[s]]
			pending += int64(len(words))
			sen = sen[:0]
			for _, w := range words {
				if uint32(r.next()>>32) < keep[w] || keep[w] == math.MaxUint32 {
					sen = append(sen, w)
				}
			}
			for pos, w := range sen {
				b := r.below(window)
				lo, hi := max(pos-window+b, 0), min(pos+window-b, len(sen)-1)
				for c := lo; c <= hi; c++ {
					if c == pos {
						continue
					}
					// Input: the context word; targets: the center word
					// (label 1) and Negative noise words (label 0).
					l1 := int(sen[c]) * d
					in := syn0[l1 : l1+d : l1+d]
					clear(neu1e)
					for k := 0; k <= neg; k++ {
						target, label := w, float32(1)
						if k > 0 {
							target = noise[np]
							if np++; np == len(noise) {
								np = 0
							}
							if target == w {
								continue
							}
							label = 0
						}
						l2 := int(target) * d
						out := syn1[l2 : l2+d : l2+d]
						f := kernel.Dot(in, out)
						var g float32
						switch {
						case f > maxExp:
							g = (label - 1) * alpha
							if label == 0 {
								loss += float64(f)
							}
						case f < -maxExp:
							g = label * alpha
							if label == 1 {
								loss -= float64(f)
							}
						default:
							i := int((f + maxExp) * scale)
							if i >= expTableSize {
								i = expTableSize - 1
							}
							g = (label - t.sig[i]) * alpha
							if label == 1 {
								loss -= float64(t.logSig[i])
							} else {
								loss -= float64(t.logSig[expTableSize-1-i])
							}
						}
						samples++
						sgns(neu1e, out, in, g)
					}
					kernel.Axpy(1, neu1e, in)
				}
			}
		}
	}
	flush()
}
