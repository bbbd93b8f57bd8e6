// Package corpora knows the standard text data sets by name, fetches or
// imports them into a local cache, and reads their real formats as streams.
//
// # Registry and cache
//
// [All] and [Lookup] describe each named corpus: canonical URL, sha256 (where
// pinned), licence, attribution and archive layout. A [Cache] holds one folder
// per corpus under [CacheDir] (os.UserCacheDir()/rnnkit/corpora, or $RNNKIT_CACHE),
// each with a manifest.json ([Manifest]). [Cache.Fetch] downloads with HTTP
// Range resume, checks the sha256, renames atomically and unpacks zip and
// tar.gz archives with path-traversal and size guards (MaxUnpacked).
// Concurrent fetches of one corpus, also from several processes, are
// serialised by a lock file. [Cache.Import] registers
// a local copy by symlink (or copy). [Cache.Path] returns the registered file
// or folder.
//
// # Readers
//
// [ReadLines], [ReadPairs], [ReadLabeled] (TSV/CSV), [ReadGLUE], [ReadJSONL]
// and [ReadFolder] read the real formats; [ReadExamples] picks the right one
// for a sentiment corpus path (folder, JSONL, GLUE TSV, headerless TSV).
// Every reader returns an iter.Seq2[T, error] and streams: it holds one line
// (or one file, for folder layouts) at a time, never the whole input. Each
// record carries its 1-based source line (and file) for error messages.
//
// Errors come in two kinds. A *[RecordError] names one bad record (file:line,
// what is wrong); the sequence continues with the next record, so a caller
// may log it and go on, or stop by breaking out of the loop. Any other error
// (an I/O error) is the last value of the sequence.
//
// Lines longer than ReadOptions.MaxLineBytes (default [DefaultMaxLineBytes],
// 128 MiB) are reported as a *RecordError and skipped without being buffered.
// Invalid UTF-8 is a *RecordError unless ReadOptions.ReplaceInvalidUTF8 is
// set, in which case each bad byte sequence becomes U+FFFD.
//
// # Splits
//
// [Split] (seeded shuffle, exact sizes), [HashSplit] (stable per item, for
// streams), [GroupedSplit] (all items whose normalised key is equal land in
// the same part, e.g. every translation of one English sentence) and
// [ContiguousSplit] / [SplitText] (the customary "last 10%" split of a plain
// text) are all deterministic: the same input and seed give the same split on
// every platform and Go version, because the hash and shuffle are defined
// here (FNV-1a and splitmix64), not borrowed from math/rand.
//
// This package never prints, logs or exits; progress is reported through
// callbacks.
package corpora
