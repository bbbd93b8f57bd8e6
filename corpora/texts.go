package corpora

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"strings"
)

// Formats of a file of unlabelled texts, for TextOptions.Format.
const (
	TextAuto  = "auto"  // by the name's extension (see TextFormat)
	TextLines = "lines" // one text per line, the whole line
	TextTSV   = "tsv"   // tab-separated columns, no quoting (as ReadLabeled)
	TextCSV   = "csv"   // RFC 4180 comma-separated values (as ReadLabeled with CSV)
	TextJSONL = "jsonl" // one JSON object per line (as ReadJSONL)
)

// ErrEmptyText is wrapped by the *RecordError of a record whose text is
// empty or only white space, such as a blank line.
var ErrEmptyText = errors.New("empty text")

// TextOptions select the text of each record of a file of unlabelled texts
// (reviews to classify, sentences to translate).
type TextOptions struct {
	ReadOptions
	// Format is TextLines, TextTSV, TextCSV, TextJSONL, or TextAuto ("" too):
	// see TextFormat.
	Format string
	// Text selects the text: a column name (with Header) or 0-based index,
	// negative from the end, for TSV/CSV (default "0"); a field name for
	// JSONL, dots reaching into objects (default "text"). The same
	// selection as ReadLabeled's and ReadJSONL's.
	Text string
	// Header says the first line of a TSV/CSV file names the columns.
	Header bool
}

// TextFormat resolves o.Format for a file called name (the name alone is
// looked at): TextAuto picks by extension, .csv for CSV, .jsonl, .ndjson
// and .json for JSONL, .tsv for TSV, and otherwise TSV when a column is
// selected (Text or Header set) and whole lines when not. An unknown format
// is an error.
func TextFormat(name string, o TextOptions) (string, error) {
	f := strings.ToLower(o.Format)
	switch f {
	case TextLines, TextTSV, TextCSV, TextJSONL:
		return f, nil
	case "", TextAuto:
	default:
		return "", fmt.Errorf("corpora: unknown text format %q (want auto, lines, tsv, csv or jsonl)", o.Format)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return TextCSV, nil
	case ".jsonl", ".ndjson", ".json":
		return TextJSONL, nil
	case ".tsv":
		return TextTSV, nil
	}
	if o.Text != "" || o.Header {
		return TextTSV, nil
	}
	return TextLines, nil
}

// textError is a record's problem with its own message and a sentinel to
// match with errors.Is.
type textError struct {
	msg string
	err error
}

func (e *textError) Error() string { return e.msg }
func (e *textError) Unwrap() error { return e.err }

// ReadTexts streams one text per record of r, in the format TextFormat
// chooses for o.Name, and keeps every record in its place: each line (each
// record, for CSV with quoted line breaks) but a header gives exactly one
// value, an Example with Text, File (o.Name) and Line, or a *RecordError
// naming the line. A blank line, an empty text, a NUL byte (binary input),
// invalid UTF-8, a too long line and a missing column or field are
// *RecordErrors, and reading goes on. An I/O error, a header without the
// selected column and a missing header are other errors, which end the
// sequence.
// Unlike ReadLabeled and ReadJSONL, blank lines are not skipped, so that a
// caller writing one answer per record can keep the answers aligned with
// the input lines.
func ReadTexts(r io.Reader, o TextOptions) iter.Seq2[Example, error] {
	return func(yield func(Example, error) bool) {
		format, err := TextFormat(o.Name, o)
		if err != nil {
			yield(Example{}, err)
			return
		}
		text := o.Text
		if text == "" {
			text = "0"
			if format == TextJSONL {
				text = "text"
			}
		}
		lr := newLineReader(r, o.ReadOptions)
		rr := &rowReader{lr: lr, comma: "\t", csv: format == TextCSV, max: lr.max}
		if rr.csv {
			rr.comma = ","
		}
		col, resolved := 0, true
		if format == TextTSV || format == TextCSV {
			if o.Header {
				resolved = false // the column is found in the header
			} else if col, err = columnIndex(text, nil); err != nil {
				yield(Example{}, err)
				return
			}
		}
		for {
			s, n, err := lr.next()
			if err == io.EOF {
				if !resolved {
					yield(Example{}, headerError(&RecordError{File: o.Name, Err: errors.New("no header: the file is empty")}))
				}
				return
			}
			if err != nil {
				if !yieldErr(err, yield) {
					return
				}
				continue
			}
			blank := strings.TrimSpace(s) == ""
			if !resolved {
				if blank {
					continue // blank lines before the header are not records
				}
				row, err := rr.row(s, n)
				if err == nil {
					col, err = columnIndex(text, row)
				}
				if err != nil {
					yield(Example{}, headerError(lr.errorf(n, err)))
					return
				}
				resolved = true
				continue
			}
			if blank {
				if !yield(Example{}, lr.errorf(n, &textError{"empty line", ErrEmptyText})) {
					return
				}
				continue
			}
			ex, err := textOf(rr, format, s, n, text, col)
			if err == nil && strings.IndexByte(ex.Text, 0) >= 0 {
				err = errors.New("NUL byte (binary input?); give UTF-8 text")
			}
			if err == nil && strings.TrimSpace(ex.Text) == "" {
				err = &textError{"empty text in " + what(format, text), ErrEmptyText}
			}
			if err != nil {
				var re *RecordError
				if !errors.As(err, &re) {
					err = lr.errorf(n, err)
				}
				if !yieldErr(err, yield) {
					return
				}
				continue
			}
			ex.File, ex.Line = o.Name, n
			if !yield(ex, nil) {
				return
			}
		}
	}
}

// headerError turns the *RecordError of a header into a plain error with
// its message: a header is not a record, and its error ends the sequence.
func headerError(re *RecordError) error { return errors.New(re.Error()) }

// row splits one line (and, for CSV, the continuation lines of a quoted
// field) into fields.
func (rr *rowReader) row(s string, n int) ([]string, error) {
	if !rr.csv {
		return strings.Split(s, rr.comma), nil
	}
	return rr.parseCSV(s, n)
}

// textOf extracts the text of the record starting with line s (number n).
func textOf(rr *rowReader, format, s string, n int, text string, col int) (Example, error) {
	switch format {
	case TextLines:
		return Example{Text: s}, nil
	case TextJSONL:
		return parseJSONLine(s, text, NoLabel)
	}
	row, err := rr.row(s, n)
	if err != nil {
		return Example{}, err
	}
	t, ok := field(row, col)
	if !ok {
		return Example{}, fmt.Errorf("text column %s missing: the row has %d columns", text, len(row))
	}
	return Example{Text: t}, nil
}

func what(format, text string) string {
	switch format {
	case TextJSONL:
		return fmt.Sprintf("field %q", text)
	case TextTSV, TextCSV:
		return "column " + text
	}
	return "the line"
}
