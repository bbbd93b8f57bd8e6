package corpora

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNameKeys(t *testing.T) {
	assert.Equal(t, []string{"Bromwell High", "Stanley Kubrick"},
		NameKeys(`Bromwell High is a cartoon. "Stanley Kubrick" would <br />like Bromwell High.`))
	assert.Equal(t, []string{"Jane Fonda", "Robert De"}, NameKeys("Jane Fonda and Robert De Niro."[:len("Jane Fonda and Robert De")]))
	assert.Empty(t, NameKeys("I saw it. It ended. USA Today"), "one capitalised word, or capitals only, is no name")
	assert.Equal(t, []string{"Pedro Almodóvar"}, NameKeys("by Pedro Almodóvar, the master"))
	assert.Empty(t, NameKeys(""))
}

// film writes n reviews of one film: each names it, so reviews of the same
// film share a rare key.
func film(id, n int) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = []string{fmt.Sprintf("Film Number%d", id), fmt.Sprintf("Actor Name%d", i%3)}
	}
	return out
}

func TestBlockSplitHoldsOutWholeSources(t *testing.T) {
	// Class 0: films 0..99, 5 reviews each, in order. Class 1: films 90..99
	// (the held-out ones) early in the file, then films 100..189.
	var classes []int
	var keys [][]string
	for f := 0; f < 100; f++ {
		for _, k := range film(f, 5) {
			classes, keys = append(classes, 0), append(keys, k)
		}
	}
	for f := 90; f < 190; f++ {
		for _, k := range film(f, 5) {
			classes, keys = append(classes, 1), append(keys, k)
		}
	}
	o := BlockOptions{Gap: 2, MaxDF: 12, Bin: 10, Sigmas: 6, MinExcess: 5}
	s, rep := BlockSplit(classes, keys, 0.1, o)

	films := func(idx []int) map[string]bool {
		m := map[string]bool{}
		for _, i := range idx {
			m[keys[i][0]] = true
		}
		return m
	}
	tr, va := films(s.Train), films(s.Validation)
	for f := range va {
		assert.False(t, tr[f], "%s is on both sides", f)
	}
	assert.Len(t, s.Validation, 100, "the last 10%% of each class")
	assert.Equal(t, 4, rep.Gap)
	require.NotEmpty(t, rep.Linked, "class 1's reviews of the held-out films are found")
	assert.Equal(t, 1, rep.Linked[0].Class)
	assert.Equal(t, 0, rep.Linked[0].From)
	assert.Equal(t, len(classes), len(s.Train)+len(s.Validation)+rep.Dropped())
	// Class 1's validation films (185..189) have no class-0 reviews: class 0
	// keeps everything but its gap.
	for _, l := range rep.Linked {
		assert.NotEqual(t, 0, l.Class)
	}
}

func TestBlockSplitWithoutKeys(t *testing.T) {
	classes := []int{0, 1, 0, 1, 0, 1, 0, 1, 0, 1}
	s, rep := BlockSplit(classes, nil, 0.4, BlockOptions{})
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, s.Train)
	assert.Equal(t, []int{6, 7, 8, 9}, s.Validation)
	assert.Zero(t, rep.Dropped())
	// The gap is at most a tenth of a class's training items.
	classes = make([]int, 60)
	for i := range classes {
		classes[i] = i % 2
	}
	s, rep = BlockSplit(classes, nil, 0.2, BlockOptions{Gap: 5})
	assert.Len(t, s.Validation, 12)
	assert.Equal(t, 4, rep.Gap, "two per class: a tenth of 24")
	assert.Len(t, s.Train, 44)
	assert.Equal(t, 43, s.Train[len(s.Train)-1], "items 44-47 are the gap")
}
