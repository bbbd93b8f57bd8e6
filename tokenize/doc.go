// Package tokenize turns text into token ids and back for rnnkit's models.
//
// Three tokenizers are built here, each behind the Tokenizer interface:
//
//   - Rune: one token per Unicode code point (character-level models).
//   - Word: one token per word or punctuation mark, with a detokenising
//     Decode ("¿Dónde está?" survives the round trip).
//   - BPE: byte-pair encoding over Metaspace ("▁") pre-tokens, with a
//     deterministic trainer of our own.
//
// Invariants, true of every tokenizer this package builds:
//
//   - The special tokens sit at fixed ids: Pad=0 "<pad>", Unk=1 "<unk>",
//     BOS=2 "<s>", EOS=3 "</s>". Encode never adds them; a literal "<s>" in
//     the text is matched as the special token, as HF and sugarme do.
//   - Encode never panics: invalid UTF-8 is replaced by U+FFFD first, and a
//     character outside the vocabulary becomes Unk.
//   - Offsets are byte offsets into the text given to EncodeOffsets;
//     text[start:end] is the text the token came from (a prepended "▁" has an
//     empty range, a "▁" that replaced a space covers that space).
//   - MarshalJSON writes a HF tokenizer.json that github.com/sugarme/tokenizer
//     (pretrained.FromReader) and HF tokenizers read back, and that encodes to
//     the same ids there (tested against sugarme).
//   - Training is deterministic: the same corpus and options give
//     byte-identical tokenizer.json.
//   - Tokenizers are immutable after construction and safe for concurrent
//     use.
//
// Encoding is implemented here rather than through sugarme, which runs at
// about 0.1 MB/s; Load still accepts any tokenizer.json sugarme can read,
// through a slower generic wrapper. Corpora are encoded once and cached as
// ids (EncodeCached).
//
// The package never prints, logs or exits; errors are returned.
package tokenize
