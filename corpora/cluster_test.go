package corpora

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClusterSplitKeepsClustersTogether(t *testing.T) {
	// Items 3k, 3k+1 and 3k+2 share keys by a chain (a-b, b-c): one cluster each.
	var keys [][]string
	for k := range 300 {
		a, b, c := string(rune('A'+k%26))+string(rune(k)), "x"+string(rune(k)), "y"+string(rune(k))
		keys = append(keys, []string{a, b}, []string{b, c}, []string{c})
	}
	s, st := ClusterSplit(keys, 0.3, 0, 7)
	assert.Equal(t, 300, st.Clusters)
	assert.Equal(t, 3, st.Largest)
	require.NotEmpty(t, s.Validation)
	require.Len(t, append(s.Train, s.Validation...), 900)
	part := map[int]bool{}
	for _, i := range s.Validation {
		part[i] = true
	}
	for k := range 300 {
		assert.Equal(t, part[3*k], part[3*k+1], "cluster %d split", k)
		assert.Equal(t, part[3*k], part[3*k+2], "cluster %d split", k)
	}
	frac := float64(len(s.Validation)) / 900
	assert.InDelta(t, 0.3, frac, 0.1)

	// The same keys and seed give the same split.
	again, _ := ClusterSplit(keys, 0.3, 0, 7)
	assert.Equal(t, s, again)
}

func TestClusterSplitCapsGiantClusters(t *testing.T) {
	keys := make([][]string, 100)
	for i := range 50 {
		keys[i] = []string{"common"} // one cluster of 50
	}
	for i := 50; i < 100; i++ {
		keys[i] = nil // singletons, hashed by index
	}
	s, st := ClusterSplit(keys, 0.5, 10, 1)
	assert.Equal(t, 1, st.Capped)
	assert.Equal(t, 50, st.CappedItems)
	for _, i := range s.Validation {
		assert.GreaterOrEqual(t, i, 50, "an item of the capped cluster went to validation")
	}
	assert.NotEmpty(t, s.Validation)
}
