// Package sentiment is rnnkit's review classifier (the many-to-one shape): a
// tokenizer (word-level or BPE) feeds an embedding, a stacked, optionally
// bidirectional LSTM or GRU from package rnn, a pooling over time, and a
// Linear layer with softmax over two or more classes (binary polarity,
// star ratings, any class names).
//
// The module is, in PyTorch terms:
//
//	embedding = nn.Embedding(vocab, embedding, padding_idx=0)
//	rnn       = nn.LSTM(embedding, hidden, layers, bidirectional=..., dropout=...)  # or nn.GRU
//	attn      = nn.Linear(D*hidden, 1)                 # only with "attention" pooling
//	fc        = nn.Linear(len(pools)*D*hidden, classes)
//
// with those state_dict names in the model file (D is 2 when bidirectional).
// sentiment/testdata/torch_parity.py defines this module and loads a model
// file into it; TestTorchParity checks rnnkit against it.
// The features fed to fc are the poolings of the top layer's outputs
// out: (T, B, D*hidden) over each review's real steps, concatenated in the
// order of Config.Pooling:
//
//	max        element-wise max over t < len
//	mean       mean over t < len
//	last       forward half at t = len-1, backward half at t = 0 (the final states)
//	attention  Σ_t α_t·out_t with α = softmax_t(attn(out_t)) over t < len
//
// # Invariants
//
//   - Padding never leaks: a batch of reviews of different lengths is run with
//     per-review lengths (packed-sequence semantics of rnn.Seq.Forward), and
//     every pooling looks only at t < len. A review classified alone and in a
//     ragged batch gets the same probabilities (up to float rounding).
//   - Text is prepared identically in training and inference by
//     Model.Encode: HTML line breaks ("<br />", as in the IMDB files) become
//     spaces, the tokenizer runs, and the ids are truncated to Config.MaxLen
//     tokens by the policy Config.Truncate (see Truncate). An empty review
//     (no tokens) is read as a single <unk>.
//   - A loaded Model is read-only during prediction and evaluation: Predict,
//     PredictBatch and Evaluate may be called from many goroutines at once
//     (each call takes its own workspace from a pool). Training mutates the
//     Model; do not predict with it while Train runs.
//   - Library code never prints or exits; progress is reported through the
//     Train callback.
//
// # Truncation policy
//
// Reviews longer than MaxLen tokens (default 400) are cut by Config.Truncate:
// "head" keeps the first MaxLen tokens; "tail" keeps the last MaxLen;
// "head+tail" (the default) keeps the first MaxLen/4 and the last
// MaxLen-MaxLen/4 tokens, since reviews tend to state the verdict at the end
// (Sun et al. 2019 found head+tail best on IMDB). The same cut is applied in
// training, evaluation and classification.
package sentiment
