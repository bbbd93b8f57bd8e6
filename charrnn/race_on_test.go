//go:build race

package charrnn

// raceEnabled: the race detector makes sync.Pool drop items (the worker
// pool allocates again), so allocation counts are meaningless under it.
const raceEnabled = true
