//go:build race

package embed

// Hogwild training races by design; multi-threaded training tests skip
// under the race detector.
const raceEnabled = true
