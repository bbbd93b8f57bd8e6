package embed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Don't stop!", []string{"don", "t", "stop"}},
		{"¿Dónde está el NIÑO? ¡Qué año!", []string{"dónde", "está", "el", "niño", "qué", "año"}},
		{"R2-D2 in 1977, <br />really", []string{"r2", "d2", "in", "1977", "br", "really"}},
		{"cafe\u0301 ok", []string{"cafe\u0301", "ok"}}, // combining accent stays in the word
		{"bad\xffutf8", []string{"bad", "utf8"}},
		{"", nil},
	} {
		assert.Equal(t, tc.want, AppendWords(nil, tc.in), tc.in)
	}
}

// plantedCorpus writes sentences in which the words of each topic occur
// only with each other (plus shared filler words), so each word's nearest
// neighbours must be its topic mates.
func plantedCorpus(topics, perTopic, sentences int, seed uint64) (string, [][]string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	groups := make([][]string, topics)
	for i := range groups {
		for j := 0; j < perTopic; j++ {
			groups[i] = append(groups[i], fmt.Sprintf("t%dw%d", i, j))
		}
	}
	fillers := []string{"the", "a", "of", "and", "to", "is"}
	var b strings.Builder
	for s := 0; s < sentences; s++ {
		g := groups[rng.IntN(topics)]
		for k := 0; k < 12; k++ {
			if rng.IntN(4) == 0 {
				b.WriteString(fillers[rng.IntN(len(fillers))])
			} else {
				b.WriteString(g[rng.IntN(len(g))])
			}
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.String(), groups
}

func plantedOptions(threads int) Word2VecOptions {
	return Word2VecOptions{Dim: 24, Window: 4, Negative: 5, MinCount: 2, Epochs: 3, Sample: 1e-3, Threads: threads, Seed: 7}
}

func checkPlanted(t *testing.T, m *Model, groups [][]string) {
	t.Helper()
	k := len(groups[0]) - 1
	hits, total := 0, 0
	for _, g := range groups {
		for _, w := range g {
			nb, err := m.Neighbors(w, k)
			require.NoError(t, err)
			for _, n := range nb {
				if strings.HasPrefix(n.Word, strings.SplitN(w, "w", 2)[0]+"w") {
					hits++
				}
				total++
			}
		}
	}
	t.Logf("planted neighbours found: %d/%d", hits, total)
	assert.GreaterOrEqual(t, float64(hits)/float64(total), 0.95, "share of top-%d neighbours in the planted topic", k)
}

func TestTrainFindsPlantedNeighbours(t *testing.T) {
	text, groups := plantedCorpus(20, 5, 4000, 1)
	var reports []Progress
	m, err := Train(context.Background(), strings.NewReader(text), plantedOptions(1), func(p Progress) { reports = append(reports, p) })
	require.NoError(t, err)
	assert.Len(t, m.Words, 20*5+6)
	assert.Equal(t, len(m.Words), len(m.Counts))
	for i := 1; i < len(m.Counts); i++ {
		require.GreaterOrEqual(t, m.Counts[i-1], m.Counts[i], "sorted by frequency")
	}
	checkPlanted(t, m, groups)

	require.NotEmpty(t, reports)
	last := reports[len(reports)-1]
	assert.Equal(t, last.TotalWords, last.Words, "final report covers every word")
	assert.Equal(t, 3, last.Epoch)
	assert.InDelta(t, 0.025e-4, last.LR, 1e-4, "LR decayed to its floor")

	// Same seed, one thread: the same vectors.
	m2, err := Train(context.Background(), strings.NewReader(text), plantedOptions(1), nil)
	require.NoError(t, err)
	assert.Equal(t, m.Data, m2.Data, "reproducible with Threads 1")
}

func TestTrainHogwild(t *testing.T) {
	if raceEnabled {
		t.Skip("Hogwild updates race by design")
	}
	text, groups := plantedCorpus(20, 5, 4000, 2)
	m, err := Train(context.Background(), strings.NewReader(text), plantedOptions(2), nil)
	require.NoError(t, err)
	checkPlanted(t, m, groups)
}

func TestTrainSentences(t *testing.T) {
	text, groups := plantedCorpus(10, 4, 2000, 3)
	var words []string
	ids := map[string]int32{}
	var sents [][]int32
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var s []int32
		for _, w := range strings.Fields(line) {
			id, ok := ids[w]
			if !ok {
				id = int32(len(words))
				ids[w] = id
				words = append(words, w)
			}
			s = append(s, id)
		}
		sents = append(sents, s)
	}
	words = append(words, "never") // below MinCount: dropped
	m, err := TrainSentences(context.Background(), sents, words, plantedOptions(1), nil)
	require.NoError(t, err)
	assert.Equal(t, -1, m.Index("never"))
	checkPlanted(t, m, groups)

	_, err = TrainSentences(context.Background(), [][]int32{{0, 9}}, []string{"a"}, plantedOptions(1), nil)
	require.ErrorContains(t, err, "token id 9 out of range")
}

func TestTrainErrors(t *testing.T) {
	_, err := Train(context.Background(), strings.NewReader("one two three"), Word2VecOptions{MinCount: 5}, nil)
	require.ErrorContains(t, err, "no word occurs at least 5 times")
}

func TestTrainCancel(t *testing.T) {
	text, _ := plantedCorpus(20, 5, 4000, 4)
	ctx, cancel := context.WithCancel(context.Background())
	opt := plantedOptions(1)
	opt.Epochs = 1000
	start := time.Now()
	var once bool
	m, err := Train(ctx, strings.NewReader(text), opt, func(p Progress) {
		if !once {
			once = true
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, m, "the partial model is returned")
	assert.Len(t, m.Data, len(m.Words)*m.Dim)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestTrainLongLineSplits(t *testing.T) {
	// A corpus without line breaks still trains (sentences are cut at 1000 words).
	text, groups := plantedCorpus(20, 5, 4000, 5)
	m, err := Train(context.Background(), strings.NewReader(strings.ReplaceAll(text, "\n", " ")), plantedOptions(1), nil)
	require.NoError(t, err)
	checkPlanted(t, m, groups)
}

func TestNeighborsAndAnalogy(t *testing.T) {
	v := &Vectors{
		Words: []string{"man", "woman", "king", "queen", "apple", "zero"},
		Dim:   3,
		Data: []float32{
			1, 0, 0, // man
			1, 1, 0, // woman
			1, 0, 1, // king
			1, 1, 1, // queen
			-1, 0, 0.2, // apple
			0, 0, 0, // zero: skipped
		},
	}
	nb, err := v.Neighbors("King", 2) // lowercase fallback
	require.NoError(t, err)
	require.Len(t, nb, 2)
	assert.Equal(t, "queen", nb[0].Word)
	assert.InDelta(t, 2/(1.41421356*1.7320508), nb[0].Similarity, 1e-5)
	assert.Equal(t, "man", nb[1].Word)

	got, err := v.Analogy("man", "woman", "king", 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"queen"}, words(got))

	all, err := v.Neighbors("man", 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"woman", "king", "queen", "apple"}, words(all), "sorted, self and zero rows excluded")

	_, err = v.Neighbors("prince", 3)
	require.ErrorContains(t, err, `"prince" is not in the vocabulary`)
	_, err = v.Analogy("man", "prince", "king", 3)
	require.Error(t, err)
}

func words(nb []Neighbor) []string {
	var out []string
	for _, n := range nb {
		out = append(out, n.Word)
	}
	return out
}

func TestModelSaveLoad(t *testing.T) {
	text, _ := plantedCorpus(5, 3, 300, 6)
	m, err := Train(context.Background(), strings.NewReader(text), plantedOptions(1), nil)
	require.NoError(t, err)
	for _, name := range []string{"m.vec", "m.bin"} {
		p := t.TempDir() + "/" + name
		require.NoError(t, m.Save(p, Auto))
		m2, err := LoadModel(p, Auto)
		require.NoError(t, err)
		assert.Equal(t, m.Words, m2.Words)
		assert.Equal(t, m.Data, m2.Data)
	}
}
