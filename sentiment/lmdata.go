package sentiment

import (
	"errors"
	"fmt"
	"os"

	"github.com/rnnkit/rnnkit/corpora"
)

// Data preparation of a language-model run, as `rnnkit train lm` does it:
// the documents of each file (ReadDocs), of which a seeded share is held
// out for validation (LMData.Add).

// DocOptions select the documents of an unlabelled data file for ReadDocs.
type DocOptions struct {
	// Format is corpora.TextOptions' Format: "auto" (or "") by the
	// extension, "lines", "tsv", "csv" or "jsonl".
	Format string
	// Text selects the text: a TSV/CSV column name or 0-based index
	// (default 0), or a JSONL field (default "text").
	Text   string
	Header bool // TSV/CSV: the first row names the columns
	Limit  int  // read only the first Limit documents (0 = all)
	// MaxBad is how many bad records (wrong column count, invalid UTF-8,
	// a line over MaxReviewBytes...) are skipped before reading fails; 0
	// means 1000, negative means none.
	MaxBad int
}

// ErrNoDocuments is wrapped by ReadDocs' error for a file without a single
// document.
var ErrNoDocuments = errors.New("no documents found")

// BadRecordsError is ReadDocs' error when more records are bad than
// DocOptions.MaxBad allows: most likely the format or text column is not
// the file's.
type BadRecordsError struct {
	Err error // the bad record that was one too many (a *corpora.RecordError)
	Max int   // the bad records that were skipped
}

func (e *BadRecordsError) Error() string {
	return fmt.Sprintf("%v (more than %d bad records; is the format right?)", e.Err, e.Max)
}

func (e *BadRecordsError) Unwrap() error { return e.Err }

// ReadDocs reads the documents (reviews) of one unlabelled data file at
// path: plain text with one document a line, or the text column of TSV,
// CSV or JSONL records (corpora.ReadTexts), as DocOptions select. Blank
// records are left out; bad ones are skipped and returned as warnings (at
// most MaxBad; one more is a *BadRecordsError). A path that is not a
// regular file (a named pipe, a folder) is refused without opening it, and
// a file without documents is an error wrapping ErrNoDocuments. The
// warnings are returned with any error.
func ReadDocs(path string, o DocOptions) (docs []string, warnings []error, err error) {
	maxBad := o.MaxBad
	if maxBad == 0 {
		maxBad = 1000
	}
	maxBad = max(maxBad, 0)
	if err := corpora.CheckRegular(path); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	to := corpora.TextOptions{ReadOptions: corpora.ReadOptions{Name: path, MaxLineBytes: MaxReviewBytes},
		Format: o.Format, Text: o.Text, Header: o.Header}
	for ex, err := range corpora.ReadTexts(f, to) {
		var re *corpora.RecordError
		switch {
		case err == nil:
			docs = append(docs, ex.Text)
		case errors.Is(err, corpora.ErrEmptyText):
		case errors.As(err, &re) && re.Line > 0:
			if len(warnings) >= maxBad {
				return nil, warnings, &BadRecordsError{Err: err, Max: maxBad}
			}
			warnings = append(warnings, err)
		default:
			return nil, warnings, err
		}
		if o.Limit > 0 && len(docs) >= o.Limit {
			break
		}
	}
	if len(docs) == 0 {
		return nil, warnings, fmt.Errorf("%s: %w", path, ErrNoDocuments)
	}
	return docs, warnings, nil
}

// Add holds out valFrac of docs for validation, a seeded shuffle
// (corpora.Split with seed), and appends them to d.Val and the others, in
// their order, to d.Train. `rnnkit train lm` adds each data file's
// documents in turn, so that each file is split on its own. valFrac must
// be in [0, 1).
func (d *LMData) Add(docs []string, valFrac float64, seed uint64) {
	s := corpora.Split(len(docs), valFrac, 0, seed)
	for _, i := range s.Train {
		d.Train = append(d.Train, docs[i])
	}
	for _, i := range s.Validation {
		d.Val = append(d.Val, docs[i])
	}
}
