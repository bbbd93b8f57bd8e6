package charrnn

import (
	"errors"
	"fmt"
	"math"

	"github.com/rnnkit/rnnkit/fit"
	"github.com/rnnkit/rnnkit/rnn"
)

// EvalResult is the quality of a model on a text, and how it was measured.
type EvalResult struct {
	Loss        float64 `json:"loss"`          // mean negative log-likelihood, nats/char
	BitsPerChar float64 `json:"bits_per_char"` // Loss / ln 2
	Perplexity  float64 `json:"perplexity"`    // exp(Loss)
	Chars       int     `json:"chars"`         // predicted characters
	Streams     int     `json:"streams"`       // streams actually used (see EvalOptions)
	Window      int     `json:"window"`        // characters per forward window
	Stateless   bool    `json:"stateless"`     // each window started from the zero state
}

// Defaults of EvalOptions: Evaluate and the validation pass of Train use them.
const (
	DefaultEvalStreams = 16
	DefaultEvalWindow  = 256
)

// EvalOptions choose how EvaluateWith walks the text. In PyTorch terms, for
// the n encoded ids of the text, Streams and Window (T):
//
//	B = max(1, min(Streams, (n - 1) // T))   # streams actually used
//	S = (n - 1) // B                         # predictions per stream
//	rows = torch.stack([ids[b*S : b*S + S + 1] for b in range(B)])   # (B, S+1)
//	h, total = None, 0.0                     # each stream starts from the zero state
//	for w in range(0, S, T):
//	    e = min(w + T, S)
//	    logits, h = model(rows[:, w:e], h)   # Stateless: model(rows[:, w:e], None)
//	    total += F.cross_entropy(logits.reshape(-1, V), rows[:, w+1:e+1].reshape(-1), reduction="sum")
//	loss = total / (B * S)
//
// So the first character of each stream is only context, and the last
// (n-1) mod B characters of the text are not scored. Streams 1 is a plain
// single pass: one stream over the whole text, the state carried throughout,
// every character after the first scored once.
type EvalOptions struct {
	Streams   int  // contiguous streams scored side by side; default DefaultEvalStreams (at most one per Window characters)
	Window    int  // characters per forward pass; default DefaultEvalWindow
	Stateless bool // start every window from the zero state instead of carrying the state over
}

// Evaluate measures the model on text with the default EvalOptions: every
// character after the first is predicted from all the text before it in its
// stream (the text is cut into up to 16 contiguous streams run as one batch,
// each carrying its state from window to window).
func (m *Model) Evaluate(text string) (EvalResult, error) {
	return m.EvaluateWith(text, EvalOptions{})
}

// EvaluateWith measures the model on text, walking it as opt says. Characters
// outside the vocabulary are scored as <unk>.
func (m *Model) EvaluateWith(text string, opt EvalOptions) (EvalResult, error) {
	return m.alone().EvaluateWith(text, opt)
}

// Evaluate is Model.Evaluate for the ensemble: the loss is the mixture's
// (the mean of the models' next-character probabilities), at most the mean
// of the models' own losses.
func (e *Ensemble) Evaluate(text string) (EvalResult, error) {
	return e.EvaluateWith(text, EvalOptions{})
}

// EvaluateWith is Model.EvaluateWith for the ensemble: every model walks the
// text as opt says, side by side, and each character is scored under their
// mixture.
func (e *Ensemble) EvaluateWith(text string, opt EvalOptions) (EvalResult, error) {
	if opt.Streams == 0 {
		opt.Streams = DefaultEvalStreams
	}
	if opt.Window == 0 {
		opt.Window = DefaultEvalWindow
	}
	if opt.Streams < 0 || opt.Window < 0 {
		return EvalResult{}, fmt.Errorf("charrnn: %d streams and windows of %d characters must be positive", opt.Streams, opt.Window)
	}
	ids := e.Tokenizer().Encode(text)
	if len(ids) < 2 {
		return EvalResult{}, errors.New("charrnn: need at least 2 characters to evaluate")
	}
	loss, n, B := e.evalStreams(ids, opt.Streams, opt.Window, opt.Stateless)
	return EvalResult{Loss: loss, BitsPerChar: loss / math.Ln2, Perplexity: math.Exp(loss), Chars: n,
		Streams: B, Window: opt.Window, Stateless: opt.Stateless}, nil
}

// evaluate returns the mean loss over ids, run as B contiguous streams in
// windows of T with the state carried.
func (m *Model) evaluate(ids []int32, B, T int) (float64, int) {
	loss, n, _ := m.alone().evalStreams(ids, B, T, false)
	return loss, n
}

// evalStreams returns the mean loss over ids run as up to B contiguous
// streams in windows of T, the number of predictions and the streams used.
// Each model runs the windows with its own state; the loss is that of
// their mixed logits (mixLogits), or of the one model's own.
func (e *Ensemble) evalStreams(ids []int32, B, T int, stateless bool) (float64, int, int) {
	B = max(1, min(B, (len(ids)-1)/T))
	S := (len(ids) - 1) / B // predictions per stream
	if S == 0 {
		B, S = 1, len(ids)-1
	}
	V := e.vocab()
	type part struct {
		m      *Model
		seq    *rnn.Seq
		state  *rnn.State
		x      []float32
		logits []float32
	}
	parts := make([]part, len(e.models))
	srcs := make([][]float32, len(e.models))
	for i, m := range e.models {
		parts[i] = part{m: m, seq: m.rnn.NewSeq().InferenceOnly(), state: m.rnn.NewState(B),
			x: make([]float32, T*B*m.inputSize()), logits: make([]float32, T*B*V)}
		srcs[i] = parts[i].logits
	}
	logits := parts[0].logits
	var lse, d []float64
	if len(parts) > 1 {
		logits = make([]float32, T*B*V)
		lse, d = make([]float64, len(parts)), make([]float64, len(parts))
	}
	in := make([]int32, T*B)
	tgt := make([]int32, T*B)
	var total float64
	count := 0
	for w := 0; w < S; w += T {
		tw := min(T, S-w)
		fit.StreamWindow(in, tgt, ids, S, w, tw, B)
		n := tw * B
		for i := range parts {
			p := &parts[i]
			x := p.x[:n*p.m.inputSize()]
			p.m.embedInto(x, in[:n])
			if stateless {
				p.state.Zero()
			}
			h := p.seq.Forward(x, tw, B, nil, p.state, false, nil)
			p.state.CopyFrom(p.seq.Final())
			p.m.dec.Forward(p.logits[:n*V], h, n)
		}
		if len(parts) > 1 {
			mixLogits(logits, srcs, n, V, lse, d)
		}
		l, c := rnn.SoftmaxCrossEntropy(nil, logits[:n*V], tgt[:n], n, V, rnn.CrossEntropyOptions{})
		total += l * float64(c)
		count += c
	}
	return total / float64(count), count, B
}
