package embed

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/rnnkit/rnnkit/rnn"
)

// Table is an embedding lookup table, PyTorch's nn.Embedding: a (Vocab, Dim)
// weight whose row i is the vector of token id i. If PadID >= 0 that row is
// kept at zero and receives no gradient (padding_idx).
type Table struct {
	Vocab, Dim int
	PadID      int        // -1: no padding row
	Weight     *rnn.Param // "<prefix>weight", shape (Vocab, Dim)
}

// NewTable registers a zero (Vocab, Dim) weight named prefix+"weight" in ps.
// padID is the padding row (kept zero), or -1 for none.
func NewTable(ps *rnn.Params, prefix string, vocab, dim, padID int) *Table {
	if vocab <= 0 || dim <= 0 {
		panic(fmt.Sprintf("embed: NewTable: vocab %d and dim %d must be positive", vocab, dim))
	}
	if padID < -1 || padID >= vocab {
		panic(fmt.Sprintf("embed: NewTable: padID %d out of range [-1, %d)", padID, vocab))
	}
	return &Table{Vocab: vocab, Dim: dim, PadID: padID, Weight: ps.Add(prefix+"weight", vocab, dim)}
}

// InitScheme selects how Table.Init draws the weights.
type InitScheme int

const (
	// InitNormal draws N(0, 1), PyTorch's nn.Embedding default.
	InitNormal InitScheme = iota
	// InitUniform draws U(-0.05, 0.05), Keras's Embedding default.
	InitUniform
	// InitXavier draws U(-a, a) with a = sqrt(6/(Vocab+Dim)) (Glorot uniform).
	InitXavier
)

// Init randomizes the weights with rng and zeroes the padding row.
func (t *Table) Init(rng *rand.Rand, scheme InitScheme) {
	w := t.Weight.W
	switch scheme {
	case InitNormal:
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
	case InitUniform, InitXavier:
		a := 0.05
		if scheme == InitXavier {
			a = math.Sqrt(6 / float64(t.Vocab+t.Dim))
		}
		for i := range w {
			w[i] = float32((2*rng.Float64() - 1) * a)
		}
	default:
		panic(fmt.Sprintf("embed: unknown init scheme %d", scheme))
	}
	t.zeroPad()
}

func (t *Table) zeroPad() {
	if t.PadID >= 0 {
		clear(t.Weight.W[t.PadID*t.Dim : (t.PadID+1)*t.Dim])
	}
}

// Row returns the vector of id, a view into the weights.
func (t *Table) Row(id int32) []float32 {
	t.check(id, 0)
	return t.Weight.W[int(id)*t.Dim : (int(id)+1)*t.Dim]
}

func (t *Table) check(id int32, pos int) {
	if id < 0 || int(id) >= t.Vocab {
		panic(fmt.Sprintf("embed: token id %d at position %d out of range [0, %d) for table %q",
			id, pos, t.Vocab, t.Weight.Name))
	}
}

// Forward looks up ids: dst[i*Dim:(i+1)*Dim] = Weight[ids[i]].
// ids: (N,), dst: (N, Dim).
func (t *Table) Forward(dst []float32, ids []int32) {
	d := t.Dim
	if len(dst) != len(ids)*d {
		panic(fmt.Sprintf("embed: Forward: dst has %d values, want len(ids)*Dim = %d*%d", len(dst), len(ids), d))
	}
	w := t.Weight.W
	for i, id := range ids {
		t.check(id, i)
		copy(dst[i*d:(i+1)*d], w[int(id)*d:(int(id)+1)*d])
	}
}

// Backward accumulates the gradient of the lookup:
// Weight.G[ids[i]] += dDst[i*Dim:(i+1)*Dim], for every i whose id is not the
// padding id. Only the rows of ids are touched. ids: (N,), dDst: (N, Dim).
func (t *Table) Backward(dDst []float32, ids []int32) {
	d := t.Dim
	if len(dDst) != len(ids)*d {
		panic(fmt.Sprintf("embed: Backward: dDst has %d values, want len(ids)*Dim = %d*%d", len(dDst), len(ids), d))
	}
	g := t.Weight.G
	for i, id := range ids {
		t.check(id, i)
		if int(id) == t.PadID {
			continue
		}
		row := g[int(id)*d : (int(id)+1)*d]
		src := dDst[i*d : (i+1)*d]
		for j := range row {
			row[j] += src[j]
		}
	}
}

// Load copies a (Vocab, Dim) matrix, such as one from Vectors.Align, into the
// weights and zeroes the padding row. A matrix of another size is an error.
func (t *Table) Load(matrix []float32) error {
	if len(matrix) != t.Vocab*t.Dim {
		return fmt.Errorf("embed: matrix has %d values, table %q needs %d (vocab %d x dim %d)",
			len(matrix), t.Weight.Name, t.Vocab*t.Dim, t.Vocab, t.Dim)
	}
	copy(t.Weight.W, matrix)
	t.zeroPad()
	return nil
}

// LoadVectors overwrites the rows of the vocabulary words found in v (see
// Vectors.Align) and leaves the other rows as they are, typically randomly
// initialised by Init. vocab[i] is the token of id i. It returns the number of
// words found and the words not found.
func (t *Table) LoadVectors(v *Vectors, vocab []string, lowercaseFallback bool) (found int, oov []string, err error) {
	if v.Dim != t.Dim {
		return 0, nil, fmt.Errorf("embed: vectors have dimension %d, table %q has %d", v.Dim, t.Weight.Name, t.Dim)
	}
	if len(vocab) != t.Vocab {
		return 0, nil, fmt.Errorf("embed: vocabulary has %d tokens, table %q has %d rows", len(vocab), t.Weight.Name, t.Vocab)
	}
	found, oov = v.AlignInto(t.Weight.W, vocab, lowercaseFallback)
	t.zeroPad()
	return found, oov, nil
}
