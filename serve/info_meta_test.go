package serve

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// /v1/models shows one spelling of each metadata key, whichever the file
// uses: "licence" and "training_command" appear as "license" and
// "train_command".
func TestSplitMetaOneSpelling(t *testing.T) {
	q, rest := splitMeta(map[string]string{"licence": "CC BY", "training_command": "rnnkit train", "quality.val_bleu": "40", "trained_on": "x"})
	require.Equal(t, map[string]string{"val_bleu": "40"}, q)
	require.Equal(t, map[string]string{"license": "CC BY", "train_command": "rnnkit train", "trained_on": "x"}, rest)
	_, rest = splitMeta(map[string]string{"license": "a", "licence": "b"})
	require.Equal(t, map[string]string{"license": "a"}, rest)
}
