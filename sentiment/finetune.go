package sentiment

// Fine-tuning a classifier whose encoder comes from a pretrained language
// model (ULMFiT's recipe): the embedding and recurrent weights are copied
// from the LM (NewFromLM), the head is new, and training uses
//
//   - discriminative learning rates: the parameters are cut into groups,
//     top to bottom the head (fc, attn), recurrent layer Layers-1, ...,
//     layer 0 and the embedding, and each group's rate is the one above
//     divided by TrainOptions.DiscriminativeLR (ULMFiT's 2.6);
//   - a head-only warm-up: for the first FreezeSteps steps only the head
//     learns, so that its random start does not wreck the pretrained
//     features; then gradual unfreezing: every UnfreezeEvery steps one more
//     group, top to bottom, starts learning (0: all at once).
//
// Each group has its own Adam state, which starts when the group is
// unfrozen (as a parameter group added to a torch optimizer). Which groups
// learn is a function of the step alone, and the group states are saved in
// checkpoints, so a resumed run stays bit-identical.

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/rnn/optim"
	"github.com/rnnkit/rnnkit/tokenize"
)

// DefaultFineTune returns the options of fine-tuning from a pretrained LM:
// Train's defaults with discriminative rates (factor 2.6 per group), 300
// head-only steps and one more group unfrozen every 300 steps. For the
// default IMDB setting (batch 32, about 700 steps an epoch) that is the
// head alone for the first half epoch, the recurrent layer from then and
// the embedding from the end of the first epoch. These are ULMFiT's
// choices scaled to this model, not tuned on IMDB.
func DefaultFineTune() TrainOptions {
	o := DefaultTrainOptions()
	o.DiscriminativeLR, o.FreezeSteps, o.UnfreezeEvery = 2.6, 300, 300
	return o
}

// NewFromLM builds a classifier whose tokenizer, embedding and recurrent
// weights are the LM's: cfg's Cell, Vocab, Embedding, Hidden, Layers and
// Bidirectional are replaced by the LM's, the head is initialised from rng
// as Init does, and the encoder is copied (InitFromLM).
func NewFromLM(lm *LM, cfg Config, rng *rand.Rand) (*Model, error) {
	c := lm.Config
	cfg.Cell, cfg.Vocab, cfg.Embedding, cfg.Hidden, cfg.Layers, cfg.Bidirectional = c.Cell, c.Vocab, c.Embedding, c.Hidden, c.Layers, c.Bidirectional
	m, err := New(cfg, lm.Tok)
	if err != nil {
		return nil, err
	}
	m.Init(rng)
	if err := m.InitFromLM(lm); err != nil {
		return nil, err
	}
	return m, nil
}

// NewFromLMAdapted is NewFromLM with the LM's word vocabulary fitted to the
// task's texts first, as ULMFiT does for a target task: the words that texts
// use at least minFreq times and the LM lacks take the ids of the LM's
// words that texts use least (fewer times than the new word; never used
// first, and among equals the LM's rarer), so that the vocabulary is about
// the task's most frequent words. The size and every other id stay, so the
// encoder is the LM's; the embedding rows of the new words start at the
// mean of the LM's rows. It returns the number of words replaced. The LM's
// tokenizer must be a word tokenizer.
func NewFromLMAdapted(lm *LM, cfg Config, texts []string, minFreq int, rng *rand.Rand) (*Model, int, error) {
	w, ok := lm.Tok.(*tokenize.Word)
	if !ok {
		return nil, 0, fmt.Errorf("sentiment: adapting the vocabulary needs a word tokenizer; the LM's is %s", lm.Tok.Kind())
	}
	var corpus strings.Builder
	for _, t := range texts {
		corpus.WriteString(Clean(t))
		corpus.WriteByte('\n')
	}
	counts, err := w.Counts(strings.NewReader(corpus.String()))
	if err != nil {
		return nil, 0, err
	}
	var add []string // new words, most frequent in texts first
	for tok, n := range counts {
		if !slices.Contains(tokenize.Specials[:], tok) && n >= int64(max(minFreq, 1)) && !hasToken(w, tok) {
			add = append(add, tok)
		}
	}
	slices.SortFunc(add, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	toks := make([]string, w.VocabSize())
	var evict []int32 // the LM's words, least used in texts first
	for id := range toks {
		toks[id] = w.Token(int32(id))
		if id >= len(tokenize.Specials) {
			evict = append(evict, int32(id))
		}
	}
	slices.SortStableFunc(evict, func(a, b int32) int {
		if c := cmp.Compare(counts[toks[a]], counts[toks[b]]); c != 0 {
			return c
		}
		return cmp.Compare(b, a)
	})
	changed := map[int32]bool{}
	for i, tok := range add {
		if i >= len(evict) || counts[tok] <= counts[toks[evict[i]]] {
			break
		}
		toks[evict[i]] = tok
		changed[evict[i]] = true
	}
	tok, err := w.WithTokens(toks)
	if err != nil {
		return nil, 0, err
	}
	c := lm.Config
	cfg.Cell, cfg.Vocab, cfg.Embedding, cfg.Hidden, cfg.Layers, cfg.Bidirectional = c.Cell, c.Vocab, c.Embedding, c.Hidden, c.Layers, c.Bidirectional
	m, err := New(cfg, tok)
	if err != nil {
		return nil, 0, err
	}
	m.Init(rng)
	if err := m.initFromLM(lm, changed); err != nil {
		return nil, 0, err
	}
	mean := make([]float32, cfg.Embedding)
	n := 0
	for id := int32(len(tokenize.Specials)); id < int32(cfg.Vocab); id++ { // the LM's rows, the replaced ones included
		for j, v := range m.emb.Row(id) {
			mean[j] += v
		}
		n++
	}
	for j := range mean {
		mean[j] /= float32(max(n, 1))
	}
	for id := range changed {
		copy(m.emb.Row(id), mean)
	}
	return m, len(changed), nil
}

func hasToken(t *tokenize.Word, tok string) bool {
	_, ok := t.ID(tok)
	return ok
}

// InitFromLM copies the LM's embedding and recurrent weights into m, whose
// encoder must have the LM's architecture and vocabulary: every embedding.*
// and rnn.* parameter of m is set to the LM file's tensor of the same name
// (see LM; for a bidirectional layer k > 0 the other direction's input
// columns are zero, so m's encoder then computes what the two LMs compute).
// The head is left as it is.
func (m *Model) InitFromLM(lm *LM) error { return m.initFromLM(lm, nil) }

// initFromLM is InitFromLM for a vocabulary that differs from the LM's at
// the ids in changed (NewFromLMAdapted), whose rows it leaves to the caller.
func (m *Model) initFromLM(lm *LM, changed map[int32]bool) error {
	c, l := m.Config, lm.Config
	if c.Cell != l.Cell || c.Vocab != l.Vocab || c.Embedding != l.Embedding || c.Hidden != l.Hidden ||
		c.Layers != l.Layers || c.Bidirectional != l.Bidirectional {
		return fmt.Errorf("sentiment: the classifier's encoder (%s, vocab %d, embedding %d, %dx%d, bidirectional %v) differs from the LM's (%s, vocab %d, embedding %d, %dx%d, bidirectional %v)",
			c.Cell, c.Vocab, c.Embedding, c.Layers, c.Hidden, c.Bidirectional, l.Cell, l.Vocab, l.Embedding, l.Layers, l.Hidden, l.Bidirectional)
	}
	for id := int32(0); id < int32(c.Vocab); id++ {
		if m.Tok.Token(id) != lm.Tok.Token(id) && !changed[id] {
			return fmt.Errorf("sentiment: the classifier's vocabulary differs from the LM's at id %d (%q, %q); build the classifier with the LM's tokenizer", id, m.Tok.Token(id), lm.Tok.Token(id))
		}
	}
	ts := lm.Tensors()
	byName := make(map[string]*rnn.Tensor, len(ts))
	for i := range ts {
		byName[ts[i].Name] = &ts[i]
	}
	for _, p := range m.Params.List() {
		if !strings.HasPrefix(p.Name, "embedding.") && !strings.HasPrefix(p.Name, "rnn.") {
			continue
		}
		t := byName[p.Name]
		if t == nil || !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("sentiment: the LM has no tensor %s of shape %v", p.Name, p.Shape)
		}
		copy(p.W, t.Data)
	}
	clear(m.emb.Row(tokenize.Pad))
	return nil
}

// NewFromModel builds a classifier for labels that starts from src: the
// same tokenizer, architecture and pooling, with src's embedding,
// recurrent and attention-pooling weights. When labels equal src's, the
// head (fc) is copied as well, so training continues src; otherwise the
// head is new, initialised from rng. Dropout, MaxLen and Truncate come
// from src. Fine-tune it with DefaultFineTune's options or with
// FineTuneFor.
func NewFromModel(src *Model, labels []string, rng *rand.Rand) (*Model, error) {
	cfg := src.Config
	cfg.Labels = labels
	cfg.NGram = nil // the branch fits src's recurrent part; TrainNGram fits a new one
	m, err := New(cfg, src.Tok)
	if err != nil {
		return nil, err
	}
	m.Init(rng)
	same := slices.Equal(labels, src.Config.Labels)
	from := make(map[string]*rnn.Param, len(src.Params.List()))
	for _, p := range src.Params.List() {
		from[p.Name] = p
	}
	for _, p := range m.Params.List() {
		if strings.HasPrefix(p.Name, "fc.") && !same {
			continue
		}
		q, ok := from[p.Name]
		if !ok || !slices.Equal(q.Shape, p.Shape) {
			return nil, fmt.Errorf("sentiment: the source model has no parameter %s of shape %v", p.Name, p.Shape)
		}
		copy(p.W, q.W)
	}
	return m, nil
}

// FineTuneFor returns the fine-tuning options for a run of about steps
// steps from a pretrained classifier or LM: discriminative rates (2.6 per
// group), the head alone for the first tenth of the run, then one more
// group every tenth. DefaultFineTune's fixed 300-step stages fit IMDB's
// 700 steps an epoch; a few hundred sentences take a few dozen steps.
func FineTuneFor(steps int) TrainOptions {
	stage := max(1, steps/10)
	o := DefaultTrainOptions()
	o.DiscriminativeLR, o.FreezeSteps, o.UnfreezeEvery = 2.6, stage, stage
	return o
}

// paramGroup is a contiguous range of Params.Values that shares a learning
// rate and an Adam state.
type paramGroup struct {
	name  string
	lo    int
	hi    int
	scale float64     // the group's rate is the base rate times scale
	view  *rnn.Params // Values[lo:hi] and Grads[lo:hi]
	adam  *optim.Adam
}

// groupOptimizer is Adam with a learning rate per parameter group and
// groups frozen by step (see the top of this file). It implements
// optim.Optimizer; its state tensors are each group's Adam state under
// "optim.group<i>.".
type groupOptimizer struct {
	groups []paramGroup // top (the head) to bottom (the embedding)
	lr     float64
	step   int // the training step being taken (setStep)
	opt    TrainOptions
}

// newOptimizer returns the optimizer of a training run: plain Adam, or the
// group optimizer when opt asks for discriminative rates or freezing.
func (m *Model) newOptimizer(opt TrainOptions) optim.Optimizer {
	ao := optim.AdamOptions{LR: opt.LR, WeightDecay: opt.WeightDecay}
	if (opt.DiscriminativeLR == 0 || opt.DiscriminativeLR == 1) && opt.FreezeSteps == 0 {
		return optim.NewAdam(ao)
	}
	g := &groupOptimizer{lr: opt.LR, opt: opt}
	for _, gr := range m.paramGroups() {
		gr.view = &rnn.Params{Values: m.Params.Values[gr.lo:gr.hi], Grads: m.Params.Grads[gr.lo:gr.hi]}
		gr.adam = optim.NewAdam(ao)
		g.groups = append(g.groups, gr)
	}
	f := opt.DiscriminativeLR
	if f == 0 {
		f = 1
	}
	scale := 1.0
	for i := range g.groups {
		g.groups[i].scale = scale
		scale /= f
	}
	return g
}

// paramGroups cuts m's parameters, which sit in Params.Values in
// registration order, into the head, each recurrent layer from the top,
// and the embedding.
func (m *Model) paramGroups() []paramGroup {
	L := m.Config.Layers
	groupOf := func(name string) int {
		switch {
		case strings.HasPrefix(name, "embedding."):
			return L + 1
		case strings.HasPrefix(name, "rnn."):
			s := name[strings.LastIndex(name, "_l")+2:]
			s = strings.TrimSuffix(s, "_reverse")
			k, err := strconv.Atoi(s)
			if err != nil {
				panic("sentiment: unexpected recurrent parameter " + name)
			}
			return L - k
		}
		return 0 // fc, attn
	}
	names := make([]string, L+2)
	names[0], names[L+1] = "head", "embedding"
	for k := 0; k < L; k++ {
		names[L-k] = fmt.Sprintf("rnn layer %d", k)
	}
	lo := make([]int, L+2)
	hi := make([]int, L+2)
	for i := range lo {
		lo[i] = -1
	}
	off := 0
	for _, p := range m.Params.List() {
		g := groupOf(p.Name)
		if lo[g] < 0 {
			lo[g] = off
		} else if hi[g] != off {
			panic("sentiment: the parameters of group " + names[g] + " are not contiguous")
		}
		off += p.Size()
		hi[g] = off
	}
	out := make([]paramGroup, L+2)
	for i := range out {
		out[i] = paramGroup{name: names[i], lo: lo[i], hi: hi[i]}
	}
	return out
}

// trainable reports whether group i learns at the current step.
func (g *groupOptimizer) trainable(i int) bool {
	if i == 0 {
		return true
	}
	from := g.opt.FreezeSteps
	if g.opt.UnfreezeEvery > 0 {
		from += (i - 1) * g.opt.UnfreezeEvery
	}
	return g.step >= from
}

// setStep tells the optimizer which training step comes next and clears
// the gradients of the groups frozen at that step, so that they count
// neither in the update nor in gradient clipping.
func (g *groupOptimizer) setStep(step int, ps *rnn.Params) {
	g.step = step
	for i := range g.groups {
		if !g.trainable(i) {
			clear(g.groups[i].view.Grads)
		}
	}
}

// Step updates the groups that learn at the current step, each at its rate.
func (g *groupOptimizer) Step(ps *rnn.Params) {
	for i := range g.groups {
		gr := &g.groups[i]
		if !g.trainable(i) {
			continue
		}
		gr.adam.SetLR(g.lr * gr.scale)
		gr.adam.Step(gr.view)
	}
}

// LR returns the base rate (the head's).
func (g *groupOptimizer) LR() float64 { return g.lr }

// SetLR sets the base rate.
func (g *groupOptimizer) SetLR(lr float64) { g.lr = lr }

func groupPrefix(i int) string { return rnn.OptimPrefix + "group" + strconv.Itoa(i) + "." }

// State returns every group's Adam state, named optim.group<i>.<name>.
func (g *groupOptimizer) State() []rnn.Tensor {
	var out []rnn.Tensor
	for i := range g.groups {
		for _, t := range g.groups[i].adam.State() {
			t.Name = groupPrefix(i) + strings.TrimPrefix(t.Name, rnn.OptimPrefix)
			out = append(out, t)
		}
	}
	return out
}

// SetState restores a state returned by State.
func (g *groupOptimizer) SetState(ts []rnn.Tensor) error {
	sub := make([][]rnn.Tensor, len(g.groups))
	for _, t := range ts {
		if !strings.HasPrefix(t.Name, rnn.OptimPrefix) {
			continue
		}
		found := false
		for i := range g.groups {
			if p := groupPrefix(i); strings.HasPrefix(t.Name, p) {
				t.Name = rnn.OptimPrefix + strings.TrimPrefix(t.Name, p)
				sub[i] = append(sub[i], t)
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("rnn: fine-tuning optimizer state: unexpected tensor %q; the checkpoint was written without the fine-tuning options (resume with the options of the original run, its fine-tuning options included)", t.Name)
		}
	}
	for i := range g.groups {
		if err := g.groups[i].adam.SetState(sub[i]); err != nil {
			return fmt.Errorf("parameter group %d (%s): %v", i, g.groups[i].name, err)
		}
	}
	return nil
}

var _ optim.Optimizer = (*groupOptimizer)(nil)

// beforeUpdate runs after the backward pass of step and before clipping:
// it freezes the groups that do not learn at step.
func (tr *trainer) beforeUpdate(step int) {
	if g, ok := tr.adam.(*groupOptimizer); ok {
		g.setStep(step, tr.m.Params)
	}
}
