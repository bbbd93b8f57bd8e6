package sentiment

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rnnkit/rnnkit/corpora"
)

// Formats of labelled review data for ReadOptions.Format.
const (
	FormatAuto    = "auto"     // by what is at the path (see corpora.ReadExamples)
	FormatIMDBDir = "imdb-dir" // a folder per class: root/pos/*.txt, root/neg/*.txt
	FormatTSV     = "tsv"
	FormatCSV     = "csv"
	FormatJSONL   = "jsonl"
)

// MaxReviewBytes is the longest review (line, record or file) ReadExamples
// accepts: 10 MiB. Longer ones are reported as bad records and skipped.
const MaxReviewBytes = 10 << 20

// ReadOptions select the layout of a labelled data file.
type ReadOptions struct {
	Format string // FormatAuto ("" too), FormatIMDBDir, FormatTSV, FormatCSV or FormatJSONL
	// Text and Label select the text and label: a column name or 0-based
	// index for TSV/CSV (negative counts from the end), a field name for
	// JSONL (dots reach into objects). Defaults: TSV/CSV "0" and "-1"
	// ("review" and "label" style columns are found by name with Header),
	// JSONL "text" and "label".
	Text, Label string
	Header      bool // TSV/CSV: the first row names the columns
	// MaxBad is how many bad records (wrong column count, invalid UTF-8...)
	// are skipped before reading fails; 0 means 100, negative means none.
	MaxBad int
}

// RawExample is a review with its label as written in the data.
type RawExample struct {
	Text, Label string
}

// ReadExamples reads every labelled review at path. Bad records are skipped
// and returned as warnings (at most MaxBad; one more is an error). A path
// that is neither a folder nor a regular file (a named pipe) is refused
// without opening it. Texts keep their HTML; Encode cleans them.
func ReadExamples(path string, o ReadOptions) (ex []RawExample, warnings []error, err error) {
	maxBad := o.MaxBad
	if maxBad == 0 {
		maxBad = 100
	}
	seq, err := examples(path, o)
	if err != nil {
		return nil, nil, err
	}
	for e, err := range seq {
		if err != nil {
			var re *corpora.RecordError
			if errors.As(err, &re) && len(warnings) < maxBad {
				warnings = append(warnings, err)
				continue
			}
			if errors.As(err, &re) {
				return nil, warnings, fmt.Errorf("%v (more than %d bad records; is the format right?)", err, max(maxBad, 0))
			}
			return nil, warnings, err
		}
		if e.Label == e.Text || strings.TrimSpace(e.Label) == "" {
			// A row of one column: the label column "-1" is the text itself.
			err := &corpora.RecordError{File: e.File, Line: e.Line, Err: errors.New("no label (the row has one column)")}
			if len(warnings) >= maxBad {
				return nil, warnings, fmt.Errorf("%v (more than %d bad records; is the format right?)", err, max(maxBad, 0))
			}
			warnings = append(warnings, err)
			continue
		}
		ex = append(ex, RawExample{Text: e.Text, Label: e.Label})
	}
	if len(ex) == 0 {
		return nil, warnings, fmt.Errorf("%s: no labelled examples found", path)
	}
	return ex, warnings, nil
}

func examples(path string, o ReadOptions) (iter.Seq2[corpora.Example, error], error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		// A named pipe, socket or device: opening a pipe with no writer
		// would block forever.
		if err := corpora.CheckRegular(path); err != nil {
			return nil, err
		}
	}
	format := strings.ToLower(o.Format)
	if format == "" || format == FormatAuto {
		switch {
		case st.IsDir():
			format = FormatIMDBDir
		case o.Text != "" || o.Label != "" || o.Header:
			switch strings.ToLower(filepath.Ext(path)) {
			case ".csv":
				format = FormatCSV
			case ".jsonl", ".ndjson", ".json":
				format = FormatJSONL
			default:
				format = FormatTSV
			}
		case strings.EqualFold(filepath.Ext(path), ".csv"):
			format = FormatCSV
		default:
			return corpora.ReadExamples(path, corpora.ReadOptions{MaxLineBytes: MaxReviewBytes}), nil
		}
	}
	if format == FormatIMDBDir {
		if !st.IsDir() {
			return nil, fmt.Errorf("%s is not a folder; the imdb-dir format needs class folders such as pos/ and neg/", path)
		}
		return corpora.ReadFolder(path, corpora.FolderOptions{ReadOptions: corpora.ReadOptions{MaxLineBytes: MaxReviewBytes}}), nil
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder; the %s format needs a file", path, format)
	}
	open := func(read func(f *os.File) iter.Seq2[corpora.Example, error]) iter.Seq2[corpora.Example, error] {
		return func(yield func(corpora.Example, error) bool) {
			f, err := os.Open(path)
			if err != nil {
				yield(corpora.Example{}, err)
				return
			}
			defer f.Close()
			for e, err := range read(f) {
				if !yield(e, err) {
					return
				}
			}
		}
	}
	switch format {
	case FormatTSV, FormatCSV:
		lo := corpora.LabeledOptions{ReadOptions: corpora.ReadOptions{Name: path, MaxLineBytes: MaxReviewBytes}, CSV: format == FormatCSV,
			Header: o.Header, Text: o.Text, Label: o.Label}
		if lo.Label == "" {
			lo.Label = "-1"
			if o.Header {
				lo.Label = "label"
			}
		}
		if lo.Text == "" && o.Header {
			return nil, errors.New("with a header, name the text column (such as review)")
		}
		return open(func(f *os.File) iter.Seq2[corpora.Example, error] { return corpora.ReadLabeled(f, lo) }), nil
	case FormatJSONL:
		jo := corpora.JSONLOptions{ReadOptions: corpora.ReadOptions{Name: path, MaxLineBytes: MaxReviewBytes}, Text: o.Text, Label: o.Label}
		return open(func(f *os.File) iter.Seq2[corpora.Example, error] { return corpora.ReadJSONL(f, jo) }), nil
	}
	return nil, fmt.Errorf("unknown format %q (want auto, imdb-dir, tsv, csv or jsonl)", o.Format)
}

// canonical maps the usual spellings of binary polarity to the default
// model's class names.
func canonical(label string) string {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "0", "neg", "negative", "false":
		return "negative"
	case "1", "pos", "positive", "true":
		return "positive"
	}
	return strings.TrimSpace(label)
}

// ClassNames chooses the class names for raw labels: when every label is a
// spelling of binary polarity (0/1, neg/pos, negative/positive,
// false/true) the classes are "negative" and "positive"; otherwise they are
// the distinct labels, sorted numerically when all are numbers (star
// ratings) and by string otherwise.
func ClassNames(labels []string) []string {
	set := map[string]bool{}
	binary := true
	for _, l := range labels {
		c := canonical(l)
		if c != "negative" && c != "positive" {
			binary = false
		}
		set[strings.TrimSpace(l)] = true
	}
	if binary {
		return []string{"negative", "positive"}
	}
	names := make([]string, 0, len(set))
	numeric := true
	for l := range set {
		names = append(names, l)
		if _, err := strconv.ParseFloat(l, 64); err != nil {
			numeric = false
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if numeric {
			x, _ := strconv.ParseFloat(a, 64)
			y, _ := strconv.ParseFloat(b, 64)
			if c := cmp.Compare(x, y); c != 0 {
				return c
			}
		}
		return cmp.Compare(a, b)
	})
	return names
}

// LabelIndex returns the class index of a raw label among names (as chosen
// by ClassNames): an exact match, or for the binary names any spelling
// ClassNames accepts.
func LabelIndex(names []string, label string) (int, error) {
	l := strings.TrimSpace(label)
	if i := slices.Index(names, l); i >= 0 {
		return i, nil
	}
	if i := slices.Index(names, canonical(l)); i >= 0 {
		return i, nil
	}
	for i, n := range names {
		if strings.EqualFold(n, l) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("label %q is not one of the model's classes (%s)", label, strings.Join(names, ", "))
}

// ToExamples maps raw examples to class indices of names.
func ToExamples(raw []RawExample, names []string) ([]Example, error) {
	out := make([]Example, len(raw))
	for i, r := range raw {
		c, err := LabelIndex(names, r.Label)
		if err != nil {
			return nil, fmt.Errorf("example %d: %v", i+1, err)
		}
		out[i] = Example{Text: r.Text, Label: c}
	}
	return out, nil
}

// SplitExamples holds out round(valFrac·n) examples for validation by a
// seeded shuffle (corpora.Split); the same input and seed give the same
// split everywhere.
func SplitExamples(ex []Example, valFrac float64, seed uint64) (train, val []Example) {
	s := corpora.Split(len(ex), valFrac, 0, seed)
	return pick(ex, s.Train), pick(ex, s.Validation)
}

// pick returns ex[i] for each i of idx.
func pick(ex []Example, idx []int) []Example {
	out := make([]Example, 0, len(idx))
	for _, i := range idx {
		out = append(out, ex[i])
	}
	return out
}

// BlockSplitExamples holds out the last valFrac of each class's examples
// in input order, so that no film (or other source whose reviews are kept
// together, as in IMDB's files) is on both sides of the split: it drops
// the training examples just before each validation block and those that
// share rare names with the other classes' validation examples
// (corpora.BlockSplit with DefaultBlockOptions, keys from NameKeys). The
// report says what was dropped.
func BlockSplitExamples(ex []Example, valFrac float64) (train, val []Example, rep corpora.BlockReport) {
	classes := make([]int, len(ex))
	keys := make([][]string, len(ex))
	for i, e := range ex {
		classes[i], keys[i] = e.Label, corpora.NameKeys(e.Text)
	}
	s, rep := corpora.BlockSplit(classes, keys, valFrac, corpora.DefaultBlockOptions())
	return pick(ex, s.Train), pick(ex, s.Validation), rep
}
