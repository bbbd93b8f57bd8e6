package seq2seq

import "sort"

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

// logProb is log p(source | cand) per source token (EOS included).
func (r *backScorer) logProb(cand, source string) float64 {
	src := r.m.Src.Encode(cand)
	if len(src) > MaxSourceTokens {
		src = src[:MaxSourceTokens]
	}
	tgt := r.m.Tgt.Encode(source)
	r.bt.fill([][]int32{src}, [][]int32{tgt})
	loss, _ := r.w.forward(&r.bt, false, 1, 0, nil, false)
	return -loss
}

// rerankBack adds opt.BackWeight times the back score of each
// hypothesis's rendered text to its score and orders hs best first.
func (m *Model) rerankBack(r *backScorer, hs []hyp, text string, src []int32, offs [][2]int, opt TranslateOptions, copyLex map[string]bool) {
	for j := range hs {
		cand := m.render(text, src, offs, hs[j], opt.KeepUnk, copyLex).Text
		hs[j].score += opt.BackWeight * r.logProb(cand, text)
	}
	sort.SliceStable(hs, func(a, b int) bool { return hs[a].score > hs[b].score })
}
