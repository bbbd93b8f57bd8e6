package seq2seq

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/kernel"
	"github.com/rnnkit/rnnkit/tokenize"
)

// MaxSourceTokens is the longest source sentence Translate accepts.
const MaxSourceTokens = 400

// ErrTooLong reports a source sentence longer than MaxSourceTokens.
var ErrTooLong = errors.New("sentence too long")

// ErrInvalidUTF8 reports a source sentence that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

// InputError reports a bad source sentence: Index is its 0-based position in
// the texts given to Translate; Err wraps ErrInvalidUTF8 or ErrTooLong.
type InputError struct {
	Index int
	Err   error
}

func (e *InputError) Error() string { return fmt.Sprintf("sentence %d: %v", e.Index+1, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// TranslateOptions configure Translate. Zero values mean the defaults.
type TranslateOptions struct {
	Beam          int     // beam width; 0 or 1 means greedy decoding
	LengthPenalty float64 // beam: hypotheses are ranked by log p / len^LengthPenalty; default 1 (mean log-probability), negative = 0 (none)
	MaxLenRatio   float64 // the output stops after MaxLenRatio·(source tokens) + 5 tokens; default 2
	Batch         int     // sentences decoded together (greedy), default 64; beam decodes Batch/Beam sentences at once
	KeepUnk       bool    // keep <unk> in the output instead of the most-attended source word
	NBest         int     // beam: also return the best NBest hypotheses in Translation.NBest (0 or 1 = only the best; at most Beam)
	// LexiconPenalty: with a beam and a model that stores a target lexicon
	// (LexiconMetaKey), the finished hypotheses are ranked by their score
	// minus LexiconPenalty for each word that is neither a word of the
	// training targets nor a word of the source (a name or a number copied
	// through), so a made-up word ("Holárate") loses to a real one. 0 = off.
	LexiconPenalty float64
	// NamePenalty: with a beam, the finished hypotheses also lose
	// NamePenalty for each name of the source (a capitalised word that does
	// not start the sentence, or a number) that they do not contain, so
	// "Vivo en Madrid." keeps Madrid. 0 = off.
	NamePenalty float64
	// CopyNames: a name or number of the source (as NamePenalty) that the
	// chosen translation lacks is copied through attention: the run of
	// whole target words that attended most to it is replaced by it
	// ("Mi nombre es el arma." -> "Mi nombre es Anna."): the made-up
	// words of that run, or the whole run if it has several words and no
	// capitalised one. Real words standing alone or capitalised stay
	// ("Tokio" for Tokyo). It needs the model's target lexicon
	// (LexiconMetaKey); names nothing attended to are left out.
	CopyNames bool
	// Ensemble: more translators with the same tokenizers as the model
	// (SameTokenizers); at every step the next-token log-probabilities of
	// all of them are averaged, and search runs on the average. The
	// model's own attention places <unk> replacements and copied names.
	Ensemble []*Model
	// Back, with BackWeight > 0 and a beam: a translator for the opposite
	// direction that re-ranks the finished hypotheses, each gaining
	// BackWeight times the mean log-probability per token of the source
	// given the hypothesis under Back (noisy-channel re-ranking):
	// candidates that lose or invent meaning translate back badly. It
	// costs one teacher-forced pass of Back per hypothesis.
	Back       *Model
	BackWeight float64
	// SplitSentences: a text of several sentences (Sentences) is
	// translated one sentence at a time and the translations are joined,
	// as the models were trained on single sentences: decoded whole, the
	// later sentences of a text tend to be dropped. See Translate for how
	// the parts of such a Translation are put together.
	SplitSentences bool
}

// DefaultTranslateOptions are the options rnnkit translate and rnnkit serve
// decode with when asked for nothing else: beam 5, the lexicon and name
// penalties at 1, names copied through, one sentence at a time, and, when
// Back is set, re-ranking by the opposite direction with weight 1.
func DefaultTranslateOptions() TranslateOptions {
	return TranslateOptions{Beam: 5, LengthPenalty: 1, MaxLenRatio: 2, Batch: 64, NBest: 1,
		LexiconPenalty: 1, NamePenalty: 1, CopyNames: true, BackWeight: 1, SplitSentences: true}
}

func (o *TranslateOptions) defaults() {
	if o.Beam < 1 {
		o.Beam = 1
	}
	if o.LengthPenalty == 0 {
		o.LengthPenalty = 1
	} else if o.LengthPenalty < 0 {
		o.LengthPenalty = 0
	}
	if o.MaxLenRatio <= 0 {
		o.MaxLenRatio = 2
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
}

// Translation is the output for one source sentence.
type Translation struct {
	Text      string      `json:"translation"`
	Source    []string    `json:"source_tokens"` // the source tokens
	Target    []string    `json:"target_tokens"` // the generated tokens, </s> last
	Attention [][]float32 `json:"attention"`     // (len(Target), len(Source)): where each target token looked
	LogProb   float64     `json:"log_prob"`      // log-probability of the target tokens under the model
	// NBest holds the best TranslateOptions.NBest hypotheses, best first
	// (the first is this translation), when NBest > 1.
	NBest []Alternative `json:"nbest,omitempty"`
}

// Alternative is one hypothesis of an n-best list.
type Alternative struct {
	Text    string  `json:"translation"`
	LogProb float64 `json:"log_prob"` // log-probability of its tokens, </s> included
	Score   float64 `json:"score"`    // the beam's ranking score: LogProb / len^LengthPenalty, less any lexicon penalty
}

// Translate translates each text. Sentences are decoded in batches of
// similar length; the results are in the order of texts. An empty text gives
// an empty translation. A text that is not valid UTF-8 or longer than
// MaxSourceTokens is an error naming its index (wrapping ErrInvalidUTF8 or
// ErrTooLong). Translate does not modify m and may run concurrently.
//
// With opt.SplitSentences, a text of several sentences is translated one
// sentence at a time (so MaxSourceTokens bounds each sentence), and its
// Translation joins theirs: the texts with a space, the source and target
// tokens in order (the </s> of each sentence but the last left out), the
// attention block by block (a sentence's tokens attend only to its own
// source tokens), the log-probabilities summed, and NBest[k] made of each
// sentence's k-th hypothesis (its last, for a sentence with fewer), its
// log-probability and score the sums of theirs.
func (m *Model) Translate(ctx context.Context, texts []string, opt TranslateOptions) ([]Translation, error) {
	if !opt.SplitSentences {
		return m.translate(ctx, texts, opt)
	}
	var segs []string
	first := make([]int, len(texts)+1) // texts[i] is segs[first[i]:first[i+1]]
	split := false
	for i, s := range texts {
		first[i] = len(segs)
		if !utf8.ValidString(s) {
			return nil, &InputError{i, ErrInvalidUTF8}
		}
		parts := Sentences(s)
		if len(parts) > 1 {
			segs, split = append(segs, parts...), true
		} else {
			segs = append(segs, s)
		}
	}
	first[len(texts)] = len(segs)
	if !split {
		return m.translate(ctx, texts, opt)
	}
	trs, err := m.translate(ctx, segs, opt)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			i := sort.Search(len(texts), func(i int) bool { return first[i+1] > ie.Index })
			return nil, &InputError{i, ie.Err}
		}
		return nil, err
	}
	out := make([]Translation, len(texts))
	for i := range texts {
		out[i] = joinTranslations(trs[first[i]:first[i+1]])
	}
	return out, nil
}

// joinTranslations puts the translations of a text's sentences together
// as Translate describes.
func joinTranslations(parts []Translation) Translation {
	if len(parts) == 1 {
		return parts[0]
	}
	var j Translation
	var texts []string
	cols := 0
	for _, p := range parts {
		cols += len(p.Source)
	}
	off := 0
	for k, p := range parts {
		texts = append(texts, p.Text)
		j.Source = append(j.Source, p.Source...)
		j.LogProb += p.LogProb
		n := len(p.Target)
		if k < len(parts)-1 && n > 0 && p.Target[n-1] == tokenize.Specials[tokenize.EOS] {
			n--
		}
		j.Target = append(j.Target, p.Target[:n]...)
		for _, row := range p.Attention[:min(n, len(p.Attention))] {
			full := make([]float32, cols)
			copy(full[off:], row)
			j.Attention = append(j.Attention, full)
		}
		off += len(p.Source)
	}
	j.Text = strings.Join(texts, " ")
	nb := 0
	for _, p := range parts {
		nb = max(nb, len(p.NBest))
	}
	for k := range nb {
		var a Alternative
		var ts []string
		for _, p := range parts {
			if len(p.NBest) == 0 {
				ts = append(ts, p.Text)
				a.LogProb += p.LogProb
				continue
			}
			alt := p.NBest[min(k, len(p.NBest)-1)]
			ts = append(ts, alt.Text)
			a.LogProb += alt.LogProb
			a.Score += alt.Score
		}
		a.Text = strings.Join(ts, " ")
		j.NBest = append(j.NBest, a)
	}
	return j
}

// translate is Translate without SplitSentences.
func (m *Model) translate(ctx context.Context, texts []string, opt TranslateOptions) ([]Translation, error) {
	opt.defaults()
	srcs := make([][]int32, len(texts))
	offs := make([][][2]int, len(texts))
	for i, s := range texts {
		if !utf8.ValidString(s) {
			return nil, &InputError{i, ErrInvalidUTF8}
		}
		if len(s) > 16*MaxSourceTokens {
			return nil, &InputError{i, fmt.Errorf("%w (%d bytes; at most %d tokens are translated at once, split it into sentences)", ErrTooLong, len(s), MaxSourceTokens)}
		}
		srcs[i], offs[i] = m.Src.EncodeOffsets(s)
		if len(srcs[i]) > MaxSourceTokens {
			return nil, &InputError{i, fmt.Errorf("%w (%d tokens, at most %d; split it into sentences)", ErrTooLong, len(srcs[i]), MaxSourceTokens)}
		}
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(srcs[order[a]]) < len(srcs[order[b]]) })
	out := make([]Translation, len(texts))
	inf := newInfer(m)
	for _, e := range opt.Ensemble {
		if err := m.SameTokenizers(e); err != nil {
			return nil, err
		}
		inf.others = append(inf.others, newInfer(e))
	}
	// The target lexicon, parsed once for the call: for re-ranking and for
	// copying names (nil when neither asks for it or the model has none).
	var lex, copyLex map[string]bool
	if (opt.LexiconPenalty > 0 && opt.Beam > 1) || opt.CopyNames {
		all := m.lexicon()
		if opt.LexiconPenalty > 0 && opt.Beam > 1 {
			lex = all
		}
		if opt.CopyNames {
			copyLex = all
		}
	}
	rerank := opt.Beam > 1 && (lex != nil || opt.NamePenalty > 0)
	var back *backScorer
	if opt.Beam > 1 && opt.Back != nil && opt.BackWeight > 0 {
		back = newBackScorer(opt.Back)
	}
	per := opt.Batch
	if opt.Beam > 1 {
		per = max(1, opt.Batch/opt.Beam)
	}
	// Decoded sentences wait here for the back scorer, which batches the
	// hypotheses of several chunks by length (backPool), then are re-ranked
	// and rendered.
	type decoded struct {
		i  int // index into texts
		hs []hyp
	}
	var pending []decoded
	waiting := 0 // hypotheses in pending
	finish := func() {
		if back != nil {
			var jobs []backJob
			for _, d := range pending {
				if len(d.hs) > 1 {
					jobs = append(jobs, backJob{hs: d.hs, text: texts[d.i], src: srcs[d.i], offs: offs[d.i]})
				}
			}
			m.rerankBack(back, jobs, opt, copyLex)
		}
		for _, d := range pending {
			i, hs := d.i, d.hs
			if rerank && len(hs) > 1 {
				m.rerank(hs, texts[i], srcs[i], offs[i], lex, opt)
			}
			out[i] = m.render(texts[i], srcs[i], offs[i], hs[0], opt.KeepUnk, copyLex)
			if opt.NBest > 1 {
				for _, h := range hs[:min(opt.NBest, len(hs))] {
					r := m.render(texts[i], srcs[i], offs[i], h, opt.KeepUnk, copyLex)
					out[i].NBest = append(out[i].NBest, Alternative{Text: r.Text, LogProb: h.logProb, Score: h.score})
				}
			}
		}
		pending, waiting = pending[:0], 0
	}
	for lo := 0; lo < len(order); lo += per {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := order[lo:min(lo+per, len(order))]
		var chunk [][]int32
		for _, i := range idx {
			if len(srcs[i]) > 0 {
				chunk = append(chunk, srcs[i])
			}
		}
		if len(chunk) == 0 {
			continue
		}
		var hyps [][]hyp
		if opt.Beam > 1 {
			hyps = inf.beam(chunk, opt)
		} else {
			for _, h := range inf.greedy(chunk, opt) {
				hyps = append(hyps, []hyp{h})
			}
		}
		k := 0
		for _, i := range idx {
			if len(srcs[i]) == 0 {
				continue
			}
			pending = append(pending, decoded{i, hyps[k]})
			waiting += len(hyps[k])
			k++
		}
		if back == nil || waiting >= backPool {
			finish()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	finish()
	return out, nil
}

// rerank orders hs (best first) by score minus opt.LexiconPenalty per
// word of the rendered text that lex and the source lack, and minus
// opt.NamePenalty per name of the source the text lacks.
func (m *Model) rerank(hs []hyp, text string, src []int32, offs [][2]int, lex map[string]bool, opt TranslateOptions) {
	source := wordsOf(text)
	names := sourceNames(text)
	for j := range hs {
		r := m.render(text, src, offs, hs[j], opt.KeepUnk, nil)
		if lex != nil {
			hs[j].score -= opt.LexiconPenalty * float64(unknownWords(r.Text, source, lex))
		}
		if opt.NamePenalty > 0 {
			hs[j].score -= opt.NamePenalty * float64(missingNames(r.Text, names))
		}
	}
	sort.SliceStable(hs, func(a, b int) bool { return hs[a].score > hs[b].score })
}

// hyp is a decoded target: tokens (EOS last unless cut at the length
// limit), one attention row per token, and the log-probability.
type hyp struct {
	toks    []int32
	attn    [][]float32
	logProb float64
	score   float64 // the beam's ranking score (logProb when greedy)
}

// render detokenizes a hypothesis, replaces <unk> by the source word the
// model attended to most and, given the target lexicon copyLex, copies the
// source names the text lacks (TranslateOptions.CopyNames; nil: no copying).
func (m *Model) render(text string, src []int32, offs [][2]int, h hyp, keepUnk bool, copyLex map[string]bool) Translation {
	tr := Translation{LogProb: h.logProb, Attention: h.attn}
	for _, id := range src {
		tr.Source = append(tr.Source, m.Src.Token(id))
	}
	toks := h.toks
	for _, id := range toks {
		tr.Target = append(tr.Target, m.Tgt.Token(id))
	}
	if n := len(toks); n > 0 && toks[n-1] == tokenize.EOS {
		toks = toks[:n-1]
	}
	var spans []replacement // in token order
	if !keepUnk {
		for i, id := range toks {
			if id == tokenize.Unk {
				spans = append(spans, replacement{i, i + 1, sourceWord(text, offs, h.attn[i])})
			}
		}
	}
	if copyLex != nil {
		for _, c := range m.nameCopies(text, offs, toks, h.attn, m.Tgt.Decode(toks), copyLex) {
			overlaps := false
			for _, s := range spans {
				overlaps = overlaps || (c.from < s.to && s.from < c.to)
			}
			if !overlaps {
				spans = append(spans, c)
			}
		}
		sort.Slice(spans, func(a, b int) bool { return spans[a].from < spans[b].from })
	}
	var sb strings.Builder
	seg := 0
	for _, s := range spans {
		sb.WriteString(m.Tgt.Decode(toks[seg:s.from]))
		if sb.Len() > 0 && !strings.HasSuffix(sb.String(), " ") {
			sb.WriteByte(' ')
		}
		sb.WriteString(s.word)
		if s.to < len(toks) && startsWord(m.Tgt, toks[s.to]) {
			sb.WriteByte(' ')
		}
		seg = s.to
	}
	sb.WriteString(m.Tgt.Decode(toks[seg:]))
	tr.Text = tidyPunct(strings.Join(strings.Fields(sb.String()), " "))
	return tr
}

// tidyPunct drops a comma that directly precedes a sentence mark
// ("Por favor,." -> "Por favor."): no text is written that way, but a model
// ending a polite formula with a comma sometimes emits it. It also joins
// an opening ¡ or ¿ to the word after it ("¡ Buena" -> "¡Buena"), which a
// model splitting punctuation off words can emit as a word of its own.
func tidyPunct(s string) string {
	for _, mark := range []string{".", "!", "?", "…"} {
		s = strings.ReplaceAll(s, ","+mark, mark)
		s = strings.ReplaceAll(s, ", "+mark, mark)
	}
	s = strings.ReplaceAll(s, "¡ ", "¡")
	return strings.ReplaceAll(s, "¿ ", "¿")
}

// replacement puts word in place of the target tokens [from, to): an
// <unk> replaced by its source word, or a copied name.
type replacement struct {
	from, to int
	word     string
}

// nameCopies finds, for each source name (sourceNames) that out lacks,
// the first run of whole target words most of whose tokens attended most
// to one of the name's source tokens.
// lex is the target lexicon: without it made-up words can't be told from
// real ones.
func (m *Model) nameCopies(text string, offs [][2]int, toks []int32, attn [][]float32, out string, lex map[string]bool) []replacement {
	names := sourceNames(text)
	if len(names) == 0 || len(toks) == 0 {
		return nil
	}
	// Target words as token ranges; punctuation is a unit of its own.
	var words [][2]int
	for i := range toks {
		if i == 0 || startsWord(m.Tgt, toks[i]) || m.isPunct(toks[i]) || m.isPunct(toks[i-1]) {
			words = append(words, [2]int{i, i + 1})
		} else {
			words[len(words)-1][1] = i + 1
		}
	}
	// focus[t]: the source token target token t attended to most.
	focus := make([]int, len(toks))
	for t := range toks {
		best := 0
		for s, w := range attn[t] {
			if w > attn[t][best] {
				best = s
			}
		}
		focus[t] = best
	}
	var copies []replacement
	used := make([]bool, len(words))
	search := 0
	for _, name := range names {
		if missingNames(out, []string{name}) == 0 {
			continue
		}
		// The source tokens inside an occurrence of name, at or after search.
		at := strings.Index(text[search:], name)
		if at < 0 {
			continue
		}
		lo, hi := search+at, search+at+len(name)
		search = hi
		inName := func(s int) bool { return s < len(offs) && offs[s][0] < hi && offs[s][1] > lo }
		for w := 0; w < len(words); w++ {
			// A word stands for the name when most of its tokens attended
			// to it most ("▁t í gra fo" for Anna, whose last piece looked
			// at the full stop).
			all := func(w int) bool {
				if used[w] {
					return false
				}
				n := 0
				for t := words[w][0]; t < words[w][1]; t++ {
					if m.isPunct(toks[t]) {
						return false
					}
					if inName(focus[t]) {
						n++
					}
				}
				return 2*n > words[w][1]-words[w][0]
			}
			if !all(w) {
				continue
			}
			e := w
			for e+1 < len(words) && all(e+1) {
				e++
			}
			for k := w; k <= e; k++ {
				used[k] = true
			}
			// Replace what stands for the name: the made-up words of the
			// run ("a Kevinín" -> "a Kevin"), else the whole run when it
			// has several words and none is capitalised ("el arma" for
			// Anna). Real words that stand alone or are capitalised are
			// the model's choice and stay: "en" for Anna, "Tokio" for
			// Tokyo, "Japón" for Japan.
			known := func(k int) bool {
				ws := lexWords(m.Tgt.Decode(toks[words[k][0]:words[k][1]]))
				return len(ws) == 1 && lex[ws[0]]
			}
			capital := func(k int) bool {
				r, _ := utf8.DecodeRuneInString(strings.TrimPrefix(m.Tgt.Token(toks[words[k][0]]), "▁"))
				return unicode.IsUpper(r)
			}
			a, b, ok := narrow(w, e, func(k int) bool { return !known(k) })
			if !ok {
				if _, _, anyCapital := narrow(w, e, capital); w == e || anyCapital {
					break
				}
				a, b = w, e
			}
			w, e = a, b
			copies = append(copies, replacement{words[w][0], words[e][1], name})
			break
		}
	}
	return copies
}

// narrow returns the first and last k in [w, e] with keep(k), and false
// when there is none.
func narrow(w, e int, keep func(int) bool) (int, int, bool) {
	a, b := w, e
	for a <= e && !keep(a) {
		a++
	}
	for b >= w && !keep(b) {
		b--
	}
	return a, b, a <= b
}

// isPunct reports whether target token id is punctuation only.
func (m *Model) isPunct(id int32) bool {
	s := strings.TrimPrefix(m.Tgt.Token(id), "▁")
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsPunct(r) {
			return false
		}
	}
	return true
}

// startsWord reports whether token id begins a new word when decoded.
func startsWord(t tokenize.Tokenizer, id int32) bool {
	s := t.Token(id)
	if strings.HasPrefix(s, "▁") {
		return true
	}
	if t.Kind() == "word" {
		r, _ := utf8.DecodeRuneInString(s)
		return unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	return false
}

// sourceWord is the whitespace-delimited word of text around the source
// token with the largest weight in attn.
func sourceWord(text string, offs [][2]int, attn []float32) string {
	if len(offs) == 0 {
		return ""
	}
	best := 0
	for s := range offs {
		if s < len(attn) && attn[s] > attn[best] {
			best = s
		}
	}
	a, b := offs[best][0], offs[best][1]
	for a > 0 && !isSpaceByte(text[a-1]) {
		a--
	}
	for b < len(text) && !isSpaceByte(text[b]) {
		b++
	}
	w := strings.TrimSpace(text[a:b])
	return strings.TrimRightFunc(w, func(r rune) bool { return unicode.IsPunct(r) && r != '\'' })
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// infer holds the buffers of batched decoding. Each Translate call has its own.
type infer struct {
	m         *Model
	w         *work // encoder and bridge
	mem       *rnn.AttentionMemory
	seq       *rnn.Seq
	state     *rnn.State
	st        rnn.AttentionStep
	keys      []float32
	lens      []int
	ids       []int32
	e, x      []float32
	h, ctx    []float32
	feat      []float32
	pre       []float32
	logits    []float32
	bt        batch
	out       *rnn.PackedLinear // m.out packed once per Translate call, for R > 1
	preOut    *rnn.PackedLinear // m.preOut (tied models) likewise, nil if it would round differently
	packedPre bool              // preOut has been made (or found unusable)
	others    []*infer          // the ensemble's other models (TranslateOptions.Ensemble)
	pick      pick              // greedy's choice of tokens
	lse       []float64         // beam: each row's log-sum-exp
	lseJob    lseJob
	rows      int       // decoder rows now (start's, fewer once sentences are done)
	tmpH      []float32 // regroup's scratch
	tmpC      []float32
	tmpCtx    []float32
}

// SameTokenizers reports, as an error, whether o cannot decode together
// with m (TranslateOptions.Ensemble): both tokenizers must be the same.
func (m *Model) SameTokenizers(o *Model) error {
	a, b := m.tokenizerSums(), o.tokenizerSums()
	for i, name := range []string{"source", "target"} {
		if !a.ok[i] || !b.ok[i] || a.sum[i] != b.sum[i] {
			return fmt.Errorf("seq2seq: the ensemble's models need the same %s tokenizer", name)
		}
	}
	return nil
}

// tokenizerSums are the SHA-256 sums of a model's two tokenizers'
// tokenizer.json (ok false where it cannot be marshalled), taken of the
// tokenizer values src and tgt.
type tokenizerSums struct {
	src, tgt tokenize.Tokenizer
	sum      [2][sha256.Size]byte
	ok       [2]bool
}

// tokenizerSums returns m's tokenizer fingerprints, computed once while
// m.Src and m.Tgt stay the same values: marshalling a 4,000-token BPE
// takes milliseconds, and Translate checks each ensemble member on every
// call.
func (m *Model) tokenizerSums() *tokenizerSums {
	if t := m.tokSums.Load(); t != nil && sameTokenizer(t.src, m.Src) && sameTokenizer(t.tgt, m.Tgt) {
		return t
	}
	t := &tokenizerSums{src: m.Src, tgt: m.Tgt}
	for i, tok := range []tokenize.Tokenizer{m.Src, m.Tgt} {
		if j, err := tok.MarshalJSON(); err == nil {
			t.sum[i], t.ok[i] = sha256.Sum256(j), true
		}
	}
	m.tokSums.Store(t)
	return t
}

// sameTokenizer reports whether a and b are the same pointer (rnnkit's
// tokenizers are pointers); a tokenizer of another kind of type is never
// the same, so its sum is taken again.
func sameTokenizer(a, b tokenize.Tokenizer) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta.Kind() == reflect.Pointer && ta == reflect.TypeOf(b) && a == b
}

func newInfer(m *Model) *infer {
	w := newWork(m) // the encoder and bridge only
	w.encSeq = m.enc.NewStepSeq().InferenceOnly()
	return &infer{m: m, w: w, mem: m.attn.NewStepMemory(), seq: m.dec.NewStepSeq()}
}

// start encodes srcs and prepares rows = len(srcs)·rep decoder rows (each
// sentence repeated rep times, consecutively) with the bridged state.
func (in *infer) start(srcs [][]int32, rep int) {
	m, cfg := in.m, in.m.Config
	in.bt.fill(srcs, nil)
	S, B := in.bt.S, in.bt.B
	E, K, Hd := cfg.Embedding, 2*cfg.EncHidden, cfg.DecHidden
	w := in.w
	w.srcX = grow(w.srcX, S*B*E)
	m.srcEmb.Forward(w.srcX, in.bt.src)
	enc := w.encSeq.Forward(w.srcX, S, B, in.bt.srcLen, nil, false, nil)
	w.bridgeForward(w.encSeq.Final(), B)
	R := B * rep
	in.keys = grow(in.keys, S*R*K)
	in.lens = in.lens[:0]
	for b := 0; b < B; b++ {
		for j := 0; j < rep; j++ {
			in.lens = append(in.lens, in.bt.srcLen[b])
		}
	}
	for s := 0; s < S; s++ {
		for b := 0; b < B; b++ {
			src := enc[(s*B+b)*K : (s*B+b+1)*K]
			for j := 0; j < rep; j++ {
				copy(in.keys[(s*R+b*rep+j)*K:], src)
			}
		}
	}
	in.mem.SetRepeated(in.keys, S, R, in.lens, rep) // each sentence's keys projected once
	in.state = m.dec.NewState(R)
	for l := 0; l < cfg.DecLayers; l++ {
		for b := 0; b < B; b++ {
			for j := 0; j < rep; j++ {
				r := b*rep + j
				copy(in.state.H[(l*R+r)*Hd:(l*R+r+1)*Hd], w.s0[b*Hd:(b+1)*Hd])
			}
		}
	}
	in.ctx = grow(in.ctx, R*K)
	clear(in.ctx)
	in.rows = R
	in.ids = growI(in.ids, R)
	for r := range in.ids {
		in.ids[r] = tokenize.BOS
	}
	for _, o := range in.others {
		o.start(srcs, rep)
	}
}

// step advances every row by one token (in.ids) and leaves log-probabilities
// in in.logits (R, V), the mean over the ensemble's models, and the
// attention weights of in's model in in.st.Weights() (R, S). With raw and
// no ensemble it leaves the logits instead (rnn.LogSumExp turns one of
// them into its log-probability).
func (in *infer) step(R int, raw bool) {
	in.stepOne(R, raw && len(in.others) == 0)
	if len(in.others) == 0 {
		return
	}
	n := in.logits[:R*in.m.Config.TgtVocab]
	for _, o := range in.others {
		copy(o.ids[:R], in.ids[:R])
		o.stepOne(R, false)
		for i, v := range o.logits[:len(n)] {
			n[i] += v
		}
	}
	scale := 1 / float32(1+len(in.others))
	for i := range n {
		n[i] *= scale
	}
}

// regroup makes row r of the next step continue the current row par[r]
// (its state and context) with token tk[r], in every model of the
// ensemble; len(par) may be fewer rows than now. With memRows (increasing,
// one per new row) the attention memory keeps those rows: sentences that
// are done leave the batch. Every product is per row, so the rows left
// compute what they would have with the others still there (as long as
// there are two or more: one row is a matrix-vector product, which rounds
// differently; the callers keep two).
func (in *infer) regroup(par []int, tk []int32, memRows []int) {
	K, Hd, Ld := 2*in.m.Config.EncHidden, in.m.Config.DecHidden, in.m.Config.DecLayers
	old, R := in.rows, len(par)
	in.tmpH = grow(in.tmpH, len(in.state.H))
	copy(in.tmpH, in.state.H)
	if in.state.C != nil {
		in.tmpC = grow(in.tmpC, len(in.state.C))
		copy(in.tmpC, in.state.C)
	}
	in.tmpCtx = grow(in.tmpCtx, old*K)
	copy(in.tmpCtx, in.ctx[:old*K])
	in.state.H = in.state.H[:Ld*R*Hd]
	if in.state.C != nil {
		in.state.C = in.state.C[:Ld*R*Hd]
	}
	for r, p := range par {
		for l := 0; l < Ld; l++ {
			copy(in.state.H[(l*R+r)*Hd:(l*R+r+1)*Hd], in.tmpH[(l*old+p)*Hd:(l*old+p+1)*Hd])
			if in.state.C != nil {
				copy(in.state.C[(l*R+r)*Hd:(l*R+r+1)*Hd], in.tmpC[(l*old+p)*Hd:(l*old+p+1)*Hd])
			}
		}
		copy(in.ctx[r*K:(r+1)*K], in.tmpCtx[p*K:(p+1)*K])
		in.ids[r] = tk[r]
	}
	if memRows != nil {
		in.mem.Keep(memRows)
	}
	in.rows = R
	for _, o := range in.others {
		o.regroup(par, tk, memRows)
	}
}

// stepOne is step for in's model alone; with raw it leaves the logits.
func (in *infer) stepOne(R int, raw bool) {
	m, cfg := in.m, in.m.Config
	E, K, Hd, V, F := cfg.Embedding, 2*cfg.EncHidden, cfg.DecHidden, cfg.TgtVocab, m.featWidth()
	in.e = grow(in.e, R*E)
	m.tgtEmb.Forward(in.e, in.ids[:R])
	x := in.e
	if cfg.InputFeeding {
		D := E + K
		in.x = grow(in.x, R*D)
		for r := 0; r < R; r++ {
			copy(in.x[r*D:], in.e[r*E:(r+1)*E])
			copy(in.x[r*D+E:(r+1)*D], in.ctx[r*K:(r+1)*K])
		}
		x = in.x
	}
	h := in.seq.Forward(x, 1, R, nil, in.state, false, nil)
	in.state.CopyFrom(in.seq.Final())
	in.h = grow(in.h, R*Hd)
	copy(in.h, h)
	in.mem.Forward(&in.st, in.ctx[:R*K], in.h)
	in.feat = grow(in.feat, R*F)
	for r := 0; r < R; r++ {
		f := in.feat[r*F : (r+1)*F]
		copy(f, in.h[r*Hd:(r+1)*Hd])
		copy(f[Hd:], in.ctx[r*K:(r+1)*K])
		copy(f[Hd+K:], in.e[r*E:(r+1)*E])
	}
	in.logits = grow(in.logits, R*V)
	f := in.feat
	if m.preOut != nil {
		in.pre = grow(in.pre, R*E)
		if R > 1 && !in.packedPre {
			// Packed once per Translate call, as m.out: for R > 1 the
			// product is bit-identical to Linear.Forward's.
			if p := m.preOut.Packed(); p.SameAsForward() {
				in.preOut = p
			}
			in.packedPre = true
		}
		if R > 1 && in.preOut != nil {
			in.preOut.Forward(in.pre, f, R)
		} else {
			m.preOut.Forward(in.pre, f, R)
		}
		f = in.pre
	}
	if R == 1 {
		m.out.Forward(in.logits, f, R) // a matrix-vector product: nothing to pack
	} else {
		if in.out == nil {
			in.out = m.out.Packed()
		}
		in.out.Forward(in.logits, f, R)
	}
	if !raw {
		rnn.LogSoftmax(in.logits, in.logits, R, V)
	}
}

func (in *infer) maxLen(srcLen int, opt TranslateOptions) int {
	return int(opt.MaxLenRatio*float64(srcLen)) + 5
}

// greedy decodes srcs taking the most likely token at every step.
func (in *infer) greedy(srcs [][]int32, opt TranslateOptions) []hyp {
	in.start(srcs, 1)
	B, S, V := len(srcs), in.bt.S, in.m.Config.TgtVocab
	out := make([]hyp, B)
	done := make([]bool, B)
	left := B
	raw := len(in.others) == 0
	// Decoder row c decodes sentence sent[c]; rows leave as their
	// sentences end (all but two: one row would round differently).
	sent := make([]int, B)
	for b := range sent {
		sent[b] = b
	}
	rowDone := make([]bool, B)
	var keep, keepSent []int
	var tk []int32
	for t := 0; left > 0; t++ {
		R := len(sent)
		in.step(R, raw)
		// The best token of every row still decoding, and its
		// log-probability, on both cores.
		for c, b := range sent {
			rowDone[c] = done[b]
		}
		in.pick.tok = growI(in.pick.tok, R)
		in.pick.lp = grow(in.pick.lp, R)
		in.pick.logits, in.pick.V, in.pick.raw, in.pick.done = in.logits, V, raw, rowDone[:R]
		kernel.Parallel(R, 8, &in.pick)
		w := in.st.Weights()
		ended := false
		for c, b := range sent {
			if done[b] {
				continue
			}
			y := in.pick.tok[c]
			h := &out[b]
			h.toks = append(h.toks, y)
			h.logProb += float64(in.pick.lp[c])
			h.attn = append(h.attn, append([]float32(nil), w[c*S:c*S+len(srcs[b])]...))
			in.ids[c] = y
			if y == tokenize.EOS || t+1 >= in.maxLen(len(srcs[b]), opt) {
				done[b] = true
				left--
				ended = true
			}
		}
		if !ended || left == 0 || R <= 2 {
			continue
		}
		// The rows still decoding, and with one left a done one beside it.
		keep, keepSent = keep[:0], keepSent[:0]
		spare := -1
		for c, b := range sent {
			if !done[b] {
				keep, keepSent = append(keep, c), append(keepSent, b)
			} else if spare < 0 {
				spare = c
			}
		}
		if len(keep) == 1 {
			at := 0
			if spare > keep[0] {
				at = 1
			}
			keep = append(keep[:at], append([]int{spare}, keep[at:]...)...)
			keepSent = append(keepSent[:at], append([]int{sent[spare]}, keepSent[at:]...)...)
		}
		tk = growI(tk, len(keep))
		for i, c := range keep {
			tk[i] = in.ids[c]
		}
		in.regroup(keep, tk, keep)
		sent = append(sent[:0], keepSent...)
	}
	return out
}

// rowLSE returns the log-sum-exp of each of the R rows of in.logits, on
// both cores, when raw; else zeros (the rows are log-probabilities).
func (in *infer) rowLSE(R int, raw bool) []float64 {
	in.lse = growF64(in.lse, R)
	if !raw {
		clear(in.lse)
		return in.lse
	}
	V := in.m.Config.TgtVocab
	in.lseJob = lseJob{logits: in.logits, V: V, out: in.lse}
	kernel.Parallel(R, 8, &in.lseJob)
	return in.lse
}

// lseJob computes rows' log-sum-exps (rnn.LogSumExp).
type lseJob struct {
	logits []float32
	V      int
	out    []float64
}

func (j *lseJob) Range(lo, hi int) {
	for r := lo; r < hi; r++ {
		j.out[r] = rnn.LogSumExp(j.logits[r*j.V : (r+1)*j.V])
	}
}

func growF64(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}

// pick finds each row's best output token (bestOutput) and its
// log-probability, from log-probabilities or, with raw, from logits.
type pick struct {
	logits []float32 // (rows, V)
	V      int
	raw    bool
	done   []bool  // rows to skip
	tok    []int32 // the best token of each row
	lp     []float32
}

func (p *pick) Range(lo, hi int) {
	for b := lo; b < hi; b++ {
		if p.done[b] {
			continue
		}
		row := p.logits[b*p.V : (b+1)*p.V]
		if !p.raw {
			y := bestOutput(row)
			p.tok[b], p.lp[b] = y, row[y]
			continue
		}
		lse, mx := rnn.LogSumExpMax(row)
		p.tok[b], p.lp[b] = bestLogProb(row, lse, mx)
	}
}

// bestLogProb is bestOutput over the log-probabilities float32(z - lse) of
// logits z, computed on the fly instead of written out (they are what
// rnn.LogSoftmax would write, so the token is the same, ties included),
// and the best one's log-probability. mx is the largest element of z.
//
// The log-probability is non-decreasing in z, so the best one is that of
// mx (unless mx is <pad> or <s>), and the token is the first other than
// those two whose log-probability rounds to it: only the logits within
// rounding of mx need the conversion. The rest is a float32 comparison.
// When nothing matches (NaN, infinities, mx at an excluded token and
// nothing level with it), the plain scan decides.
func bestLogProb(z []float32, lse float64, mx float32) (int32, float32) {
	if bv := float32(float64(mx) - lse); bv == bv {
		// any x whose log-probability rounds to bv is within an ulp of bv + lse
		ulp := float64(math.Nextafter32(float32(math.Abs(float64(bv))), float32(math.Inf(1))) - float32(math.Abs(float64(bv))))
		lo := math.Nextafter32(float32(float64(bv)+lse-2*ulp), float32(math.Inf(-1)))
		for i, x := range z {
			if x >= lo && int32(i) != tokenize.Pad && int32(i) != tokenize.BOS && float32(float64(x)-lse) == bv {
				return int32(i), bv
			}
		}
	}
	return bestLogProbScan(z, lse)
}

// bestLogProbScan is bestLogProb by converting every logit.
func bestLogProbScan(z []float32, lse float64) (int32, float32) {
	best, bv := tokenize.Unk, float32(float64(z[tokenize.Unk])-lse)
	for i, x := range z {
		if v := float32(float64(x) - lse); v > bv && int32(i) != tokenize.Pad && int32(i) != tokenize.BOS {
			best, bv = int32(i), v
		}
	}
	return best, bv
}

type cand struct {
	score float64
	row   int // parent row
	tok   int32
}

// beam decodes srcs with beam search of width opt.Beam, all sentences of the
// batch at once (Beam rows each).
// beam returns, for each source, its finished hypotheses best first.
func (in *infer) beam(srcs [][]int32, opt TranslateOptions) [][]hyp {
	W := opt.Beam
	in.start(srcs, W)
	m := in.m
	B, S, V := len(srcs), in.bt.S, m.Config.TgtVocab
	R := B * W
	score := make([]float64, R)
	for r := range score {
		if r%W != 0 {
			score[r] = math.Inf(-1) // identical rows at the start: keep one
		}
	}
	type fin struct {
		norm float64
		h    hyp
	}
	finished := make([][]fin, B)
	done := make([]bool, B)
	left := B
	// history for backtracking
	var parents [][]int
	var toks [][]int32
	var attns [][]float32
	backtrack := func(t, row int) hyp {
		var h hyp
		for ; t >= 0; t-- {
			h.toks = append(h.toks, toks[t][row])
			p := parents[t][row]
			a := attns[t][p*S : p*S+len(srcs[p/W])]
			h.attn = append(h.attn, a)
			row = p
		}
		for i, j := 0, len(h.toks)-1; i < j; i, j = i+1, j-1 {
			h.toks[i], h.toks[j] = h.toks[j], h.toks[i]
			h.attn[i], h.attn[j] = h.attn[j], h.attn[i]
		}
		return h
	}
	norm := func(s float64, n int) float64 { return s / math.Pow(float64(n), opt.LengthPenalty) }
	newScore := make([]float64, R)
	top := make([]cand, 0, 2*W)
	// The decoder runs the rows of the sentences still decoding, live, in
	// order: sentence live[i] has rows i·W .. i·W+W-1 (at[b] = i); the
	// bookkeeping below is in rows b·W+j of all sentences.
	live := make([]int, B)
	at := make([]int, B)
	for b := range live {
		live[b], at[b] = b, b
	}
	var next, par, memRows []int
	var nextTk []int32
	// Without an ensemble the step leaves logits, and each row's
	// log-probabilities are computed as extendTop reads them (the bits
	// rnn.LogSoftmax would write) instead of written out.
	raw := len(in.others) == 0
	for t := 0; left > 0; t++ {
		in.step(len(live)*W, raw)
		lse := in.rowLSE(len(live)*W, raw)
		wts := in.st.Weights()
		a := make([]float32, R*S)
		for i, b := range live {
			copy(a[b*W*S:(b+1)*W*S], wts[i*W*S:(i+1)*W*S])
		}
		attns = append(attns, a)
		tk := make([]int32, R)
		pr := make([]int, R)
		for b := 0; b < B; b++ {
			if done[b] {
				for j := 0; j < W; j++ {
					r := b*W + j
					pr[r], tk[r], newScore[r] = r, tokenize.Pad, math.Inf(-1)
				}
				continue
			}
			// the best 2W extensions of the W live rows
			top = top[:0]
			for j := 0; j < W; j++ {
				r := b*W + j
				if math.IsInf(score[r], -1) {
					continue
				}
				c := at[b]*W + j // the decoder's row
				top = extendTop(top, 2*W, in.logits[c*V:(c+1)*V], lse[c], score[r], r)
			}
			last := t+1 >= in.maxLen(len(srcs[b]), opt)
			n := 0
			for i, c := range top {
				if c.tok == tokenize.EOS || last {
					// an ending counts only if it ranks among the best W
					// extensions (as in fairseq), so width 1 is greedy
					if i < W && len(finished[b]) < W {
						h := backtrack(t-1, c.row)
						h.toks = append(h.toks, c.tok)
						h.attn = append(h.attn, attns[t][c.row*S:c.row*S+len(srcs[b])])
						h.logProb = c.score
						finished[b] = append(finished[b], fin{norm(c.score, len(h.toks)), h})
					}
					continue
				}
				if n < W {
					r := b*W + n
					pr[r], tk[r], newScore[r] = c.row, c.tok, c.score
					n++
				}
			}
			for ; n < W; n++ {
				r := b*W + n
				pr[r], tk[r], newScore[r] = b*W, tokenize.Pad, math.Inf(-1)
			}
			if len(finished[b]) >= W || last {
				done[b] = true
				left--
			}
		}
		parents = append(parents, pr)
		toks = append(toks, tk)
		copy(score, newScore)
		if left == 0 {
			break
		}
		// The decoder state and context rows by parent, for the sentences
		// still decoding (at least one, so W >= 2 rows).
		next = next[:0]
		for _, b := range live {
			if !done[b] {
				next = append(next, b)
			}
		}
		par, nextTk, memRows = par[:0], nextTk[:0], memRows[:0]
		for _, b := range next {
			for j := 0; j < W; j++ {
				r := b*W + j
				par = append(par, at[b]*W+pr[r]-b*W)
				nextTk = append(nextTk, tk[r])
				memRows = append(memRows, at[b]*W+j)
			}
		}
		if len(next) == len(live) {
			memRows = nil // nobody left
		}
		in.regroup(par, nextTk, memRows)
		live = append(live[:0], next...)
		for i, b := range live {
			at[b] = i
		}
	}
	out := make([][]hyp, B)
	for b := range out {
		// stable: among equal scores the earlier-finished ranks first
		sort.SliceStable(finished[b], func(i, j int) bool { return finished[b][i].norm > finished[b][j].norm })
		for _, f := range finished[b] {
			f.h.score = f.norm
			out[b] = append(out[b], f.h)
		}
	}
	return out
}

// extendTop merges the extensions of row r (score sc, next-token
// log-probabilities float32(float64(z[v]) - lse), what rnn.LogSoftmax
// writes for logits z, or z itself with lse 0) into top, the best k
// candidates so far in order of score (equal scores in order of arrival),
// and returns it: each token but <pad> and <s>, scored sc + lp[v], in the
// order of v. Once top is full, a candidate must beat its last score; as
// sc + float64(lp) grows with lp, and lp with z, that is z > cut for a
// float32 cut found once per threshold, so most of the row is passed over
// with one float32 comparison each, and what is kept is exactly what
// scoring every token would keep.
func extendTop(top []cand, k int, z []float32, lse float64, sc float64, r int) []cand {
	nan := float32(math.NaN())
	cut := nan // no cut (x <= NaN is false) until top is full
	if len(top) == k {
		cut = logitCut(scoreCut(sc, top[k-1].score), lse)
	}
	for v, x := range z {
		if x <= cut {
			continue // sc + float64(lp) <= the last score: not kept
		}
		if int32(v) == tokenize.Pad || int32(v) == tokenize.BOS {
			continue // never an output, like in greedy decoding
		}
		s := sc + float64(float32(float64(x)-lse))
		if len(top) == k && s <= top[k-1].score {
			continue
		}
		c := cand{s, r, int32(v)}
		i := sort.Search(len(top), func(i int) bool { return top[i].score < s })
		if len(top) < k {
			top = append(top, cand{})
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = c
		if len(top) == k {
			cut = logitCut(scoreCut(sc, top[k-1].score), lse)
		}
	}
	return top
}

// logitCut returns the largest float32 x with float32(float64(x) - lse) <=
// cut (lse not NaN), so that for every float32 z, z <= x exactly when its
// log-probability is <= cut; NaN (no cut) when cut is NaN. The
// log-probability grows with z (never shrinks), so a binary search over
// the float32 values in order finds x; with lse 0 it is cut itself.
func logitCut(cut float32, lse float64) float32 {
	if math.IsNaN(float64(cut)) || lse == 0 {
		return cut
	}
	lp := func(k int64) float32 { return float32(float64(orderedFloat(k)) - lse) }
	// Usually cut + lse is the answer or a few values off it.
	if x := float32(float64(cut) + lse); !math.IsInf(float64(x), 0) && !math.IsNaN(float64(x)) {
		k := ordinal(x)
		for i := 0; i < 4 && lp(k) > cut; i++ {
			k--
		}
		if lp(k) <= cut {
			for i := 0; i < 4; i++ {
				if lp(k+1) > cut {
					return orderedFloat(k)
				}
				k++
			}
		}
	}
	lo, hi := ordinal(float32(math.Inf(-1))), ordinal(float32(math.Inf(1)))
	if lp(hi) <= cut {
		return float32(math.Inf(1))
	}
	if lp(lo) > cut { // lse = -Inf: every log-probability is +Inf or NaN
		return float32(math.Inf(-1))
	}
	for hi-lo > 1 { // lp(lo) <= cut < lp(hi)
		mid := lo + (hi-lo)/2
		if lp(mid) <= cut {
			lo = mid
		} else {
			hi = mid
		}
	}
	return orderedFloat(lo)
}

// ordinal numbers the float32 values (NaN aside) in order: -0 and +0 are
// both 0, the next value above is 1, below -1.
func ordinal(f float32) int64 {
	b := math.Float32bits(f)
	if b&0x80000000 != 0 {
		return -int64(b & 0x7fffffff)
	}
	return int64(b)
}

// orderedFloat is ordinal's inverse (0 gives +0).
func orderedFloat(k int64) float32 {
	if k < 0 {
		return math.Float32frombits(uint32(-k) | 0x80000000)
	}
	return math.Float32frombits(uint32(k))
}

// scoreCut returns the largest float32 x with sc + float64(x) <= thr (sc
// finite), so that for every float32 l, l <= x exactly when
// sc + float64(l) <= thr; NaN (no cut) when thr is NaN.
func scoreCut(sc, thr float64) float32 {
	if math.IsNaN(thr) {
		return float32(math.NaN())
	}
	x := float32(thr - sc)
	inf := float32(math.Inf(1))
	for sc+float64(x) > thr && !math.IsInf(float64(x), -1) {
		x = math.Nextafter32(x, -inf)
	}
	for !math.IsInf(float64(x), 1) {
		next := math.Nextafter32(x, inf)
		if sc+float64(next) > thr {
			break
		}
		x = next
	}
	return x
}

// bestOutput is the most likely target token that may be output: any but
// <pad> and <s> (<unk> is replaced by a source word when rendered).
func bestOutput(lp []float32) int32 {
	best := tokenize.Unk
	for i, v := range lp {
		if int32(i) != tokenize.Pad && int32(i) != tokenize.BOS && v > lp[best] {
			best = int32(i)
		}
	}
	return best
}

func tanh32(x float32) float32 { return float32(math.Tanh(float64(x))) }
