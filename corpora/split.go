package corpora

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Part is one part of a train/validation/test split.
type Part uint8

const (
	Train Part = iota
	Validation
	Test
)

func (p Part) String() string {
	switch p {
	case Train:
		return "train"
	case Validation:
		return "validation"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Part(%d)", uint8(p))
}

// Splits holds the indices of each part, in increasing order.
type Splits struct {
	Train, Validation, Test []int
}

// ValidateFractions checks split fractions given by a user: each in [0, 1]
// and their sum at most 1. The split functions panic on fractions that do
// not pass it (a programmer error).
func ValidateFractions(valFrac, testFrac float64) error {
	ok := func(f float64) bool { return f >= 0 && f <= 1 && !math.IsNaN(f) }
	if !ok(valFrac) || !ok(testFrac) || valFrac+testFrac > 1 {
		return fmt.Errorf("split fractions must be in [0, 1] and sum to at most 1 (validation %g, test %g)", valFrac, testFrac)
	}
	return nil
}

func mustFractions(valFrac, testFrac float64) {
	if err := ValidateFractions(valFrac, testFrac); err != nil {
		panic("corpora: " + err.Error())
	}
}

// Split splits n items by a seeded shuffle: exactly round(n*testFrac)
// items go to Test, round(n*valFrac) to Validation (fewer if the rounding
// overshoots n) and the rest to Train. The same n, fractions and seed give
// the same split everywhere.
func Split(n int, valFrac, testFrac float64, seed uint64) Splits {
	mustFractions(valFrac, testFrac)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	rng := splitmix{state: seed}
	for i := n - 1; i > 0; i-- { // Fisher-Yates
		j := int(rng.below(uint64(i + 1)))
		perm[i], perm[j] = perm[j], perm[i]
	}
	nTest := min(n, int(math.Round(float64(n)*testFrac)))
	nVal := min(n-nTest, int(math.Round(float64(n)*valFrac)))
	s := Splits{
		Test:       perm[:nTest:nTest],
		Validation: perm[nTest : nTest+nVal : nTest+nVal],
		Train:      perm[nTest+nVal:],
	}
	slices.Sort(s.Train)
	slices.Sort(s.Validation)
	slices.Sort(s.Test)
	return s
}

// HashSplit assigns one item to a part by a stable hash of its key, so a
// stream can be split without seeing it whole and an item keeps its part
// when others are added. The part sizes are close to, not exactly, the
// fractions. The hash is u = splitmix64(fnv1a64(key) ^ seed) / 2^64; the item
// is Test if u < testFrac, Validation if u < testFrac+valFrac, else Train.
func HashSplit(key string, valFrac, testFrac float64, seed uint64) Part {
	mustFractions(valFrac, testFrac)
	u := float64(mix64(fnv1a(key)^seed)>>11) / (1 << 53)
	switch {
	case u < testFrac:
		return Test
	case u < testFrac+valFrac:
		return Validation
	}
	return Train
}

// GroupedSplit splits items that come in groups, such as translation pairs
// that share a source sentence: every item whose key normalises
// (NormalizeKey) to the same string lands in the same part, chosen by
// HashSplit of the normalised key. Pass the source sentences as keys so no
// English sentence is seen in training and evaluated on again.
func GroupedSplit(keys []string, valFrac, testFrac float64, seed uint64) Splits {
	mustFractions(valFrac, testFrac)
	var s Splits
	for i, k := range keys {
		switch HashSplit(NormalizeKey(k), valFrac, testFrac, seed) {
		case Train:
			s.Train = append(s.Train, i)
		case Validation:
			s.Validation = append(s.Validation, i)
		case Test:
			s.Test = append(s.Test, i)
		}
	}
	return s
}

// NormalizeKey lowercases s, trims it and collapses runs of white space to
// one space: "  Go  Away. " and "go away." are one group.
func NormalizeKey(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), unicode.IsSpace), " ")
}

// ContiguousSplit splits n items (bytes, characters, lines) in order: Train
// is [0, trainEnd), Validation [trainEnd, valEnd) and Test [valEnd, n), with
// trainEnd = floor(n*(1-valFrac-testFrac)) and valEnd = floor(n*(1-testFrac)).
// ContiguousSplit(n, 0.1, 0) is the customary tiny Shakespeare split: the
// first 90% for training, the last 10% for validation.
func ContiguousSplit(n int, valFrac, testFrac float64) (trainEnd, valEnd int) {
	mustFractions(valFrac, testFrac)
	trainEnd = int(float64(n) * (1 - valFrac - testFrac))
	valEnd = int(float64(n) * (1 - testFrac))
	if testFrac == 0 {
		valEnd = n
	}
	return max(0, min(trainEnd, n)), max(0, min(valEnd, n))
}

// SplitText splits a text of size bytes into its first part for training
// and its last valFrac for validation (ContiguousSplit by bytes), moving the
// boundary back to the start of a UTF-8 character. Both parts read from r,
// so nothing is loaded into memory.
func SplitText(r io.ReaderAt, size int64, valFrac float64) (train, val *io.SectionReader, err error) {
	mustFractions(valFrac, 0)
	cut := int64(float64(size) * (1 - valFrac))
	if valFrac == 0 {
		cut = size
	}
	if cut > 0 && cut < size {
		var buf [utf8.UTFMax]byte
		from := max(0, cut-utf8.UTFMax+1)
		k, err := r.ReadAt(buf[:cut-from+1], from)
		if err != nil && err != io.EOF {
			return nil, nil, err
		}
		// Step back while the byte at cut is a continuation byte.
		for i := int(cut - from); i > 0 && i < k && !utf8.RuneStart(buf[i]); i-- {
			cut--
		}
	}
	return io.NewSectionReader(r, 0, cut), io.NewSectionReader(r, cut, size-cut), nil
}

func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// splitmix is the splitmix64 generator.
type splitmix struct{ state uint64 }

func (s *splitmix) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below returns a uniform value in [0, n) (n > 0) by rejection.
func (s *splitmix) below(n uint64) uint64 {
	limit := math.MaxUint64 - math.MaxUint64%n
	for {
		if v := s.next(); v < limit {
			return v % n
		}
	}
}
