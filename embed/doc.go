// Package embed holds rnnkit's word embeddings: the embedding table every
// application uses for token lookup, pretrained vector files, and a word2vec
// trainer with nearest-neighbour and analogy queries.
//
// Conventions, stated once:
//
//   - float32, row-major. A Table's weight is the PyTorch nn.Embedding
//     parameter "<prefix>weight" with shape (Vocab, Dim); row i is the vector
//     of token id i. Vectors.Data is (len(Words), Dim) the same way.
//   - Token ids are int32 and index rows directly. An id outside [0, Vocab) is
//     a programmer error (callers validate their data) and panics.
//   - Table.Forward writes dst; Table.Backward accumulates (+=) into the
//     weight's gradient, touching only the rows of the ids given (sparse), and
//     never the padding row, which stays zero.
//   - Nothing in Forward or Backward allocates.
//   - Bad vector files return errors naming the file and the line (text
//     formats) or record (binary format); files are streamed, never held in
//     memory twice. Writes are atomic (temp file, fsync, rename).
//   - Train is word2vec's skip-gram with negative sampling (Mikolov et al.
//     2013, word2vec.c): unigram^0.75 noise, frequent-word subsampling, linear
//     learning-rate decay, a dynamic window, lock-free (Hogwild) updates from
//     Threads goroutines. With Threads > 1 runs are not bit-reproducible.
//
// Vector file formats:
//
//	Word2VecText    "N D" header line, then "word v1 ... vD" per line (also fastText .vec)
//	Word2VecBinary  "N D\n" header, then per word: "word " + D little-endian float32 + "\n"
//	GloVe           no header, "word v1 ... vD" per line
package embed
