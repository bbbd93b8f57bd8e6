package corpora

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadExamplesDetects(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"reviews.tsv":        "A \"fine\" film.\t1\nA dull film.\t0\n",
		"glue.tsv":           "sentence\tlabel\na bright romp \t1\n",
		"glue_test.tsv":      "index\tsentence\n0\tan odd patchwork .\n",
		"uci.txt":            "Sturdy lid, fair price.\t1\n",
		"data.jsonl":         `{"text": "nice", "label": "pos"}` + "\n",
		"folder/pos/1_9.txt": "Loved it.",
		"folder/neg/2_2.txt": "Hated it.",
	})
	cases := map[string][]string{
		"reviews.tsv":   {"1|A \"fine\" film.", "0|A dull film."},
		"glue.tsv":      {"1|a bright romp "},
		"glue_test.tsv": {"|an odd patchwork ."},
		"uci.txt":       {"1|Sturdy lid, fair price."},
		"data.jsonl":    {"pos|nice"},
		"folder":        {"neg|Hated it.", "pos|Loved it."},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			recs, errs := collect(ReadExamples(filepath.Join(dir, name), ReadOptions{}))
			require.Empty(t, errs)
			var got []string
			for _, r := range recs {
				got = append(got, r.Label+"|"+r.Text)
			}
			assert.Equal(t, want, got)
		})
	}
	_, errs := collect(ReadExamples(filepath.Join(dir, "missing.tsv"), ReadOptions{}))
	assert.Len(t, errs, 1)

	p := filepath.Join(dir, "pairs.txt")
	writeFiles(t, dir, map[string]string{"pairs.txt": "The owl sings.\tEl búho canta.\nbad\n"})
	pairs, errs := collect(ReadPairsFile(p, ReadOptions{}))
	assert.Len(t, pairs, 1)
	assert.Equal(t, []string{p + ":2: want 2 or 3 tab-separated columns (source, target[, attribution]), got 1"}, errs)
}
