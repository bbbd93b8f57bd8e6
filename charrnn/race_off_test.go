//go:build !race

package charrnn

const raceEnabled = false
