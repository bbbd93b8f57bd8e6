package sentiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteExamplesRoundTrip(t *testing.T) {
	labels := []string{"neg", "pos"}
	ex := []Example{{`a "quoted", comma'd review`, 1}, {"<br />html & ünïcode", 0}, {"plain", 1}}
	multi := append(ex[:len(ex):len(ex)], Example{"two\nlines\tand a tab", 0})
	for _, tc := range []struct {
		format string
		ex     []Example
	}{{FormatTSV, ex}, {FormatCSV, multi}, {FormatJSONL, multi}} {
		var b strings.Builder
		require.NoError(t, WriteExamples(&b, tc.ex, labels, tc.format), tc.format)
		p := filepath.Join(t.TempDir(), "data."+tc.format)
		require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
		raw, warnings, err := ReadExamples(p, ReadOptions{})
		require.NoError(t, err, tc.format)
		require.Empty(t, warnings, tc.format)
		got, err := ToExamples(raw, labels)
		require.NoError(t, err)
		assert.Equal(t, tc.ex, got, tc.format)
	}
	var b strings.Builder
	err := WriteExamples(&b, multi, labels, FormatTSV)
	assert.ErrorContains(t, err, "example 4 holds a tab or a line break")
	assert.ErrorContains(t, WriteExamples(&b, []Example{{"x", 2}}, labels, FormatTSV), "class 2 of 2")
	assert.ErrorContains(t, WriteExamples(&b, ex, labels, "xml"), `cannot write format "xml"`)
}
