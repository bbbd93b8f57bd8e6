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
	N           int     // characters to generate; default 500
	Temperature float64 // softmax temperature; default 0.8 (must be > 0)
	TopK        int     // sample among the K most likely characters; 0 = all
	TopP        float64 // nucleus sampling: the smallest set with mass >= TopP; 0 or 1 = all
	Greedy      bool    // always take the most likely character
	Seed        uint64  // RNG seed; the same seed and options give the same text
	// UnknownSeed chooses what happens to seed characters outside the
	// vocabulary: false (default) fails with ErrUnknownChar, true skips them.
	SkipUnknown bool
}

// ErrUnknownChar reports a seed character that is not in the model's vocabulary.
var ErrUnknownChar = errors.New("character not in the model's vocabulary")

// Generator samples text from a Model one character at a time. It owns the
// recurrent state and buffers, so each goroutine needs its own; the Model
// itself is shared read-only.
type Generator struct {
	m      *Model
	seq    *rnn.Seq
	state  *rnn.State
	x      []float32
	logits []float32
	probs  []float32
	order  []int32
	id     [1]int32
	primed bool
}

// NewGenerator returns a generator with a zero state.
func (m *Model) NewGenerator() *Generator {
	return &Generator{
		m: m, seq: m.rnn.NewInferenceSeq(), state: m.rnn.NewState(1),
		x:      make([]float32, m.inputSize()),
		logits: make([]float32, m.Config.Vocab),
		probs:  make([]float32, m.Config.Vocab),
		order:  make([]int32, m.Config.Vocab),
	}
}

// Feed advances the state by one token and leaves the next-token logits in
// the generator.
func (g *Generator) Feed(id int32) {
	g.id[0] = id
	g.m.embedInto(g.x, g.id[:])
	h := g.seq.Forward(g.x, 1, 1, nil, g.state, false, nil)
	g.state.CopyFrom(g.seq.Final())
	g.m.dec.Forward(g.logits, h, 1)
	g.primed = true
}

// Logits are the next-token logits after the last Feed: (Vocab).
func (g *Generator) Logits() []float32 { return g.logits }

// Sample draws the next token from the current logits.
func (g *Generator) Sample(rng *rand.Rand, opt SampleOptions) int32 {
	V := len(g.logits)
	if opt.Greedy {
		best := 0
		for i, v := range g.logits {
			if v > g.logits[best] {
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

// Generate warms the state on the whole seed text, then samples opt.N
// characters, calling emit with each one as it is produced (so output can
// stream). With an empty seed it starts from a newline if the vocabulary has
// one. Cancelling ctx stops generation early.
func (m *Model) Generate(ctx context.Context, seed string, opt SampleOptions, emit func(string) error) error {
	if !utf8.ValidString(seed) {
		return errors.New("charrnn: seed is not valid UTF-8")
	}
	if opt.N == 0 {
		opt.N = 500
	}
	if opt.N < 0 {
		return fmt.Errorf("charrnn: cannot generate %d characters", opt.N)
	}
	if opt.Temperature < 0 || math.IsNaN(opt.Temperature) {
		return fmt.Errorf("charrnn: temperature %v must be positive", opt.Temperature)
	}
	g := m.NewGenerator()
	ids, err := m.encodeSeed(seed, opt.SkipUnknown)
	if err != nil {
		return err
	}
	for _, id := range ids {
		g.Feed(id)
	}
	if !g.primed {
		return errors.New("charrnn: empty seed and no newline in the vocabulary; give a seed")
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x67656e))
	for i := 0; i < opt.N; i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		id := g.Sample(rng, opt)
		if err := emit(m.Tok.Token(id)); err != nil {
			return err
		}
		g.Feed(id)
	}
	return nil
}

func (m *Model) encodeSeed(seed string, skipUnknown bool) ([]int32, error) {
	if seed == "" {
		if id, ok := m.Tok.ID("\n"); ok {
			return []int32{id}, nil
		}
		return nil, nil
	}
	ids, offs := m.Tok.EncodeOffsets(seed)
	out := ids[:0]
	for i, id := range ids {
		if id == tokenize.Unk {
			if skipUnknown {
				continue
			}
			return nil, fmt.Errorf("charrnn: seed character %q at byte %d: %w", seed[offs[i][0]:offs[i][1]], offs[i][0], ErrUnknownChar)
		}
		out = append(out, id)
	}
	return out, nil
}

// EvalResult is the quality of a model on a text.
type EvalResult struct {
	Loss        float64 `json:"loss"`          // mean negative log-likelihood, nats/char
	BitsPerChar float64 `json:"bits_per_char"` // Loss / ln 2
	Perplexity  float64 `json:"perplexity"`    // exp(Loss)
	Chars       int     `json:"chars"`         // predicted characters
}

// Evaluate measures the model on text: every character after the first is
// predicted from all the text before it in its stream (the text is cut into
// up to 16 contiguous streams run as one batch, each carrying its state).
func (m *Model) Evaluate(text string) (EvalResult, error) {
	ids := m.Tok.Encode(text)
	if len(ids) < 2 {
		return EvalResult{}, errors.New("charrnn: need at least 2 characters to evaluate")
	}
	loss, n := m.evaluate(ids, 16, 256)
	return EvalResult{Loss: loss, BitsPerChar: loss / math.Ln2, Perplexity: math.Exp(loss), Chars: n}, nil
}

// evaluate returns the mean loss over ids, run as B contiguous streams in
// windows of T with the state carried.
func (m *Model) evaluate(ids []int32, B, T int) (float64, int) {
	B = max(1, min(B, (len(ids)-1)/T))
	S := (len(ids) - 1) / B // predictions per stream
	if S == 0 {
		B, S = 1, len(ids)-1
	}
	seq := m.rnn.NewSeq()
	state := m.rnn.NewState(B)
	V := m.Config.Vocab
	x := make([]float32, T*B*m.inputSize())
	logits := make([]float32, T*B*V)
	in := make([]int32, T*B)
	tgt := make([]int32, T*B)
	var total float64
	count := 0
	for w := 0; w < S; w += T {
		tw := min(T, S-w)
		for t := 0; t < tw; t++ {
			for b := 0; b < B; b++ {
				in[t*B+b] = ids[b*S+w+t]
				tgt[t*B+b] = ids[b*S+w+t+1]
			}
		}
		n := tw * B
		m.embedInto(x[:n*m.inputSize()], in[:n])
		h := seq.Forward(x[:n*m.inputSize()], tw, B, nil, state, false, nil)
		state.CopyFrom(seq.Final())
		m.dec.Forward(logits[:n*V], h, n)
		l, c := rnn.SoftmaxCrossEntropy(nil, logits[:n*V], tgt[:n], n, V, rnn.CrossEntropyOptions{})
		total += l * float64(c)
		count += c
	}
	return total / float64(count), count
}
