package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/rnnkit/rnnkit/corpora"
)

// Record is one unit of work: a whole file (classify --input) or one line
// or record of a file (Line > 0).
type Record struct {
	File string
	Line int
	Text string
}

// key is the record's identity, the order of the output inside a shard:
// the file, then the line number.
func (r Record) key() string { return fmt.Sprintf("%s\x00%012d", r.File, r.Line) }

// Output is one line of an output shard: Line is a JSON object; Key orders
// the lines inside the shard and picks the shard.
type Output struct {
	Key  string
	Line string
}

// deadOutput is the dead-letter line of a record: {"error", "file",
// "line"} (line for the records of a file only), the object `rnnkit
// classify --json` prints for a review it cannot classify, keys sorted.
func deadOutput(r Record, err error) Output {
	obj := map[string]any{"file": r.File, "error": err.Error()}
	if r.Line > 0 {
		obj["line"] = r.Line
	}
	return Output{Key: r.key(), Line: jsonLine(obj)}
}

// jsonLine encodes v as rnnkit's commands do: compact, "<", ">" and "&"
// not escaped, without the trailing newline.
func jsonLine(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain structs and maps of them are encoded
	}
	return strings.TrimSuffix(b.String(), "\n")
}

var (
	recordsOK   = beam.NewCounter("rnnkit", "records")
	recordsDead = beam.NewCounter("rnnkit", "dead_letters")
)

func init() {
	beam.RegisterType(reflect.TypeOf((*matchFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*readFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*shardFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*emptyShardsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*writeShardFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*groupFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeFor[Record]())
	beam.RegisterType(reflect.TypeFor[Output]())
}

// ---- input ----

// readMode is how a file is cut into records.
const (
	readWhole = "whole" // the whole file is one review (classify --input)
	readLines = "lines" // each line or TSV/CSV/JSONL record is one
)

// matchFn expands the input patterns into file paths, in name order. A
// local pattern may use ** for any number of folders, and a local folder
// stands for every file under it (hidden entries skipped, as by `rnnkit
// classify`). Other file systems (gs://) expand patterns with
// their own List; gs:// understands ** too.
type matchFn struct {
	Patterns []string
}

func (f *matchFn) ProcessElement(ctx context.Context, _ []byte, emit func(string)) error {
	for _, p := range f.Patterns {
		paths, err := matchPattern(ctx, p)
		if err != nil {
			return err
		}
		for _, q := range paths {
			emit(q)
		}
	}
	return nil
}

// isLocal reports whether p is a path on the local file system (no
// scheme such as gs://).
func isLocal(p string) bool { return !strings.Contains(p, "://") }

// matchPattern lists the files that pattern p stands for, sorted. No
// match is an error.
func matchPattern(ctx context.Context, p string) ([]string, error) {
	var paths []string
	if isLocal(p) {
		var err error
		if paths, err = matchLocal(p); err != nil {
			return nil, err
		}
	} else {
		fsys, err := filesystem.New(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %v", p, err)
		}
		defer fsys.Close()
		if paths, err = fsys.List(ctx, p); err != nil {
			return nil, fmt.Errorf("input %s: %v", p, err)
		}
		slices.Sort(paths)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("input %s: no files match", p)
	}
	return paths, nil
}

// matchLocal expands a local pattern: a folder gives every file under it;
// ** in a pattern matches any number of folders (hidden ones excepted),
// other elements are path.Match patterns of one name.
func matchLocal(p string) ([]string, error) {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return walk(p, nil)
	}
	segs := strings.Split(filepath.ToSlash(p), "/")
	i := slices.IndexFunc(segs, func(s string) bool { return s == "**" })
	if i < 0 {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %v", p, err)
		}
		var files []string
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
				files = append(files, f)
			}
		}
		return files, nil
	}
	for _, s := range segs[:i] {
		if strings.ContainsAny(s, "*?[") {
			return nil, fmt.Errorf("input %s: a wildcard before ** is not supported; start the pattern with a folder", p)
		}
	}
	root := filepath.FromSlash(strings.Join(segs[:i], "/"))
	if root == "" {
		root = "."
	}
	if i == 0 && strings.HasPrefix(p, "/") {
		root = "/"
	}
	return walk(root, segs[i:])
}

// walk lists the regular files under root, recursively and in name order,
// whose path inside root matches rest (nil: every file).
func walk(root string, rest []string) ([]string, error) {
	var out []string
	for f, err := range corpora.WalkFiles(root, corpora.WalkOptions{}) {
		if err != nil {
			var re *corpora.RecordError
			if errors.As(err, &re) {
				continue // not a regular file, a link to a folder: skipped as by rnnkit classify
			}
			return nil, err
		}
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return nil, err
		}
		if rest == nil || matchSegments(rest, strings.Split(filepath.ToSlash(rel), "/")) {
			out = append(out, f)
		}
	}
	return out, nil
}

// matchSegments matches a path, split into names, against a pattern split
// the same way, where "**" matches zero or more names.
func matchSegments(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for k := 0; k <= len(name); k++ {
			if matchSegments(pat[1:], name[k:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], name[0])
	return err == nil && ok && matchSegments(pat[1:], name[1:])
}

// maxReviewBytes is the largest review file, as for `rnnkit classify`.
const maxReviewBytes = 10 << 20

// readFn reads one file into records. Mode readWhole makes the file one
// record; readLines makes each line (or TSV/CSV/JSONL record, by Format,
// Text and Header as `rnnkit classify --lines`) one. What cannot be a
// record goes to the dead letters.
type readFn struct {
	Mode     string
	Format   string
	Text     string
	Header   bool
	MaxBytes int // the longest record; 0 means maxReviewBytes
}

func (f *readFn) maxBytes() int {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return maxReviewBytes
}

func (f *readFn) ProcessElement(ctx context.Context, p string, emit func(Record), dead func(Output)) error {
	fsys, err := filesystem.New(ctx, p)
	if err != nil {
		return err
	}
	defer fsys.Close()
	bad := func(line int, err error) {
		recordsDead.Inc(ctx, 1)
		dead(deadOutput(Record{File: p, Line: line}, err))
	}
	if f.Mode == readWhole {
		if size, err := fsys.Size(ctx, p); err == nil && size > int64(f.maxBytes()) {
			bad(0, fmt.Errorf("file of %.1f MB is too large for one review (the limit is %s)", float64(size)/1e6, limitText(f.maxBytes())))
			return nil
		}
		rc, err := fsys.OpenRead(ctx, p)
		if err != nil {
			bad(0, unwrapPath(err))
			return nil
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, int64(f.maxBytes())+1))
		if err != nil {
			bad(0, unwrapPath(err))
			return nil
		}
		if len(b) > f.maxBytes() {
			bad(0, fmt.Errorf("more than %s: too large for one review", limitText(f.maxBytes())))
			return nil
		}
		text, err := corpora.ReviewText(b) // the messages of `rnnkit classify`
		if err != nil {
			bad(0, err)
			return nil
		}
		emit(Record{File: p, Text: text})
		return nil
	}
	to := corpora.TextOptions{Format: f.Format, Text: f.Text, Header: f.Header}
	format, err := corpora.TextFormat(p, to)
	if err != nil {
		bad(0, err)
		return nil
	}
	rc, err := fsys.OpenRead(ctx, p)
	if err != nil {
		bad(0, unwrapPath(err))
		return nil
	}
	defer rc.Close()
	to.Format = format
	to.MaxLineBytes = f.maxBytes()
	n := 0
	for ex, err := range corpora.ReadTexts(bufio.NewReaderSize(rc, 1<<16), to) {
		n++
		var re *corpora.RecordError
		switch {
		case err == nil:
			emit(Record{File: p, Line: ex.Line, Text: ex.Text})
		case errors.As(err, &re) && re.Line > 0:
			bad(re.Line, recordProblem(re.Err, f.maxBytes()))
		default: // a header or I/O error ends the file
			bad(0, unwrapPath(err))
			return nil
		}
	}
	if n == 0 {
		bad(0, errors.New("no records: the input is empty"))
	}
	return nil
}

// limitText writes a size limit as `rnnkit classify` does ("10 MB").
func limitText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func unwrapPath(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// recordProblem words a bad line's error as `rnnkit classify --lines` does.
func recordProblem(err error, maxBytes int) error {
	switch {
	case errors.Is(err, corpora.ErrLineTooLong):
		return fmt.Errorf("line of more than %s: too large for one record", limitText(maxBytes))
	case errors.Is(err, corpora.ErrInvalidUTF8):
		msg, _, _ := strings.Cut(err.Error(), ";")
		return errors.New(msg + "; convert the input to UTF-8")
	}
	return err
}

// readRecords is the input half of every pipeline: the files the patterns
// match, spread over the workers, and read into records. With spread, the
// records are spread again (a file of lines would otherwise stay on one
// worker).
func readRecords(s beam.Scope, patterns []string, rf *readFn, spread bool) (records, dead beam.PCollection) {
	s = s.Scope("read")
	paths := beam.ParDo(s, &matchFn{Patterns: patterns}, beam.Impulse(s))
	paths = beam.Reshuffle(s, paths)
	records, dead = beam.ParDo2(s, rf, paths)
	if spread {
		records = beam.Reshuffle(s, records)
	}
	return records, dead
}

// groupFn puts each record in one of Groups groups by its identity's hash.
type groupFn struct {
	Groups int
}

func (f *groupFn) ProcessElement(r Record, emit func(int, Record)) {
	h := fnv.New32a()
	h.Write([]byte(r.key()))
	emit(int(h.Sum32()%uint32(f.Groups)), r)
}

// groupRecords spreads the records over the workers in groups that depend
// only on the records: the model DoFns batch each group's records in their
// identity's order, so that the batches, and with them every float of the
// answers, are the same however the runner bundles the work and whenever it
// retries it. (Batched decoding is not bit-for-bit independent of the other
// sentences of its batch.)
func groupRecords(s beam.Scope, records beam.PCollection, groups int) beam.PCollection {
	s = s.Scope("group")
	return beam.GroupByKey(s, beam.ParDo(s, &groupFn{Groups: groups}, records))
}

// collect reads the records of a group, sorted by identity.
func collect(records func(*Record) bool) []Record {
	var all []Record
	var r Record
	for records(&r) {
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b Record) int { return strings.Compare(a.key(), b.key()) })
	return all
}

// ---- output ----

// shardFn assigns each output line to a shard by its key's hash, so that
// the same record always lands in the same shard.
type shardFn struct {
	Shards int
}

func (f *shardFn) ProcessElement(o Output, emit func(int, Output)) {
	h := fnv.New32a()
	h.Write([]byte(o.Key))
	emit(int(h.Sum32()%uint32(f.Shards)), o)
}

// emptyShardsFn emits an empty line for every shard, so that every shard
// file is written, empty or not.
type emptyShardsFn struct {
	Shards int
}

func (f *emptyShardsFn) ProcessElement(_ []byte, emit func(int, Output)) {
	for i := range f.Shards {
		emit(i, Output{})
	}
}

// writeShardFn writes one shard: its lines sorted by key, to a temporary
// file renamed over PREFIX-SSSSS-of-NNNNN.jsonl where the file system can
// rename. The same lines always give the same bytes, so a retried shard
// rewrites the same file.
type writeShardFn struct {
	Prefix string
	Shards int
}

func shardName(prefix string, i, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.jsonl", prefix, i, n)
}

func (f *writeShardFn) ProcessElement(ctx context.Context, shard int, lines func(*Output) bool) error {
	var all []Output
	var o Output
	for lines(&o) {
		if o.Key != "" || o.Line != "" {
			all = append(all, o)
		}
	}
	slices.SortFunc(all, func(a, b Output) int { return strings.Compare(a.Key, b.Key) })
	name := shardName(f.Prefix, shard, f.Shards)
	fsys, err := filesystem.New(ctx, name)
	if err != nil {
		return err
	}
	defer fsys.Close()
	target := name
	rn, canRename := fsys.(filesystem.Renamer)
	if canRename {
		target = fmt.Sprintf("%s.tmp-%016x", name, rand.Uint64())
	}
	w, err := fsys.OpenWrite(ctx, target)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	for _, o := range all {
		bw.WriteString(o.Line)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if canRename {
		return rn.Rename(ctx, target, name)
	}
	return nil
}

// writeShards writes col (Outputs) as shards PREFIX-SSSSS-of-NNNNN.jsonl.
func writeShards(s beam.Scope, prefix string, shards int, col beam.PCollection) {
	s = s.Scope("write " + filepath.Base(prefix))
	keyed := beam.ParDo(s, &shardFn{Shards: shards}, col)
	empty := beam.ParDo(s, &emptyShardsFn{Shards: shards}, beam.Impulse(s))
	grouped := beam.GroupByKey(s, beam.Flatten(s, keyed, empty))
	beam.ParDo0(s, &writeShardFn{Prefix: prefix, Shards: shards}, grouped)
}

// ---- commands ----

// ioOptions are the flags every command shares.
type ioOptions struct {
	output     string
	deadLetter string
	model      string
	shards     int
	errShards  int
	batch      int
	groups     int
}

// prepareOutput checks the output flags and makes a local output folder.
func (o *ioOptions) prepareOutput() error {
	if o.output == "" {
		return usagef("--output is required: the prefix of the output shards (e.g. out/labels)")
	}
	if o.shards < 1 || o.errShards < 1 {
		return usagef("--shards and --error-shards must be at least 1")
	}
	if o.batch < 1 {
		return usagef("--batch must be at least 1, got %d", o.batch)
	}
	if o.groups < 1 {
		return usagef("--groups must be at least 1, got %d", o.groups)
	}
	if o.deadLetter == "" {
		o.deadLetter = o.output + "-errors"
	}
	for _, p := range []string{o.output, o.deadLetter} {
		if isLocal(p) {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkInputs fails fast when a local input pattern matches nothing.
func checkInputs(ctx context.Context, patterns []string) error {
	if len(patterns) == 0 {
		return usagef("give the input files")
	}
	for _, p := range patterns {
		if isLocal(p) {
			if _, err := matchPattern(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish writes the outputs and the dead letters, runs the pipeline and
// reports the counts on stderr.
func finish(ctx context.Context, w io.Writer, p *beam.Pipeline, s beam.Scope, o *ioOptions, out beam.PCollection, dead ...beam.PCollection) error {
	writeShards(s, o.output, o.shards, out)
	writeShards(s, o.deadLetter, o.errShards, beam.Flatten(s, dead...))
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return err
	}
	if res == nil { // --async or a runner without results
		return nil
	}
	var ok, bad int64
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Namespace() != "rnnkit" {
			continue
		}
		switch c.Name() {
		case "records":
			ok += c.Result()
		case "dead_letters":
			bad += c.Result()
		}
	}
	fmt.Fprintf(w, "%d records written to %s-*-of-%05d.jsonl, %d dead letters to %s-*-of-%05d.jsonl\n",
		ok, o.output, o.shards, bad, o.deadLetter, o.errShards)
	return nil
}
