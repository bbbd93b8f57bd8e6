//go:build unix

package sentiment

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReadExamplesFIFO: a named pipe given as labelled data (train, eval
// sentiment, corpora split) is refused at once instead of blocking in open
// until a writer comes.
func TestReadExamplesFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "reviews.tsv")
	require.NoError(t, syscall.Mkfifo(p, 0o644))
	for _, format := range []string{FormatAuto, FormatTSV, FormatCSV, FormatJSONL} {
		done := make(chan error, 1)
		go func() { _, _, err := ReadExamples(p, ReadOptions{Format: format}); done <- err }()
		select {
		case err := <-done:
			require.ErrorContains(t, err, "named pipe", format)
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadExamples (%s) blocked on a FIFO", format)
		}
	}
}
