package corpora

import (
	"bytes"
	"errors"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect gathers the records and the error messages of a sequence.
func collect[T any](seq iter.Seq2[T, error]) (recs []T, errs []string) {
	for v, err := range seq {
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		recs = append(recs, v)
	}
	return recs, errs
}

func TestReadPairs(t *testing.T) {
	cases := []struct {
		name, in string
		o        ReadOptions
		want     []Pair
		errs     []string
	}{
		{name: "two columns", in: "The owl sings.\tEl búho canta.\nBlue kites fly.\tLas cometas azules vuelan.\n",
			want: []Pair{{"The owl sings.", "El búho canta.", "", 1}, {"Blue kites fly.", "Las cometas azules vuelan.", "", 2}}},
		{name: "three columns, CRLF, no final newline", in: "Paint the door!\t¡Pinta la puerta!\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (ann)\r\nSeven pears.\tSiete peras.\tCC-BY 2.0",
			want: []Pair{{"Paint the door!", "¡Pinta la puerta!", "CC-BY 2.0 (France) Attribution: tatoeba.org #1 (ann)", 1}, {"Seven pears.", "Siete peras.", "CC-BY 2.0", 2}}},
		{name: "BOM and blank lines", in: "\ufeffA.\tB.\n\n  \nC.\tD.\n",
			want: []Pair{{"A.", "B.", "", 1}, {"C.", "D.", "", 4}}},
		{name: "bad lines keep going", in: "only one column\nA.\tB.\na\tb\tc\td\n\tempty source\nE.\tF.\n", o: ReadOptions{Name: "spa.txt"},
			want: []Pair{{"A.", "B.", "", 2}, {"E.", "F.", "", 5}},
			errs: []string{
				"spa.txt:1: want 2 or 3 tab-separated columns (source, target[, attribution]), got 1",
				"spa.txt:3: want 2 or 3 tab-separated columns (source, target[, attribution]), got 4",
				"spa.txt:4: empty sentence in the pair"}},
		{name: "invalid UTF-8", in: "A.\tB.\nZo\xe9 paints.\tZoé pinta.\nC.\tD.\n", o: ReadOptions{Name: "x.tsv"},
			want: []Pair{{"A.", "B.", "", 1}, {"C.", "D.", "", 3}},
			errs: []string{"x.tsv:2: invalid UTF-8 at column 3 (byte 3, 0xe9); fix the file or set ReplaceInvalidUTF8"}},
		{name: "invalid UTF-8 replaced", in: "Zo\xe9 paints.\tZoé pinta.\n", o: ReadOptions{ReplaceInvalidUTF8: true},
			want: []Pair{{"Zo\uFFFD paints.", "Zoé pinta.", "", 1}}},
		{name: "long line", in: "A.\tB.\n" + strings.Repeat("x", 300) + "\tY\nC.\tD.\n", o: ReadOptions{MaxLineBytes: 100},
			want: []Pair{{"A.", "B.", "", 1}, {"C.", "D.", "", 3}},
			errs: []string{"line 2: line too long: more than 100 bytes (the limit is 100; set MaxLineBytes to raise it)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := collect(ReadPairs(strings.NewReader(tc.in), tc.o))
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.errs, errs)
		})
	}
}

func TestRecordErrorsAreTyped(t *testing.T) {
	for _, err := range ReadPairs(strings.NewReader("a\n\xff\tb\n"), ReadOptions{Name: "f"}) {
		var re *RecordError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "f", re.File)
		if re.Line == 2 {
			assert.ErrorIs(t, err, ErrInvalidUTF8)
		}
	}
}

func TestReadersStopOnIOError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("A.\tB.\n"), iotest.ErrReader(errors.New("disk on fire")))
	got, errs := collect(ReadPairs(r, ReadOptions{Name: "f"}))
	assert.Len(t, got, 1)
	assert.Equal(t, []string{"f: line 2: disk on fire"}, errs)
}

func TestReadersBreakEarly(t *testing.T) {
	n := 0
	for range ReadPairs(strings.NewReader("a\nb\nc\n"), ReadOptions{}) { // three errors
		n++
		break
	}
	assert.Equal(t, 1, n)
}

func TestReadLinesLong(t *testing.T) {
	// A line of 3 MB passes with the default limit and is returned whole.
	long := strings.Repeat("abcdefghij", 300_000)
	got, errs := collect(ReadLines(strings.NewReader("first\r\n"+long+"\nlast"), ReadOptions{}))
	require.Empty(t, errs)
	require.Len(t, got, 3)
	assert.Equal(t, Line{"first", 1}, got[0])
	assert.Equal(t, len(long), len(got[1].Text))
	assert.Equal(t, Line{"last", 3}, got[2])

	// Over the limit it is reported and skipped; the reader goes on.
	got, errs = collect(ReadLines(strings.NewReader("first\n"+long+"\nlast\n"), ReadOptions{MaxLineBytes: 1 << 20}))
	assert.Equal(t, []Line{{"first", 1}, {"last", 3}}, got)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], "line 2: line too long")

	// Exactly at the limit is fine, one byte more is not.
	got, errs = collect(ReadLines(strings.NewReader("12345\n123456\n"), ReadOptions{MaxLineBytes: 5}))
	assert.Equal(t, []Line{{"12345", 1}}, got)
	assert.Len(t, errs, 1)
}

// TestReadLines100MB checks the acceptance bar: a single 100 MB line is
// read whole (the default limit is 128 MiB). Lines over the limit are
// covered by TestReadLinesLong with a small limit.
func TestReadLines100MB(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few hundred MB")
	}
	const n = 100 << 20
	r := io.MultiReader(&repeatReader{b: 'x', n: n}, strings.NewReader("\nend\n"))
	var lens []int
	for l, err := range ReadLines(r, ReadOptions{}) {
		require.NoError(t, err)
		lens = append(lens, len(l.Text))
	}
	assert.Equal(t, []int{n, 3}, lens)

}

type repeatReader struct {
	b     byte
	n     int
	chunk []byte
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	if len(r.chunk) == 0 {
		r.chunk = bytes.Repeat([]byte{r.b}, 64<<10)
	}
	k := copy(p[:min(len(p), r.n)], r.chunk)
	r.n -= k
	return k, nil
}

func TestReadLabeled(t *testing.T) {
	type ex struct {
		Text, Label string
		Line        int
	}
	cases := []struct {
		name, in string
		o        LabeledOptions
		want     []ex
		errs     []string
	}{
		{name: "imdb tsv, quotes are plain", in: "A \"great\" film.<br /><br />Yes\t1\nBad, \"bad\".\t0\n",
			want: []ex{{"A \"great\" film.<br /><br />Yes", "1", 1}, {"Bad, \"bad\".", "0", 2}}},
		{name: "glue-style header by name", in: "sentence\tlabel\ngrey rooms , grey jokes \t0\na bright , brave romp \t1\n",
			o:    LabeledOptions{Header: true, Text: "sentence", Label: "label"},
			want: []ex{{"grey rooms , grey jokes ", "0", 2}, {"a bright , brave romp ", "1", 3}}},
		{name: "header by index, label first", in: "label,text\npos,nice\nneg,awful\n",
			o:    LabeledOptions{CSV: true, Header: true, Text: "1", Label: "0"},
			want: []ex{{"nice", "pos", 2}, {"awful", "neg", 3}}},
		{name: "header name case-insensitive", in: "ID,Review,Sentiment\n1,ok,POS\n",
			o:    LabeledOptions{CSV: true, Header: true, Text: "review", Label: "SENTIMENT"},
			want: []ex{{"ok", "POS", 2}}},
		{name: "csv quoting", in: "\"Hello, world\",1\n\"She said \"\"hi\"\"\",0\nplain,1\n\"multi\nline\",1\n\"\",0\n",
			o:    LabeledOptions{CSV: true},
			want: []ex{{"Hello, world", "1", 1}, {`She said "hi"`, "0", 2}, {"plain", "1", 3}, {"multi\nline", "1", 4}, {"", "0", 6}}},
		{name: "csv bad quotes", in: "\"oops\"x,1\nok,0\n\"never closed,1\n", o: LabeledOptions{CSV: true, ReadOptions: ReadOptions{Name: "r.csv"}},
			want: []ex{{"ok", "0", 2}},
			errs: []string{`r.csv:1: unexpected "x" after a closing quote (a quote inside a quoted field is written "")`, "r.csv:3: quoted field not closed before the end of the file"}},
		{name: "csv semicolon", in: "a;b\n\"x;y\";1\n", o: LabeledOptions{CSV: true, Comma: ';', Header: true, Text: "a", Label: "b"},
			want: []ex{{"x;y", "1", 2}}},
		{name: "last column label (uci)", in: "Sturdy lid, fair price.\t1\nBroke in a week\tsadly\t0\n", o: LabeledOptions{Label: "-1"},
			want: []ex{{"Sturdy lid, fair price.", "1", 1}, {"Broke in a week", "0", 2}}},
		{name: "no label", in: "just text\nmore\n", o: LabeledOptions{Label: NoLabel},
			want: []ex{{"just text", "", 1}, {"more", "", 2}}},
		{name: "too few columns", in: "a\t1\nno label here\nb\t0\n", o: LabeledOptions{ReadOptions: ReadOptions{Name: "t.tsv"}},
			want: []ex{{"a", "1", 1}, {"b", "0", 3}},
			errs: []string{"t.tsv:2: label column 1 missing: the row has 1 columns"}},
		{name: "missing header column", in: "text\tlabel\na\t1\n", o: LabeledOptions{Header: true, Text: "review"},
			errs: []string{"line 1: no column \"review\" in the header (columns: text, label)"}},
		{name: "name without header", in: "a\t1\n", o: LabeledOptions{Text: "text"},
			errs: []string{`corpora: column "text" is a name, but the file has no header (set Header, or give a 0-based index)`}},
		{name: "empty with header", in: "", o: LabeledOptions{Header: true},
			errs: []string{"no header: the file is empty"}},
		{name: "invalid utf-8 replaced", in: "caf\xe9\t1\n", o: LabeledOptions{ReadOptions: ReadOptions{ReplaceInvalidUTF8: true}},
			want: []ex{{"caf\uFFFD", "1", 1}}},
		{name: "label trimmed, CRLF", in: "x\t 1 \r\n", want: []ex{{"x", "1", 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, errs := collect(ReadLabeled(strings.NewReader(tc.in), tc.o))
			var got []ex
			for _, r := range recs {
				got = append(got, ex{r.Text, r.Label, r.Line})
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.errs, errs)
		})
	}
}

func TestReadGLUE(t *testing.T) {
	recs, errs := collect(ReadGLUE(strings.NewReader("sentence\tlabel\na lantern of a movie . \t1\nbad \t0\n"), ReadOptions{Name: "train.tsv"}))
	require.Empty(t, errs)
	require.Len(t, recs, 2)
	assert.Equal(t, Example{Text: "a lantern of a movie . ", Label: "1", File: "train.tsv", Line: 2}, recs[0])

	// GLUE test files have no label column.
	recs, errs = collect(ReadGLUE(strings.NewReader("index\tsentence\n0\tan odd patchwork .\n"), ReadOptions{}))
	require.Empty(t, errs)
	assert.Equal(t, []Example{{Text: "an odd patchwork .", Line: 2}}, recs)

	// A file without the header is an error naming the problem.
	_, errs = collect(ReadGLUE(strings.NewReader("good\t1\n"), ReadOptions{Name: "x.tsv"}))
	assert.Equal(t, []string{`x.tsv:1: no column "sentence" in the header (columns: good, 1)`}, errs)
}

func TestReadJSONL(t *testing.T) {
	in := `{"text": "great", "label": 1}
{"text": "meh", "label": "neg", "extra": [1,2]}

{"label": true, "text": "yes"}
{"text": 5, "label": 1}
{"text": "no label"}
[1, 2]
{"text": "bad json",
null
{"text": "obj label", "label": {"a": 1}}
{"text": "x", "label": null}
{"text": "last", "label": -0.5}
`
	recs, errs := collect(ReadJSONL(strings.NewReader(in), JSONLOptions{ReadOptions: ReadOptions{Name: "d.jsonl"}}))
	var got []string
	for _, r := range recs {
		got = append(got, r.Text+"|"+r.Label)
		assert.Equal(t, "d.jsonl", r.File)
	}
	assert.Equal(t, []string{"great|1", "meh|neg", "yes|true", "last|-0.5"}, got)
	assert.Equal(t, []int{1, 2, 4, 12}, []int{recs[0].Line, recs[1].Line, recs[2].Line, recs[3].Line})
	require.Len(t, errs, 7)
	assert.Equal(t, `d.jsonl:5: field "text" is not a string`, errs[0])
	assert.Equal(t, `d.jsonl:6: no field "label"`, errs[1])
	assert.Equal(t, `d.jsonl:7: not a JSON object`, errs[2])
	assert.True(t, strings.HasPrefix(errs[3], "d.jsonl:8: bad JSON: "), errs[3])
	assert.Equal(t, `d.jsonl:9: not a JSON object`, errs[4])
	assert.Equal(t, `d.jsonl:10: field "label" is not a string, number or boolean`, errs[5])
	assert.Equal(t, `d.jsonl:11: no field "label"`, errs[6])
}

func TestReadJSONLFields(t *testing.T) {
	in := `{"review": {"body": "nice", "stars": 5}, "meta.lang": "en"}` + "\n"
	recs, errs := collect(ReadJSONL(strings.NewReader(in), JSONLOptions{Text: "review.body", Label: "review.stars"}))
	require.Empty(t, errs)
	assert.Equal(t, "nice", recs[0].Text)
	assert.Equal(t, "5", recs[0].Label)

	recs, errs = collect(ReadJSONL(strings.NewReader(in), JSONLOptions{Text: "meta.lang", Label: NoLabel}))
	require.Empty(t, errs)
	assert.Equal(t, "en", recs[0].Text)

	_, errs = collect(ReadJSONL(strings.NewReader(in), JSONLOptions{Text: "review.body.x"}))
	assert.Equal(t, []string{`line 1: no field "review.body.x" ("review.body" is not an object)`}, errs)
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

func TestReadFolder(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"pos/10_9.txt":      "Loved it.\n",
		"pos/2_7.txt":       "\ufeffGood.",
		"pos/more/5_10.txt": "Nested.",
		"pos/.DS_Store":     "junk",
		"neg/3_1.txt":       "Awful.",
		"neg/bad_utf8.txt":  "line one\nline tw\xff\n",
		"neg/readme":        "no rating",
		"unsup/0_0.txt":     "unlabelled",
		"neg/big_1.txt":     strings.Repeat("z", 2000),
	})
	recs, errs := collect(ReadFolder(root, FolderOptions{ReadOptions: ReadOptions{MaxLineBytes: 1000}}))
	var got []string
	for _, r := range recs {
		got = append(got, r.Label+" "+r.File+" "+r.ID+" "+strconv.Itoa(r.Rating)+" "+r.Text)
	}
	assert.Equal(t, []string{
		"neg neg/3_1.txt 3 1 Awful.",
		"neg neg/readme readme 0 no rating",
		"pos pos/10_9.txt 10 9 Loved it.",
		"pos pos/2_7.txt 2 7 Good.",
		"pos pos/more/5_10.txt 5 10 Nested.",
	}, got)
	assert.Equal(t, []string{
		"neg/bad_utf8.txt:2: invalid UTF-8 at column 8 (byte 8, 0xff); fix the file or set ReplaceInvalidUTF8",
		"neg/big_1.txt: line too long: the file has 2000 bytes (the limit is 1000)",
	}, errs)

	// Chosen classes, in the given order, unsorted listing.
	recs, errs = collect(ReadFolder(root, FolderOptions{Classes: []string{"unsup", "pos"}, Unsorted: true}))
	assert.Empty(t, errs)
	assert.Len(t, recs, 4)
	assert.Equal(t, "unsup", recs[0].Label)

	// An aclImdb root is explained.
	writeFiles(t, filepath.Join(root, "acl"), map[string]string{"train/pos/1_8.txt": "x", "test/neg/2_1.txt": "y"})
	_, errs = collect(ReadFolder(filepath.Join(root, "acl"), FolderOptions{}))
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], "holds train/ and test/ rather than class folders")

	// A missing root or class is an error that ends the sequence.
	_, errs = collect(ReadFolder(filepath.Join(root, "nope"), FolderOptions{}))
	require.Len(t, errs, 1)
	_, errs = collect(ReadFolder(root, FolderOptions{Classes: []string{"pos", "nope"}}))
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], "class folder")
}

func TestReadFolderUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can read every file")
	}
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"pos/1_8.txt": "a", "pos/2_8.txt": "b"})
	require.NoError(t, os.Chmod(filepath.Join(root, "pos", "1_8.txt"), 0))
	recs, errs := collect(ReadFolder(root, FolderOptions{}))
	assert.Len(t, recs, 1)
	assert.Equal(t, []string{"pos/1_8.txt: permission denied"}, errs)
}
