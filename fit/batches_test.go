package fit

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestLengthBuckets(t *testing.T) {
	const n, batch = 1234, 7
	lens := make([]int, n)
	g := rand.New(rand.NewPCG(1, 2))
	for i := range lens {
		lens[i] = g.IntN(40)
	}
	byLen := func(a, b int) int { return cmp.Compare(lens[a], lens[b]) }
	got := LengthBuckets(rand.New(rand.NewPCG(3, 4)), n, batch, byLen)
	if again := LengthBuckets(rand.New(rand.NewPCG(3, 4)), n, batch, byLen); !reflect.DeepEqual(got, again) {
		t.Fatal("the same rng state gave other batches")
	}
	var seen []int
	short := 0
	for _, b := range got {
		if len(b) == 0 || len(b) > batch {
			t.Fatalf("batch of %d examples, want 1..%d", len(b), batch)
		}
		if len(b) < batch {
			short++
		}
		if !slices.IsSortedFunc(b, byLen) {
			t.Fatalf("batch %v is not sorted by length", b)
		}
		seen = append(seen, b...)
	}
	slices.Sort(seen)
	for i, v := range seen {
		if v != i {
			t.Fatalf("the batches hold index %d at %d: each example must come once", v, i)
		}
	}
	// 1234 examples are 3 pools of 350 and one of 184: one short batch each
	// after the first three (350 = 50*7), one in the last.
	if short != 1 {
		t.Errorf("%d short batches, want 1 (the last pool's)", short)
	}
}
