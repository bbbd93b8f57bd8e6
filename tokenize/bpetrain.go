package tokenize

import (
	"bufio"
	"container/heap"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// BPEOptions configures TrainBPE.
type BPEOptions struct {
	VocabSize int  // target size, specials and alphabet included; 0 means 8000
	MinFreq   int  // stop when the best pair is seen fewer times; 0 means 2
	Lowercase bool // lowercase before pre-tokenizing (written as a Lowercase normalizer)
	// SplitPunct isolates every punctuation rune as its own pre-token after
	// the Metaspace split (written as a Sequence of Metaspace and
	// Punctuation "Isolated"), so "Hello." and "Hello!" share the word
	// "▁Hello" and sentence punctuation never fuses with a subword.
	SplitPunct bool
	// OpenMarks (with SplitPunct) sets the Spanish opening marks ¡ and ¿
	// apart from the word after them, which then starts with "▁" as it
	// would after a space: "¿Dónde" gives "▁", "¿", "▁Dónde", the same
	// "▁Dónde" as in "dime dónde". Without it the word after a mark has no
	// "▁" and is a different, rarer token. Written as an HF Split
	// (behavior "Isolated") ahead of the Metaspace.
	OpenMarks bool
}

// TrainBPE learns merges from r (read line by line). The initial alphabet
// is every rune of the corpus (kept even past VocabSize); then the most
// frequent adjacent pair is merged until the vocabulary is full, ties going
// to the lexicographically smallest pair (left token, then right), so the
// same corpus always gives the same merges. Pair counts are updated
// incrementally through an index from pair to the words holding it.
func TrainBPE(r io.Reader, opts BPEOptions) (*BPE, error) {
	if opts.VocabSize <= 0 {
		opts.VocabSize = 8000
	}
	if opts.MinFreq <= 0 {
		opts.MinFreq = 2
	}
	if opts.OpenMarks && !opts.SplitPunct {
		return nil, fmt.Errorf("tokenize: BPE OpenMarks needs SplitPunct")
	}
	counts, err := countPieces(r, opts.Lowercase, opts.SplitPunct, opts.OpenMarks)
	if err != nil {
		return nil, err
	}
	tr := newBPETrainer(counts)
	tr.run(opts.VocabSize, int64(opts.MinFreq))
	return newBPE(tr.toks, tr.merges, opts.Lowercase, opts.SplitPunct, opts.OpenMarks)
}

// countPieces counts the pre-tokens of every line.
func countPieces(r io.Reader, lower, punct, open bool) (map[string]int64, error) {
	counts := map[string]int64{}
	br := bufio.NewReaderSize(r, 1<<16)
	var buf []byte
	for {
		line, err := br.ReadString('\n')
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if len(line) > 0 {
			line = Sanitize(line)
			forSegments(line, func(seg string, _ int) {
				if lower {
					seg = normalize(seg, false, true).s
				}
				buf = forPretokens(seg, buf, punct, open, func(p piece) {
					counts[string(p.key)]++
				})
			}, func(int32, int) {})
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tokenize: reading BPE corpus: %w", err)
		}
	}
	return counts, nil
}

type bpeTrainer struct {
	toks   []string
	ids    map[string]int32
	merges [][2]int32
	words  [][]int32
	counts []int64
	pairs  map[uint64]int64
	where  map[uint64][]int32
	stamp  []int32
	queue  pairHeap
}

func newBPETrainer(counts map[string]int64) *bpeTrainer {
	words := make([]string, 0, len(counts))
	alpha := map[rune]bool{}
	for w := range counts {
		words = append(words, w)
		for _, c := range w {
			alpha[c] = true
		}
	}
	slices.Sort(words)
	runes := make([]rune, 0, len(alpha))
	for c := range alpha {
		runes = append(runes, c)
	}
	slices.Sort(runes)
	tr := &bpeTrainer{ids: map[string]int32{}, pairs: map[uint64]int64{}, where: map[uint64][]int32{}}
	for _, s := range Specials {
		tr.add(s)
	}
	for _, c := range runes {
		tr.add(string(c))
	}
	tr.words = make([][]int32, len(words))
	tr.counts = make([]int64, len(words))
	tr.stamp = make([]int32, len(words))
	for wi, w := range words {
		syms := make([]int32, 0, utf8.RuneCountInString(w))
		for _, c := range w {
			syms = append(syms, tr.ids[string(c)])
		}
		tr.words[wi] = syms
		tr.counts[wi] = counts[w]
		tr.stamp[wi] = -1
		for i := 0; i+1 < len(syms); i++ {
			k := pairKey(syms[i], syms[i+1])
			tr.pairs[k] += counts[w]
			tr.where[k] = append(tr.where[k], int32(wi))
		}
	}
	tr.queue.toks = &tr.toks
	for k, n := range tr.pairs {
		tr.queue.items = append(tr.queue.items, pairCount{n, int32(k >> 32), int32(uint32(k))})
	}
	heap.Init(&tr.queue)
	return tr
}

func (tr *bpeTrainer) add(s string) int32 {
	if id, ok := tr.ids[s]; ok {
		return id
	}
	id := int32(len(tr.toks))
	tr.toks = append(tr.toks, s)
	tr.ids[s] = id
	return id
}

func (tr *bpeTrainer) run(vocabSize int, minFreq int64) {
	touched := map[uint64]bool{}
	for len(tr.toks) < vocabSize && tr.queue.Len() > 0 {
		top := heap.Pop(&tr.queue).(pairCount)
		k := pairKey(top.a, top.b)
		cur := tr.pairs[k]
		if cur != top.n {
			if cur > 0 && cur < top.n {
				heap.Push(&tr.queue, pairCount{cur, top.a, top.b})
			}
			continue
		}
		if cur < minFreq {
			break
		}
		a, b := top.a, top.b
		n := tr.add(tr.toks[a] + tr.toks[b])
		step := int32(len(tr.merges))
		tr.merges = append(tr.merges, [2]int32{a, b})
		clear(touched)
		for _, wi := range tr.where[k] {
			if tr.stamp[wi] == step {
				continue
			}
			tr.stamp[wi] = step
			tr.mergeIn(wi, a, b, n, touched)
		}
		delete(tr.where, k)
		delete(tr.pairs, k)
		for p := range touched {
			if c := tr.pairs[p]; c > 0 {
				heap.Push(&tr.queue, pairCount{c, int32(p >> 32), int32(uint32(p))})
			}
		}
	}
}

// mergeIn replaces every (a, b) of word wi, left to right, by n and updates
// the pair counts; pairs holding n are recorded in touched.
func (tr *bpeTrainer) mergeIn(wi int32, a, b, n int32, touched map[uint64]bool) {
	old := tr.words[wi]
	found := false
	for i := 0; i+1 < len(old); i++ {
		if old[i] == a && old[i+1] == b {
			found = true
			break
		}
	}
	if !found {
		return
	}
	c := tr.counts[wi]
	nw := make([]int32, 0, len(old)-1)
	for i := 0; i < len(old); i++ {
		if i+1 < len(old) && old[i] == a && old[i+1] == b {
			nw = append(nw, n)
			i++
		} else {
			nw = append(nw, old[i])
		}
	}
	for i := 0; i+1 < len(old); i++ {
		tr.pairs[pairKey(old[i], old[i+1])] -= c
	}
	for i := 0; i+1 < len(nw); i++ {
		k := pairKey(nw[i], nw[i+1])
		tr.pairs[k] += c
		if nw[i] == n || nw[i+1] == n {
			if !touched[k] {
				touched[k] = true
			}
			tr.where[k] = append(tr.where[k], wi)
		}
	}
	tr.words[wi] = nw
}

// pairCount is a heap entry: a pair and its count when pushed.
type pairCount struct {
	n    int64
	a, b int32
}

// pairHeap pops the highest count first, then the lexicographically
// smallest (left, right) token pair.
type pairHeap struct {
	items []pairCount
	toks  *[]string
}

func (h *pairHeap) Len() int { return len(h.items) }
func (h *pairHeap) Less(i, j int) bool {
	x, y := h.items[i], h.items[j]
	if x.n != y.n {
		return x.n > y.n
	}
	t := *h.toks
	if x.a != y.a {
		return t[x.a] < t[y.a]
	}
	return t[x.b] < t[y.b]
}
func (h *pairHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *pairHeap) Push(x any)    { h.items = append(h.items, x.(pairCount)) }
func (h *pairHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}
