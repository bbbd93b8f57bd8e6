// Package seq2seq is rnnkit's encoder-decoder translator with attention (the
// many-to-many shape): a bidirectional GRU or LSTM encoder over source
// subwords, a GRU or LSTM decoder that attends to the encoder outputs
// (additive Bahdanau, or Luong dot/general attention, from rnn.Attention)
// and predicts target subwords, one tokenizer per side.
//
// Shapes, stated once: sequences are time-major, (T, B, ·); a batch pads its
// sources to the longest (padding keys are masked out of the attention, the
// encoder runs with packed-sequence semantics) and its targets with ignored
// labels, so padding never changes a loss or a gradient.
//
// Train fits a Model to sentence pairs with length-bucketed batches,
// teacher forcing, label smoothing and validation BLEU; Translate decodes
// greedily or with beam search, batched, and returns the text, the tokens
// and the attention matrix; BLEU and ChrF reproduce sacreBLEU's default
// corpus metrics. A loaded Model is read-only during translation and
// evaluation and may serve several goroutines at once.
package seq2seq
