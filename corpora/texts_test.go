package corpora

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sequence renders a ReadTexts sequence in order: "line: text" per record
// and "error: message" per error.
func sequence(t *testing.T, in string, o TextOptions) []string {
	t.Helper()
	var out []string
	for ex, err := range ReadTexts(strings.NewReader(in), o) {
		if err != nil {
			out = append(out, "error: "+err.Error())
			continue
		}
		assert.Equal(t, o.Name, ex.File)
		out = append(out, fmt.Sprintf("%d: %s", ex.Line, ex.Text))
	}
	return out
}

func TestReadTexts(t *testing.T) {
	cases := []struct {
		name, in string
		o        TextOptions
		want     []string
	}{
		{name: "lines keep their places", in: "Loved it.\n\n  \ncaf\xe9\nA\x00B\nHated it.\r\n",
			o: TextOptions{ReadOptions: ReadOptions{Name: "r.txt"}},
			want: []string{"1: Loved it.", "error: r.txt:2: empty line", "error: r.txt:3: empty line",
				"error: r.txt:4: invalid UTF-8 at column 4 (byte 4, 0xe9); fix the file or set ReplaceInvalidUTF8",
				"error: r.txt:5: NUL byte (binary input?); give UTF-8 text", "6: Hated it."}},
		{name: "no final newline, tabs kept", in: "a\tb\nlast", o: TextOptions{Format: TextLines},
			want: []string{"1: a\tb", "2: last"}},
		{name: "tsv column by index, negative", in: "1\tgood film\tx\n2\tbad\n3\n", o: TextOptions{Format: TextTSV, Text: "1"},
			want: []string{"1: good film", "2: bad", "error: line 3: text column 1 missing: the row has 1 columns"}},
		{name: "tsv header by name", in: "\nid\treview\n7\tnice\n8\t \n\n9\tawful\n",
			o:    TextOptions{ReadOptions: ReadOptions{Name: "r.tsv"}, Text: "review", Header: true},
			want: []string{"3: nice", "error: r.tsv:4: empty text in column review", "error: r.tsv:5: empty line", "6: awful"}},
		{name: "tsv header missing column", in: "id\ttext\n1\tx\n", o: TextOptions{Format: TextTSV, Text: "review", Header: true},
			want: []string{"error: line 1: no column \"review\" in the header (columns: id, text)"}},
		{name: "csv quoted line breaks are one record", in: "review,stars\n\"multi\nline, quoted\",5\nplain,1\n\"never closed,2\n",
			o:    TextOptions{ReadOptions: ReadOptions{Name: "r.csv"}, Header: true, Text: "review"},
			want: []string{"2: multi\nline, quoted", "4: plain", "error: r.csv:5: quoted field not closed before the end of the file"}},
		{name: "jsonl nested field", in: "{\"r\": {\"body\": \"fine\"}}\n\n[1]\n{\"r\": {}}\n{\"r\": {\"body\": \"ok\"}}\n",
			o: TextOptions{ReadOptions: ReadOptions{Name: "r.jsonl"}, Text: "r.body"},
			want: []string{"1: fine", "error: r.jsonl:2: empty line", "error: r.jsonl:3: not a JSON object",
				"error: r.jsonl:4: no field \"r.body\"", "5: ok"}},
		{name: "jsonl default field", in: "{\"text\": \"hi\", \"label\": 1}\n{\"text\": \"\"}\n", o: TextOptions{Format: TextJSONL},
			want: []string{"1: hi", "error: line 2: empty text in field \"text\""}},
		{name: "header of an empty file", in: "", o: TextOptions{Format: TextCSV, Header: true},
			want: []string{"error: no header: the file is empty"}},
		{name: "name without header", in: "a\n", o: TextOptions{Format: TextTSV, Text: "review"},
			want: []string{`error: corpora: column "review" is a name, but the file has no header (set Header, or give a 0-based index)`}},
		{name: "unknown format", in: "a\n", o: TextOptions{Format: "xml"},
			want: []string{`error: corpora: unknown text format "xml" (want auto, lines, tsv, csv or jsonl)`}},
		{name: "too long", in: "short\n" + strings.Repeat("x", 100) + "\nok\n", o: TextOptions{ReadOptions: ReadOptions{MaxLineBytes: 10}},
			want: []string{"1: short", "error: line 2: line too long: more than 10 bytes (the limit is 10; set MaxLineBytes to raise it)", "3: ok"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, sequence(t, tc.in, tc.o))
		})
	}
}

func TestReadTextsErrors(t *testing.T) {
	for ex, err := range ReadTexts(strings.NewReader("\n"), TextOptions{}) {
		var re *RecordError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, ErrEmptyText)
		assert.Equal(t, 1, re.Line)
		assert.Empty(t, ex.Text)
	}
	// A header problem is not a record error: it ends the sequence.
	n := 0
	for _, err := range ReadTexts(strings.NewReader("id\ttext\n1\tx\n"), TextOptions{Format: TextTSV, Header: true, Text: "review"}) {
		var re *RecordError
		assert.False(t, errors.As(err, &re))
		n++
	}
	assert.Equal(t, 1, n)
	// An I/O error ends the sequence after the records before it.
	var got []string
	for ex, err := range ReadTexts(iotest.TimeoutReader(strings.NewReader("one\ntwo\n")), TextOptions{}) {
		if err != nil {
			var re *RecordError
			assert.False(t, errors.As(err, &re), "an I/O error is not a record error")
			got = append(got, "error")
			continue
		}
		got = append(got, ex.Text)
	}
	assert.Equal(t, "error", got[len(got)-1])
}

func TestTextFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    TextOptions
		want string
	}{
		{"r.txt", TextOptions{}, TextLines},
		{"-", TextOptions{}, TextLines},
		{"r.CSV", TextOptions{}, TextCSV},
		{"r.jsonl", TextOptions{}, TextJSONL},
		{"r.ndjson", TextOptions{Format: "auto"}, TextJSONL},
		{"r.tsv", TextOptions{}, TextTSV},
		{"r.txt", TextOptions{Text: "1"}, TextTSV},
		{"-", TextOptions{Header: true}, TextTSV},
		{"r.csv", TextOptions{Format: "LINES"}, TextLines},
	} {
		got, err := TextFormat(tc.name, tc.o)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%s %+v", tc.name, tc.o)
	}
}
