package corpora

import (
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// genReader produces n synthetic lines made by line(i), without holding them.
type genReader struct {
	i, n int
	line func(int) string
	buf  []byte
}

func (g *genReader) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		if g.i == g.n {
			return 0, io.EOF
		}
		g.buf = []byte(g.line(g.i))
		g.i++
	}
	k := copy(p, g.buf)
	g.buf = g.buf[k:]
	return k, nil
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestReadersStream reads about 15 MB of pairs and labelled CSV and checks
// that the live heap stays small: readers hold a line at a time.
func TestReadersStream(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 15 MB")
	}
	const n = 150_000 // ~100 bytes per line
	base := heapInUse()
	var peak uint64
	count := 0
	pairs := &genReader{n: n, line: func(i int) string {
		return fmt.Sprintf("Sentence %d about owls and kites, padded a little.\tFrase %d sobre búhos y cometas.\n", i, i)
	}}
	for _, err := range ReadPairs(pairs, ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if count++; count%50_000 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	rows := &genReader{n: n, line: func(i int) string {
		return fmt.Sprintf("%d,\"Review %d, with a comma and \"\"quotes\"\", long enough\",%d\n", i, i, i%2)
	}}
	for _, err := range ReadLabeled(rows, LabeledOptions{CSV: true, Text: "1", Label: "2"}) {
		if err != nil {
			t.Fatal(err)
		}
		if count++; count%50_000 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	assert.Equal(t, 2*n, count)
	assert.Less(t, int64(peak)-int64(base), int64(4<<20), "live heap grew by more than 4 MB while streaming 15 MB")
}
