package charrnn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"unicode/utf8"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/tokenize"
)

// SampleOptions control Generate.
type SampleOptions struct {
	N           int     // characters to sample; default 500 (generation ends earlier at a Stop sequence)
	Temperature float64 // softmax temperature; 0 means the default 0.8 (set Greedy for argmax); must not be negative
	TopK        int     // sample among the K most likely characters; 0 = all
	TopP        float64 // nucleus sampling: the smallest set with mass >= TopP; 0 or 1 = all
	Greedy      bool    // always take the most likely character
	Seed        uint64  // RNG seed; the same seed and options give the same text
	// SkipUnknown chooses what happens to seed (and Prime) characters
	// outside the vocabulary: false (default) fails with ErrUnknownChar,
	// true skips them.
	SkipUnknown bool
	// Prime is fed to the model before the seed and is never emitted: it
	// puts the state where the training text is at a line start, rather
	// than the zero state, which training only sees at the arbitrary
	// points where its streams begin. The empty string means DefaultPrime,
	// which is skipped silently when the vocabulary lacks its characters;
	// a Prime set here must be in the vocabulary (or SkipUnknown drops
	// what is not).
	Prime string
	// NoPrime starts from the zero state and feeds only the seed, as
	// rnnkit did before priming; it excludes a non-empty Prime.
	NoPrime bool
	// Stop ends generation as soon as the generated text ends with one of
	// these sequences. The stop sequence itself is not emitted (the
	// Hugging Face convention) and only generated text is matched, never
	// the seed; when several complete at once, the longest is removed.
	// Empty sequences are an error.
	Stop []string
}

// DefaultPrime is the Prime used when SampleOptions.Prime is empty: two
// newlines, what precedes a speaker's name or a paragraph in most corpora.
const DefaultPrime = "\n\n"

// ErrUnknownChar reports a seed character that is not in the model's vocabulary.
var ErrUnknownChar = errors.New("character not in the model's vocabulary")

// Generator samples text from a Model, or from an Ensemble's mixture, one
// character at a time. It owns the recurrent states and buffers, so each
// goroutine needs its own; the models themselves are shared read-only.
type Generator struct {
	members []member           // one per model: a Model's generator has one
	tok     tokenize.Tokenizer // the models' tokenizer
	logits  []float32          // the next-token logits: the model's own (members[0].logits), or the mixture's
	srcs    [][]float32        // the members' logits, for mixLogits (ensembles only)
	lse, d  []float64          // mixLogits' scratch
	probs   []float32
	order   []int32
	id      [1]int32
	fed     bool // Feed has been called at least once
}

// member is one model of a Generator, with its state and buffers.
type member struct {
	m      *Model
	seq    *rnn.Seq
	state  *rnn.State
	x      []float32
	logits []float32
}

// NewGenerator returns a generator with a zero state.
func (m *Model) NewGenerator() *Generator { return m.alone().NewGenerator() }

// NewGenerator returns a generator over the ensemble's mixture with every
// model in its zero state.
func (e *Ensemble) NewGenerator() *Generator {
	V := e.vocab()
	g := &Generator{
		tok:     e.Tokenizer(),
		members: make([]member, len(e.models)),
		probs:   make([]float32, V),
		order:   make([]int32, V),
	}
	for i, m := range e.models {
		g.members[i] = member{m: m, seq: m.rnn.NewInferenceSeq(), state: m.rnn.NewState(1),
			x: make([]float32, m.inputSize()), logits: make([]float32, V)}
	}
	g.logits = g.members[0].logits
	if len(e.models) > 1 {
		g.logits = make([]float32, V)
		g.srcs = make([][]float32, len(e.models))
		for i := range g.members {
			g.srcs[i] = g.members[i].logits
		}
		g.lse, g.d = make([]float64, len(e.models)), make([]float64, len(e.models))
	}
	return g
}

// Feed advances the state by one token and leaves the next-token logits in
// the generator.
func (g *Generator) Feed(id int32) {
	g.id[0] = id
	for i := range g.members {
		mb := &g.members[i]
		mb.m.embedInto(mb.x, g.id[:])
		h := mb.seq.Forward(mb.x, 1, 1, nil, mb.state, false, nil)
		mb.state.CopyFrom(mb.seq.Final())
		mb.m.dec.Forward(mb.logits, h, 1)
	}
	if g.srcs != nil {
		mixLogits(g.logits, g.srcs, 1, len(g.logits), g.lse, g.d)
	}
	g.fed = true
}

// Logits are the next-token logits after the last Feed: (Vocab). For an
// ensemble they are logits of the mixture: their softmax is the mean of the
// models' softmaxes (see Ensemble).
func (g *Generator) Logits() []float32 { return g.logits }

// LogProb is the log-probability (nats) of token id after the last Feed
// under the model itself (an ensemble's: under its mixture): log
// softmax(logits)[id] at temperature 1 over the whole vocabulary, whatever
// the sampling options. It is what Evaluate
// scores, so a text's LogProbs sum to minus its loss times its length.
func (g *Generator) LogProb(id int32) float64 {
	mx := float32(math.Inf(-1))
	for _, v := range g.logits {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range g.logits {
		sum += math.Exp(float64(v - mx))
	}
	return float64(g.logits[id]-mx) - math.Log(sum)
}

// Sample draws the next token from the current logits. For an ensemble the
// temperature, top-k and top-p apply to the mixture: at temperature T it
// samples in proportion to p(c)^(1/T), p the mixture.
func (g *Generator) Sample(rng *rand.Rand, opt SampleOptions) int32 {
	V := len(g.logits)
	if opt.Greedy {
		// the most likely character; like sampling, never a special token
		// (<pad>, <unk>, <s>, </s>), unless the vocabulary has nothing else
		best := min(4, V-1)
		for i := best + 1; i < V; i++ {
			if g.logits[i] > g.logits[best] {
				best = i
			}
		}
		return int32(best)
	}
	temp := opt.Temperature
	if temp <= 0 {
		temp = 0.8
	}
	mx := float32(math.Inf(-1))
	for _, v := range g.logits {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range g.logits {
		p := math.Exp(float64(v-mx) / temp)
		g.probs[i] = float32(p)
		sum += p
	}
	// Special tokens (<pad>, <unk>, <s>, </s>) are never emitted.
	for id := int32(0); id < 4 && int(id) < V; id++ {
		sum -= float64(g.probs[id])
		g.probs[id] = 0
	}
	cands := g.order[:V]
	for i := range cands {
		cands[i] = int32(i)
	}
	if (opt.TopK > 0 && opt.TopK < V) || (opt.TopP > 0 && opt.TopP < 1) {
		slices.SortFunc(cands, func(a, b int32) int {
			switch {
			case g.probs[a] > g.probs[b]:
				return -1
			case g.probs[a] < g.probs[b]:
				return 1
			}
			return int(a - b)
		})
		n := V
		if opt.TopK > 0 && opt.TopK < n {
			n = opt.TopK
		}
		if opt.TopP > 0 && opt.TopP < 1 {
			var acc float64
			for i := 0; i < n; i++ {
				acc += float64(g.probs[cands[i]]) / sum
				if acc >= opt.TopP {
					n = i + 1
					break
				}
			}
		}
		cands = cands[:n]
		sum = 0
		for _, c := range cands {
			sum += float64(g.probs[c])
		}
	}
	r := rng.Float64() * sum
	for _, c := range cands {
		r -= float64(g.probs[c])
		if r <= 0 {
			return c
		}
	}
	return cands[len(cands)-1]
}

// Generation summarises one generation: what was emitted and how likely
// the model itself finds it.
type Generation struct {
	Chars   int     // characters emitted (a stop sequence is not counted)
	LogProb float64 // sum of the emitted characters' Generator.LogProb, nats
	Stop    string  // the stop sequence that ended generation; "" if it did not
}

// MeanLogProb is LogProb per emitted character (nats/char): minus the loss
// Evaluate would give the emitted text continuing the prime and seed. It is
// NaN when nothing was emitted.
func (r Generation) MeanLogProb() float64 {
	if r.Chars == 0 {
		return math.NaN()
	}
	return r.LogProb / float64(r.Chars)
}

// Generate warms the state on opt's prime and the whole seed text, then
// samples up to opt.N characters, calling emit with the text as it is
// produced so that output can stream: one character per call, except that
// with opt.Stop the characters that may begin a stop sequence are held back
// until they are known not to. Neither the prime nor the seed is emitted.
// With an empty seed and NoPrime it starts from a newline if the vocabulary
// has one. Cancelling ctx stops generation early (the text sampled so far is
// emitted first) and returns ctx.Err().
func (m *Model) Generate(ctx context.Context, seed string, opt SampleOptions, emit func(string) error) error {
	return m.alone().Generate(ctx, seed, opt, emit)
}

// GenerateScored is Generate that also reports what it emitted, with the
// log-likelihood of that text under the model at temperature 1.
func (m *Model) GenerateScored(ctx context.Context, seed string, opt SampleOptions, emit func(string) error) (Generation, error) {
	return m.alone().GenerateScored(ctx, seed, opt, emit)
}

// Start returns a generator whose state is warmed on opt's prime (see
// SampleOptions.Prime) and then on seed, ready to Sample the character that
// follows the seed. Generate starts from it; it is exported for callers
// that drive Sample and Feed themselves.
func (m *Model) Start(seed string, opt SampleOptions) (*Generator, error) {
	return m.alone().Start(seed, opt)
}

// Generate is Model.Generate sampling from the ensemble's mixture: every
// model is warmed on the prime and seed, and each character is drawn from
// the mean of their next-character distributions.
func (e *Ensemble) Generate(ctx context.Context, seed string, opt SampleOptions, emit func(string) error) error {
	_, err := e.GenerateScored(ctx, seed, opt, emit)
	return err
}

// GenerateScored is Model.GenerateScored for the ensemble: the
// log-likelihood is the mixture's at temperature 1.
func (e *Ensemble) GenerateScored(ctx context.Context, seed string, opt SampleOptions, emit func(string) error) (Generation, error) {
	if opt.N == 0 {
		opt.N = 500
	}
	if opt.N < 0 {
		return Generation{}, fmt.Errorf("charrnn: cannot generate %d characters", opt.N)
	}
	if opt.Temperature < 0 || math.IsNaN(opt.Temperature) || math.IsInf(opt.Temperature, 0) {
		return Generation{}, fmt.Errorf("charrnn: temperature %v must be positive (or 0 for the default)", opt.Temperature)
	}
	if slices.Contains(opt.Stop, "") {
		return Generation{}, errors.New("charrnn: empty stop sequence")
	}
	g, err := e.Start(seed, opt)
	if err != nil {
		return Generation{}, err
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x67656e))
	out := stopper{stops: opt.Stop, emit: emit}
	for i := 0; i < opt.N; i++ {
		if ctx.Err() != nil {
			if err := out.flush(); err != nil {
				return out.res, err
			}
			return out.res, ctx.Err()
		}
		id := g.Sample(rng, opt)
		stopped, err := out.add(g.tok.Token(id), g.LogProb(id))
		if err != nil || stopped {
			return out.res, err
		}
		if i+1 < opt.N {
			g.Feed(id)
		}
	}
	return out.res, out.flush()
}

// Start is Model.Start for the ensemble: every model's state is warmed on
// the prime and the seed.
func (e *Ensemble) Start(seed string, opt SampleOptions) (*Generator, error) {
	if !utf8.ValidString(seed) {
		return nil, errors.New("charrnn: seed is not valid UTF-8")
	}
	if !utf8.ValidString(opt.Prime) {
		return nil, errors.New("charrnn: prime is not valid UTF-8")
	}
	if opt.NoPrime && opt.Prime != "" {
		return nil, errors.New("charrnn: SampleOptions has both a Prime and NoPrime")
	}
	var prime []int32
	switch {
	case opt.NoPrime:
	case opt.Prime == "":
		// The default prime is used only when the model knows it.
		if ids, err := e.encodeText("prime", DefaultPrime, false); err == nil {
			prime = ids
		}
	default:
		ids, err := e.encodeText("prime", opt.Prime, opt.SkipUnknown)
		if err != nil {
			return nil, err
		}
		prime = ids
	}
	ids, err := e.encodeText("seed", seed, opt.SkipUnknown)
	if err != nil {
		return nil, err
	}
	g := e.NewGenerator()
	for _, id := range prime {
		g.Feed(id)
	}
	if len(ids) == 0 && !g.fed {
		// Nothing to start from: begin after a newline, as a line does.
		if id, ok := e.Tokenizer().ID("\n"); ok {
			ids = []int32{id}
		}
	}
	for _, id := range ids {
		g.Feed(id)
	}
	if !g.fed {
		return nil, errors.New("charrnn: empty seed and no newline in the vocabulary; give a seed")
	}
	return g, nil
}

// encodeText encodes a seed or prime (what names it in errors).
func (e *Ensemble) encodeText(what, text string, skipUnknown bool) ([]int32, error) {
	ids, offs := e.Tokenizer().EncodeOffsets(text)
	out := ids[:0]
	for i, id := range ids {
		if id == tokenize.Unk {
			if skipUnknown {
				continue
			}
			return nil, fmt.Errorf("charrnn: %s character %q at byte %d: %w", what, text[offs[i][0]:offs[i][1]], offs[i][0], ErrUnknownChar)
		}
		out = append(out, id)
	}
	return out, nil
}

// stopper passes generated text on to emit, holding back whatever may be
// the beginning of a stop sequence, and counts and scores what it emits.
type stopper struct {
	stops []string
	emit  func(string) error
	res   Generation
	buf   []byte    // generated text not emitted yet
	ends  []int     // byte end in buf of each character held
	lps   []float64 // log-probability of each character held
}

// add takes the next generated character s with its log-probability, and
// reports whether it completed a stop sequence (generation must end).
func (o *stopper) add(s string, lp float64) (bool, error) {
	if len(o.stops) == 0 {
		o.res.Chars++
		o.res.LogProb += lp
		return false, o.emit(s)
	}
	o.buf = append(o.buf, s...)
	o.ends = append(o.ends, len(o.buf))
	o.lps = append(o.lps, lp)
	// A completed stop sequence: emit the text before the earliest one.
	cut, stop := -1, ""
	for _, st := range o.stops {
		if len(st) <= len(o.buf) && string(o.buf[len(o.buf)-len(st):]) == st && (cut < 0 || len(o.buf)-len(st) < cut) {
			cut, stop = len(o.buf)-len(st), st
		}
	}
	if cut >= 0 {
		o.res.Stop = stop
		return true, o.release(cut)
	}
	// Hold back the longest tail of buf that begins some stop sequence.
	hold := 0
	for _, st := range o.stops {
		for k := min(len(st)-1, len(o.buf)); k > hold; k-- {
			if string(o.buf[len(o.buf)-k:]) == st[:k] {
				hold = k
				break
			}
		}
	}
	return false, o.release(len(o.buf) - hold)
}

// flush emits everything held back (generation ended without a stop).
func (o *stopper) flush() error { return o.release(len(o.buf)) }

// release emits the held characters that end at or before byte cut of buf.
func (o *stopper) release(cut int) error {
	n := 0
	for n < len(o.ends) && o.ends[n] <= cut {
		o.res.Chars++
		o.res.LogProb += o.lps[n]
		n++
	}
	if n == 0 {
		return nil
	}
	end := o.ends[n-1]
	err := o.emit(string(o.buf[:end]))
	o.buf = o.buf[:copy(o.buf, o.buf[end:])]
	o.ends = o.ends[:copy(o.ends, o.ends[n:])]
	for i := range o.ends {
		o.ends[i] -= end
	}
	o.lps = o.lps[:copy(o.lps, o.lps[n:])]
	return err
}
