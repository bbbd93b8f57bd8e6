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
	m  *Model
	w  *work
	bt batch
}

func newBackScorer(m *Model) *backScorer { return &backScorer{m: m, w: newWork(m)} }

// backBatch is how many (candidate, source) pairs one teacher-forced pass
// scores.
const backBatch = 64

// logProbs returns log p(sources[i] | cands[i]) per source token (EOS
// included) for each i, in batches of backBatch.
func (r *backScorer) logProbs(cands, sources []string) []float64 {
	out := make([]float64, len(cands))
	V := r.m.Config.TgtVocab
	for lo := 0; lo < len(cands); lo += backBatch {
		hi := min(lo+backBatch, len(cands))
		srcs, tgts := make([][]int32, hi-lo), make([][]int32, hi-lo)
		for i := lo; i < hi; i++ {
			srcs[i-lo] = r.m.Src.Encode(cands[i])
			if len(srcs[i-lo]) > MaxSourceTokens {
				srcs[i-lo] = srcs[i-lo][:MaxSourceTokens]
			}
			tgts[i-lo] = r.m.Tgt.Encode(sources[i])
		}
		r.bt.fill(srcs, tgts)
		r.w.forward(&r.bt, false, 1, 0, nil, false)
		B := hi - lo
		sum, n := make([]float64, B), make([]int, B)
		for t := 0; t < r.bt.T; t++ {
			for b := 0; b < B; b++ {
				y := r.bt.tgtOut[t*B+b]
				if y < 0 {
					continue
				}
				row := r.w.logits[(t*B+b)*V : (t*B+b+1)*V]
				sum[b] += float64(row[y]) - rnn.LogSumExp(row)
				n[b]++
			}
		}
		for b := range B {
			out[lo+b] = sum[b] / float64(n[b])
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
