package fit

import (
	"math/rand/v2"
	"slices"
)

// BucketPool is the number of batches whose examples LengthBuckets sorts
// together.
const BucketPool = 50

// LengthBuckets returns one epoch's batches of indices into n examples,
// bucketed by length: a shuffle of 0..n-1 (rng.Perm) is cut into pools of
// BucketPool*batch examples, each pool sorted stably by cmp (which compares
// two examples by index, shortest first) and cut into batches of batch
// examples (the last of a pool may be shorter), and the batches are
// shuffled with rng. A batch thus holds examples of similar length and
// little padding, and the order is a function of rng's state only: an
// application that seeds rng from its seed and the epoch sees the same
// batches again on resume.
func LengthBuckets(rng *rand.Rand, n, batch int, cmp func(a, b int) int) [][]int {
	perm := rng.Perm(n)
	pool := BucketPool * batch
	var batches [][]int
	for lo := 0; lo < len(perm); lo += pool {
		chunk := perm[lo:min(lo+pool, len(perm))]
		slices.SortStableFunc(chunk, cmp)
		for k := 0; k < len(chunk); k += batch {
			batches = append(batches, chunk[k:min(k+batch, len(chunk))])
		}
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	return batches
}
