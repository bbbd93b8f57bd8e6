package seq2seq

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeSentenceAndContentKey(t *testing.T) {
	assert.Equal(t, "i am here", NormalizeSentence("I'm here!"))
	assert.Equal(t, NormalizeSentence("I'm here!"), NormalizeSentence("i am  here."))
	assert.Equal(t, "he does not know", NormalizeSentence("He doesn’t know."))
	assert.Equal(t, "dónde está la estación", NormalizeSentence("¿Dónde está la estación?"))
	assert.Equal(t, "tired", ContentKey("I'm very tired."))
	assert.Equal(t, ContentKey("I'm very tired."), ContentKey("You're tired!"))
	assert.Equal(t, "cat sleeping", ContentKey("The cat is sleeping."))
	assert.Equal(t, "", ContentKey("Are you?"))
}

// TestClusterSplitPairsHoldsOutParaphrases: a split by exact source keeps
// paraphrases on both sides; the cluster split never does.
func TestClusterSplitPairsHoldsOutParaphrases(t *testing.T) {
	var pairs []Pair
	for i := range 400 {
		w := fmt.Sprintf("thing%d", i)
		pairs = append(pairs,
			Pair{Source: "I'm happy with the " + w + ".", Target: "Estoy feliz con la " + w + "."},
			Pair{Source: "I am happy with the " + w + "!", Target: "¡Estoy contento con la " + w + "!"},
			Pair{Source: "We're happy with the " + w + ".", Target: "Estamos felices con la " + w + "."},
			Pair{Source: "Tom said that he was really happy with the " + w + " in " + w + "town.", Target: "Tom dijo que estaba muy feliz con la " + w + " en " + w + "town."},
			Pair{Source: "Tom said that he was very happy with the " + w + " in " + w + "town.", Target: "Tom dijo que estaba contentísimo con la " + w + " en " + w + "town."},
		)
	}
	leaks := func(train, val []Pair) int {
		in := map[string]bool{}
		for _, p := range train {
			in[ContentKey(p.Source)] = true
			in["n"+NormalizeSentence(p.Target)] = true
		}
		n := 0
		for _, p := range val {
			if in[ContentKey(p.Source)] {
				n++
			}
		}
		return n
	}
	tr, va := SplitPairs(pairs, 0.1, 1)
	assert.Greater(t, leaks(tr, va), 0, "the exact-source split should leak paraphrases")
	tr, va, st := ClusterSplitPairs(pairs, 0.1, 1, ClusterOptions{})
	require.NotEmpty(t, va)
	assert.Equal(t, 0, leaks(tr, va))
	assert.Equal(t, 2000, len(tr)+len(va))
	// "really" and "very" differ by one word in a long sentence: one cluster.
	assert.LessOrEqual(t, st.Clusters, 800)
}

func TestAugment(t *testing.T) {
	var pairs []Pair
	for i := range 200 {
		pairs = append(pairs,
			Pair{Source: fmt.Sprintf("Where is Tom %d?", i), Target: fmt.Sprintf("¿Dónde está Tom %d?", i)},
			Pair{Source: fmt.Sprintf("Mary has %d books.", i), Target: fmt.Sprintf("Mary tiene %d libros.", i)},
			Pair{Source: "I speak English.", Target: "Hablo inglés."},
		)
	}
	names := HarvestNames(pairs, 2)
	assert.Equal(t, []string{"Tom"}, names, "Mary is always first in its sentence; English is not spelt alike")

	opt := AugmentOptions{Names: 0.5, NoPunct: 0.2, Lower: 0.1, Seed: 3}
	out := Augment(pairs, opt)
	require.Greater(t, len(out), len(pairs))
	assert.Equal(t, pairs, out[:len(pairs)], "the original pairs come first, unchanged")
	assert.Equal(t, out, Augment(pairs, opt), "deterministic")
	var renamed, nopunct, lower int
	for _, p := range out[len(pairs):] {
		switch {
		case strings.HasPrefix(p.Source, "Where is ") && !strings.Contains(p.Source, "Tom"):
			renamed++
			name := strings.Fields(p.Source)[2]
			assert.Contains(t, p.Target, "está "+name+" ", "the name is replaced on both sides")
		case p.Source == strings.ToLower(p.Source):
			lower++
		case !strings.ContainsAny(p.Source[len(p.Source)-1:], ".?!"):
			nopunct++
		}
	}
	assert.Greater(t, renamed, 50)
	assert.Greater(t, nopunct, 50)
	assert.Greater(t, lower, 20)
	assert.Equal(t, "Ana y Anabel", replaceWord("Tom y Anabel", "Tom", "Ana"))
	assert.Equal(t, "Tomás y Ana", replaceWord("Tomás y Tom", "Tom", "Ana"))
}
