package corpora

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitDeterministic(t *testing.T) {
	a := Split(1000, 0.1, 0.2, 42)
	b := Split(1000, 0.1, 0.2, 42)
	assert.Equal(t, a, b)
	assert.Len(t, a.Test, 200)
	assert.Len(t, a.Validation, 100)
	assert.Len(t, a.Train, 700)
	all := slices.Concat(a.Train, a.Validation, a.Test)
	slices.Sort(all)
	for i, v := range all {
		require.Equal(t, i, v, "each index exactly once")
	}
	assert.True(t, slices.IsSorted(a.Train))
	c := Split(1000, 0.1, 0.2, 43)
	assert.NotEqual(t, a.Test, c.Test, "another seed, another split")

	// Pinned values: the split must not change between versions.
	s := Split(10, 0.2, 0.2, 1)
	assert.Equal(t, Splits{Train: []int{0, 3, 5, 6, 7, 9}, Validation: []int{1, 8}, Test: []int{2, 4}}, s)

	// Edge cases.
	assert.Equal(t, Splits{Train: []int{}, Validation: []int{}, Test: []int{}}, Split(0, 0.1, 0.1, 1))
	e := Split(3, 0, 1, 1)
	assert.Len(t, e.Test, 3)
	assert.Empty(t, e.Train)
	assert.Panics(t, func() { Split(10, 0.7, 0.7, 1) })
	assert.Error(t, ValidateFractions(-0.1, 0))
	assert.NoError(t, ValidateFractions(0.1, 0.1))
}

func TestHashSplit(t *testing.T) {
	counts := map[Part]int{}
	for i := range 20000 {
		p := HashSplit(fmt.Sprint("item", i), 0.1, 0.1, 7)
		counts[p]++
		require.Equal(t, p, HashSplit(fmt.Sprint("item", i), 0.1, 0.1, 7))
	}
	assert.InDelta(t, 2000, counts[Test], 200)
	assert.InDelta(t, 2000, counts[Validation], 200)
	assert.InDelta(t, 16000, counts[Train], 400)
	// Pinned: the hash is part of the format.
	assert.Equal(t, "validation train test test", strings.Join([]string{
		HashSplit("a", 0.5, 0, 3).String(), HashSplit("b", 0.5, 0, 3).String(),
		HashSplit("k", 0.1, 0.1, 0).String(), HashSplit("a", 0, 1, 0).String()}, " "))
	assert.Equal(t, uint64(0xaf63dc4c8601ec8c), fnv1a("a")) // the published FNV-1a test vector
}

func TestGroupedSplit(t *testing.T) {
	// Synthetic pairs: each source sentence has 1-4 translations, written
	// with varying case and spacing.
	var keys []string
	for g := range 3000 {
		for v := range 1 + g%4 {
			k := fmt.Sprintf("Sentence number %d.", g)
			switch v {
			case 1:
				k = strings.ToLower(k)
			case 2:
				k = "  " + strings.ReplaceAll(k, " ", "   ") + "\t"
			case 3:
				k = strings.ToUpper(k)
			}
			keys = append(keys, k)
		}
	}
	s := GroupedSplit(keys, 0.1, 0.05, 11)
	assert.Equal(t, s, GroupedSplit(keys, 0.1, 0.05, 11))
	assert.Equal(t, len(keys), len(s.Train)+len(s.Validation)+len(s.Test))
	part := map[string]Part{}
	check := func(idx []int, p Part) {
		for _, i := range idx {
			k := NormalizeKey(keys[i])
			if q, ok := part[k]; ok {
				require.Equal(t, q, p, "group %q split across parts", k)
			}
			part[k] = p
		}
	}
	check(s.Train, Train)
	check(s.Validation, Validation)
	check(s.Test, Test)
	assert.Len(t, part, 3000)
	n := float64(len(keys))
	assert.InDelta(t, 0.1, float64(len(s.Validation))/n, 0.03)
	assert.InDelta(t, 0.05, float64(len(s.Test))/n, 0.03)
	assert.Equal(t, "go away.", NormalizeKey("  Go \t Away. "))
}

func TestContiguousSplit(t *testing.T) {
	tr, va := ContiguousSplit(1115394, 0.1, 0)
	assert.Equal(t, 1003854, tr) // int(0.9 * n), as nanoGPT and char-rnn do
	assert.Equal(t, 1115394, va)
	tr, va = ContiguousSplit(100, 0.1, 0.1)
	assert.Equal(t, []int{80, 90}, []int{tr, va})
	tr, va = ContiguousSplit(0, 0.1, 0)
	assert.Equal(t, []int{0, 0}, []int{tr, va})
}

func TestSplitText(t *testing.T) {
	text := "ab" + strings.Repeat("ñ", 9) // 2 + 18 bytes
	train, val, err := SplitText(strings.NewReader(text), int64(len(text)), 0.25)
	require.NoError(t, err)
	a, _ := io.ReadAll(train)
	b, _ := io.ReadAll(val)
	assert.Equal(t, text, string(a)+string(b))
	assert.Equal(t, int64(14), train.Size(), "15 falls inside a ñ; moved back to 14")
	assert.True(t, strings.HasPrefix(string(b), "ñ"))

	train, val, err = SplitText(strings.NewReader("0123456789"), 10, 0.1)
	require.NoError(t, err)
	assert.Equal(t, int64(9), train.Size())
	assert.Equal(t, int64(1), val.Size())
}
