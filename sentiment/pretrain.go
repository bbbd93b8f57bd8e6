package sentiment

import (
	"context"
	"fmt"

	"github.com/rnnkit/rnnkit/embed"
)

// PretrainEmbedding initialises the embedding with word2vec skip-gram
// vectors (embed.TrainSentences) learnt from texts, which may include
// unlabelled reviews, tokenized by the model's own tokenizer (whole reviews,
// no truncation), so the vectors line up with the vocabulary exactly.
// opt.Dim is set to the embedding width. Rows of words seen fewer than
// opt.MinCount times keep their values. It returns how many rows were set.
func (m *Model) PretrainEmbedding(ctx context.Context, texts []string, opt embed.Word2VecOptions, progress func(embed.Progress)) (int, error) {
	opt.Dim = m.Config.Embedding
	sents := make([][]int32, len(texts))
	for i, t := range texts {
		sents[i] = m.Tok.Encode(Clean(t))
	}
	w2v, err := embed.TrainSentences(ctx, sents, m.Vocab(), opt, progress)
	if err != nil {
		return 0, fmt.Errorf("sentiment: word2vec pretraining: %w", err)
	}
	return m.LoadVectors(&w2v.Vectors)
}
