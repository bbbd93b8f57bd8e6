package embed

import (
	"fmt"
	"math"
	"strings"

	"github.com/rnnkit/rnnkit/rnn/kernel"
)

// Neighbor is a word and its cosine similarity to a query.
type Neighbor struct {
	Word       string  `json:"word"`
	Similarity float64 `json:"similarity"`
}

// lookup finds word as is, then lowercased.
func (v *Vectors) lookup(word string) (int, error) {
	if i := v.Index(word); i >= 0 {
		return i, nil
	}
	if lw := strings.ToLower(word); lw != word {
		if i := v.Index(lw); i >= 0 {
			return i, nil
		}
	}
	return -1, fmt.Errorf("embed: word %q is not in the vocabulary (%d words)", word, len(v.Words))
}

// Neighbors returns the k words nearest to word by cosine similarity, most
// similar first, excluding word itself. word is looked up as is, then
// lowercased; a word in neither form is an error.
func (v *Vectors) Neighbors(word string, k int) ([]Neighbor, error) {
	i, err := v.lookup(word)
	if err != nil {
		return nil, err
	}
	return v.Nearest(v.Vector(i), k, i), nil
}

// Analogy answers "a is to b as c is to ?": the k words nearest to
// b - a + c (each unit-normalised first, as word2vec's word-analogy does),
// excluding a, b and c.
func (v *Vectors) Analogy(a, b, c string, k int) ([]Neighbor, error) {
	q := make([]float32, v.Dim)
	var ex []int
	for _, t := range []struct {
		w    string
		sign float32
	}{{a, -1}, {b, 1}, {c, 1}} {
		i, err := v.lookup(t.w)
		if err != nil {
			return nil, err
		}
		ex = append(ex, i)
		x := v.Vector(i)
		n := norm(x)
		if n == 0 {
			continue
		}
		kernel.Axpy(t.sign/n, x, q)
	}
	return v.Nearest(q, k, ex...), nil
}

func norm(x []float32) float32 { return float32(math.Sqrt(float64(kernel.Dot(x, x)))) }

// Nearest returns the k rows most cosine-similar to query, most similar
// first, skipping the rows in exclude and rows of zero norm.
// query: (Dim,).
func (v *Vectors) Nearest(query []float32, k int, exclude ...int) []Neighbor {
	if len(query) != v.Dim {
		panic(fmt.Sprintf("embed: Nearest: query has %d values, want Dim %d", len(query), v.Dim))
	}
	qn := norm(query)
	if k <= 0 || qn == 0 {
		return nil
	}
	type hit struct {
		i int
		s float32
	}
	top := make([]hit, 0, k+1)
	for i := range v.Words {
		if containsInt(exclude, i) {
			continue
		}
		x := v.Vector(i)
		n := norm(x)
		if n == 0 {
			continue
		}
		s := kernel.Dot(query, x) / (n * qn)
		if len(top) == k && s <= top[k-1].s {
			continue
		}
		j := len(top)
		top = append(top, hit{})
		for j > 0 && top[j-1].s < s {
			top[j] = top[j-1]
			j--
		}
		top[j] = hit{i, s}
		if len(top) > k {
			top = top[:k]
		}
	}
	out := make([]Neighbor, len(top))
	for j, h := range top {
		out[j] = Neighbor{Word: v.Words[h.i], Similarity: float64(h.s)}
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
