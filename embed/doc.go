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
//
// Measured (IMDB train reviews, 5.96M words, lowercased and tokenised by
// AppendWords; dim 100, window 5, neg 5, minCount 5, 5 epochs, 2 threads, on a
// 2-core machine shared with other jobs, load average 15-24): Train used 92 s
// of CPU (wall 695 s); "fasttext skipgram ... -minn 0 -maxn 0" used about
// 415 s of CPU (wall 2106 s). Wall times there measure the machine's load,
// not the trainers. The kernels are AVX2+FMA assembly with Go fallbacks; the
// noise table is shuffled once and read sequentially (random reads of the
// 40 MB table cost 2.8x).
package embed
