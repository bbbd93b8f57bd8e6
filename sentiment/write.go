package sentiment

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteExamples writes labelled examples in a layout ReadExamples reads
// back with the default columns: FormatTSV (text, a tab, the label name;
// no header, no quoting, so a text with a tab or a line break is an
// error), FormatCSV (RFC 4180, any text) or FormatJSONL ({"text": ...,
// "label": ...} per line). labels names the classes (Prepared.Labels).
func WriteExamples(w io.Writer, ex []Example, labels []string, format string) error {
	name := func(i int, e Example) (string, error) {
		if e.Label < 0 || e.Label >= len(labels) {
			return "", fmt.Errorf("sentiment: example %d has class %d of %d", i+1, e.Label, len(labels))
		}
		return labels[e.Label], nil
	}
	bw := bufio.NewWriter(w)
	switch format {
	case FormatTSV:
		for i, e := range ex {
			l, err := name(i, e)
			if err != nil {
				return err
			}
			if strings.ContainsAny(e.Text, "\t\r\n") || strings.ContainsAny(l, "\t\r\n") {
				return fmt.Errorf("sentiment: example %d holds a tab or a line break, which TSV cannot hold; write CSV or JSONL", i+1)
			}
			bw.WriteString(e.Text)
			bw.WriteByte('\t')
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
	case FormatCSV:
		cw := csv.NewWriter(bw)
		for i, e := range ex {
			l, err := name(i, e)
			if err != nil {
				return err
			}
			if err := cw.Write([]string{e.Text, l}); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	case FormatJSONL:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for i, e := range ex {
			l, err := name(i, e)
			if err != nil {
				return err
			}
			if err := enc.Encode(struct {
				Text  string `json:"text"`
				Label string `json:"label"`
			}{e.Text, l}); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("sentiment: cannot write format %q (want %s, %s or %s)", format, FormatTSV, FormatCSV, FormatJSONL)
	}
	return bw.Flush()
}
