package seq2seq

import (
	"sort"

	"github.com/rnnkit/rnnkit/rnn"
)

// backScorer scores how well a translator for the opposite direction
// turns a candidate translation back into its source: the mean
// log-probability per token of the source given the candidate, with
// teacher forcing (the "channel" score of noisy-channel re-ranking, Yee et
// al. 2019). A made-up word or a dropped clause in a candidate makes the
// source hard to recover from it, so the score separates "¡Buena suerte!"
// from "¡Habla suerte!" where the forward model alone hesitates. It reads
// text, not ids: the two models need not share tokenizers.
type backScorer struct {
	m      *Model
	w      *work
	bt     batch
	rows   []int     // the batch's real target positions, t·B + b
	feat   []float32 // their output-layer inputs
	pre    []float32 // their pre_out outputs (tied)
	logits []float32
	preOut *rnn.PackedLinear // packed m.preOut, or nil
	out    *rnn.PackedLinear // packed m.out, or nil
}

// newBackScorer returns a scorer with m's weights packed once for the
// matrix kernel (the recurrences' and the output layer's, where that gives
// the same bits), as a decoder has them: the scorer runs many batches.
func newBackScorer(m *Model) *backScorer {
	return &backScorer{m: m, w: newInferWork(m), preOut: exactPacked(m.preOut), out: exactPacked(m.out)}
}

// backBatch is how many (candidate, source) pairs one teacher-forced pass
// scores at most.
const backBatch = 64

// backPool is how many hypotheses Translate gathers, over several chunks
// of sentences, before it scores them: sorted by length, the batches carry
// little padding (one chunk's candidates range from a few tokens to the
// length cap, and every one of them was encoded to the longest).
const backPool = 16 * backBatch

// logProbs returns log p(sources[i] | cands[i]) per source token (EOS
// included) for each i. It scores each distinct pair once, in batches of
// at most backBatch pairs of similar lengths. A pair's score depends only
// on the pair: every product is per row, and no batch of several pairs
// has a single row (which would take the matrix-vector path and round
// differently).
func (r *backScorer) logProbs(cands, sources []string) []float64 {
	out := make([]float64, len(cands))
	V := r.m.Config.TgtVocab
	type item struct {
		src, tgt []int32
		at       []int // indexes into out
	}
	var items []item
	seen := map[[2]string]int{}
	for i := range cands {
		key := [2]string{cands[i], sources[i]}
		if j, ok := seen[key]; ok {
			items[j].at = append(items[j].at, i)
			continue
		}
		seen[key] = len(items)
		src := r.m.Src.Encode(cands[i])
		if len(src) > MaxSourceTokens {
			src = src[:MaxSourceTokens]
		}
		items = append(items, item{src: src, tgt: r.m.Tgt.Encode(sources[i]), at: []int{i}})
	}
	if len(items) == 1 && len(cands) > 1 {
		// One distinct pair: score it in a batch of two as before.
		items = append(items, item{src: items[0].src, tgt: items[0].tgt})
	}
	// By the source's length (the decoder's steps, the costlier ones),
	// then the candidate's (the encoder's).
	sort.SliceStable(items, func(a, b int) bool {
		if la, lb := len(items[a].tgt), len(items[b].tgt); la != lb {
			return la < lb
		}
		return len(items[a].src) < len(items[b].src)
	})
	// Equal batches (sizes differ by at most one): none of one pair
	// unless there is only one.
	n := len(items)
	nb := (n + backBatch - 1) / backBatch
	var srcs, tgts [][]int32
	for k := nb - 1; k >= 0; k-- { // the longest first: the buffers grow once
		lo, hi := k*n/nb, (k+1)*n/nb
		srcs, tgts = srcs[:0], tgts[:0]
		for _, it := range items[lo:hi] {
			srcs, tgts = append(srcs, it.src), append(tgts, it.tgt)
		}
		r.bt.fill(srcs, tgts)
		r.w.decode(&r.bt, false, 1, nil)
		// The logits of the real target positions only (each row's are
		// its own): the padding after a shorter source costs no output
		// layer.
		B := hi - lo
		r.rows = r.rows[:0]
		for i, y := range r.bt.tgtOut[:r.bt.T*B] {
			if y >= 0 {
				r.rows = append(r.rows, i)
			}
		}
		F := r.m.featWidth()
		r.feat = grow(r.feat, len(r.rows)*F)
		for j, i := range r.rows {
			copy(r.feat[j*F:(j+1)*F], r.w.featD[i*F:(i+1)*F])
		}
		r.logits = r.m.outputs(r.logits, &r.pre, r.feat, len(r.rows), r.preOut, r.out)
		sum, cnt := make([]float64, B), make([]int, B)
		for j, i := range r.rows {
			b := i % B
			row := r.logits[j*V : (j+1)*V]
			sum[b] += float64(row[r.bt.tgtOut[i]]) - rnn.LogSumExp(row)
			cnt[b]++
		}
		for b, it := range items[lo:hi] {
			for _, i := range it.at {
				out[i] = sum[b] / float64(cnt[b])
			}
		}
	}
	return out
}

// logProb is logProbs for one pair.
func (r *backScorer) logProb(cand, source string) float64 {
	return r.logProbs([]string{cand}, []string{source})[0]
}

// backJob is one sentence of a chunk to re-rank: its hypotheses and what
// render needs.
type backJob struct {
	hs   []hyp
	text string
	src  []int32
	offs [][2]int
}

// rerankBack adds opt.BackWeight times the back score of each hypothesis's
// rendered text to its score and orders each job's hypotheses best first,
// scoring all of the chunk's hypotheses in shared batches.
func (m *Model) rerankBack(r *backScorer, jobs []backJob, opt TranslateOptions, copyLex map[string]bool) {
	var cands, sources []string
	for _, j := range jobs {
		for _, h := range j.hs {
			cands = append(cands, m.render(j.text, j.src, j.offs, h, opt.KeepUnk, copyLex).Text)
			sources = append(sources, j.text)
		}
	}
	lps := r.logProbs(cands, sources)
	k := 0
	for _, j := range jobs {
		for i := range j.hs {
			j.hs[i].score += opt.BackWeight * lps[k]
			k++
		}
		sort.SliceStable(j.hs, func(a, b int) bool { return j.hs[a].score > j.hs[b].score })
	}
}
