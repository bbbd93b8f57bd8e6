package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rnnkit/rnnkit/corpora"
)

// addCorporaCommands registers the "corpora" commands.
func addCorporaCommands(root *cobra.Command, g *globalOptions) {
	cmd := &cobra.Command{
		Use:   "corpora",
		Short: "List, fetch and import the standard data sets",
		Long: `The corpora commands manage the named data sets rnnkit knows: tiny Shakespeare
(char-rnn), Tatoeba English-Spanish pairs, IMDB reviews, SST-2 and the UCI
labelled sentences. Each has a canonical URL, a licence and an attribution
("rnnkit corpora info NAME").

Data lives in a cache folder, one folder per corpus with a manifest.json:
$RNNKIT_CACHE if set, otherwise the user cache folder (~/.cache/rnnkit/corpora
on Linux). "fetch" downloads (resuming an interrupted download, checking the
sha256 where it is pinned) and unpacks; on a machine without internet,
"import" registers a copy you already have. $RNNKIT_CORPORA_MIRROR replaces
the download location with a mirror that serves the same file names.`,
		Example: `  rnnkit corpora list
  rnnkit corpora fetch tinyshakespeare
  rnnkit corpora import imdb ~/data/aclImdb
  rnnkit train charrnn --data "$(rnnkit corpora path tinyshakespeare)"`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		newCorporaListCmd(g),
		newCorporaInfoCmd(g),
		newCorporaFetchCmd(g),
		newCorporaImportCmd(g),
		newCorporaPathCmd(g),
		newCorporaSplitCmd(g),
	)
	root.AddCommand(cmd)
}

// completeCorpusName completes the first argument with the corpus names.
func completeCorpusName(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []string
	for _, c := range corpora.All() {
		out = append(out, c.Name+"\t"+corpusSummary(c.Description))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func corpusSummary(s string) string {
	if i := strings.Index(s, ": "); i > 0 && i < 80 {
		return s[:i]
	}
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i]
	}
	return s
}

// lookupCorpus resolves a name given on the command line (bad usage if unknown).
func lookupCorpus(name string) (corpora.Corpus, error) {
	c, err := corpora.Lookup(name)
	if err != nil {
		return c, usagef("%v", err)
	}
	return c, nil
}

// corpusStatus is the JSON form of one corpus in list and info.
type corpusStatus struct {
	Name         string            `json:"name"`
	Status       string            `json:"status"`
	Cached       bool              `json:"cached"`
	Path         string            `json:"path,omitempty"`
	Size         int64             `json:"size"`
	DownloadSize int64             `json:"download_size,omitempty"`
	License      string            `json:"license"`
	URL          string            `json:"url"`
	SHA256       string            `json:"sha256,omitempty"`      // the registry's pinned sha256 of the download
	Pinned       bool              `json:"sha256_pinned"`         // the registry pins it
	FileSHA256   string            `json:"file_sha256,omitempty"` // the cached file's, when it was hashed
	Verified     bool              `json:"verified"`              // the cached file is the pinned download
	Problem      string            `json:"problem,omitempty"`
	Manifest     *corpora.Manifest `json:"manifest,omitempty"`
}

func corpusStatusOf(cache *corpora.Cache, name string) (corpusStatus, error) {
	st, err := cache.Status(name)
	if err != nil {
		return corpusStatus{}, err
	}
	cs := corpusStatus{Name: st.Name, Cached: st.Cached, License: st.License, URL: st.URL,
		SHA256: st.Corpus.SHA256, Pinned: st.Pinned(), DownloadSize: st.Corpus.Size, Problem: st.Problem, Manifest: st.Manifest}
	switch {
	case st.Cached && st.Manifest.Source == "import":
		cs.Status = "imported"
	case st.Cached:
		cs.Status = "cached"
	case st.Problem != "":
		cs.Status = "broken"
	default:
		cs.Status = "not cached"
	}
	if st.Cached {
		cs.Size = st.Manifest.Size()
		cs.Path, _ = cache.Path(name)
		cs.FileSHA256, cs.Verified = st.Manifest.SHA256, st.Manifest.Verified
	}
	return cs, nil
}

func newCorporaListCmd(g *globalOptions) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the known corpora and whether each is in the cache",
		Long: `List every corpus rnnkit knows by name, with its state in the cache
(cached, imported, broken, not cached), its size on disk (or its download
size), its checksum and its licence. The SHA256 column says "pinned" or "not
pinned" for a corpus not in the cache (whether rnnkit knows the sha256 of its
download); for a cached one, "verified" when the file is the pinned download,
"differs" when it is another file (an imported variant), "not hashed" for an
imported folder, and "not pinned" when nothing is known to compare with.`,
		Example: `  rnnkit corpora list
  rnnkit corpora list --json | jq -r 'select(.cached) | .path'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cache, err := corpora.DefaultCache()
			if err != nil {
				return err
			}
			var rows []corpusStatus
			for _, name := range corpora.Names() {
				cs, err := corpusStatusOf(cache, name)
				if err != nil {
					return err
				}
				rows = append(rows, cs)
			}
			if asJSON { // one object per corpus, as every --json list
				for _, r := range rows {
					r.Manifest = nil
					if err := writeJSON(c, r); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATUS\tSIZE\tSHA256\tLICENCE")
			for _, r := range rows {
				size := "-"
				switch {
				case r.Cached:
					size = corporaBytes(r.Size)
				case r.DownloadSize > 0:
					size = "~" + corporaBytes(r.DownloadSize) + " download"
				}
				// A cached file says whether it is the pinned download: an
				// imported variant is never shown as "pinned".
				pin := "pinned"
				switch {
				case r.Cached && r.Verified:
					pin = "verified"
				case r.Cached && r.Pinned && r.FileSHA256 != "":
					pin = "differs"
				case r.Cached && r.Pinned:
					pin = "not hashed"
				case !r.Pinned:
					pin = "not pinned"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Status, size, pin, r.License)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			status(c, g, "cache: %s", cache.Dir)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per corpus")
	return c
}

func newCorporaInfoCmd(g *globalOptions) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "info NAME",
		Short: "Describe a corpus: source, licence, citation, layout and cache state",
		Long: `Describe one corpus: what it is, where it is downloaded from, its sha256 (if
pinned), its licence, the attribution and citation to give when you use it,
its file layout, and its state in the cache.`,
		Example: `  rnnkit corpora info spa-eng
  rnnkit corpora info imdb --json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeCorpusName,
		RunE: func(c *cobra.Command, args []string) error {
			corpus, cache, err := cachedCorpus(args[0])
			if err != nil {
				return err
			}
			cs, err := corpusStatusOf(cache, corpus.Name)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c, struct {
					corpora.Corpus
					Download string       `json:"download_url"`
					Status   corpusStatus `json:"status"`
				}{corpus, cache.URL(corpus), cs})
			}
			w := c.OutOrStdout()
			sum := corpus.SHA256
			if sum == "" {
				sum = "not pinned (the sha256 of the first download is recorded in its manifest)"
			}
			fmt.Fprintf(w, "%s\n  %s\n\n", corpus.Name, corpus.Description)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "URL:\t%s\n", corpus.URL)
			if u := cache.URL(corpus); u != corpus.URL {
				fmt.Fprintf(tw, "Mirror:\t%s\n", u)
			}
			fmt.Fprintf(tw, "SHA256:\t%s\n", sum)
			fmt.Fprintf(tw, "Licence:\t%s\n", corpus.License)
			fmt.Fprintf(tw, "Attribution:\t%s\n", corpus.Attribution)
			if corpus.Citation != "" {
				fmt.Fprintf(tw, "Citation:\t%s\n", corpus.Citation)
			}
			fmt.Fprintf(tw, "Format:\t%s\n", corpus.Format)
			fmt.Fprintf(tw, "Layout:\t%s\n", corpus.Layout)
			state := cs.Status
			if cs.Cached {
				state += ", " + corporaBytes(cs.Size) + " at " + cs.Path
			} else if cs.Problem != "" {
				state += ": " + cs.Problem
			}
			fmt.Fprintf(tw, "Status:\t%s\n", state)
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the description as JSON")
	return c
}

func newCorporaFetchCmd(g *globalOptions) *cobra.Command {
	var asJSON, force bool
	c := &cobra.Command{
		Use:   "fetch NAME",
		Short: "Download a corpus into the cache and unpack it",
		Long: `Download a corpus from its canonical URL (or $RNNKIT_CORPORA_MIRROR) into the
cache and unpack it. An interrupted download resumes where it stopped, both
within one run and when you run the command again. The download is checked
against the pinned sha256 where there is one; a mismatch removes it. A corpus
that is already downloaded is not downloaded again unless --force is given.
Prints the path of the corpus.`,
		Example: `  rnnkit corpora fetch tinyshakespeare
  rnnkit corpora fetch imdb --quiet
  RNNKIT_CORPORA_MIRROR=http://mirror.local/corpora rnnkit corpora fetch spa-eng`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeCorpusName,
		RunE: func(c *cobra.Command, args []string) error {
			corpus, cache, err := cachedCorpus(args[0])
			if err != nil {
				return err
			}
			if force {
				if err := cache.Remove(corpus.Name); err != nil {
					return err
				}
			}
			progress, done := byteProgress(c, g, "fetch "+corpus.Name)
			status(c, g, "fetching %s from %s", corpus.Name, cache.URL(corpus))
			m, err := cache.Fetch(c.Context(), corpus.Name, progress)
			done()
			p, stop, err := cachedPath(c, cache, corpus.Name, m, err, asJSON)
			if stop {
				return err
			}
			check := "sha256 verified"
			if !m.Verified {
				check = "sha256 not pinned, recorded " + m.SHA256[:12] + "..."
			}
			status(c, g, "%s: %s, %s", corpus.Name, corporaBytes(m.Size()), check)
			fmt.Fprintln(c.OutOrStdout(), p)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the path and manifest as JSON")
	c.Flags().BoolVar(&force, "force", false, "download again even if the corpus is in the cache")
	return c
}

func newCorporaImportCmd(g *globalOptions) *cobra.Command {
	var asJSON, copyFiles bool
	c := &cobra.Command{
		Use:   "import NAME PATH",
		Short: "Register a local copy of a corpus (a file or a folder)",
		Long: `Register a file or folder you already have as corpus NAME, for machines
without internet or for your own variant of a corpus (e.g. a training file
with a held-out part removed). The cache gets a symlink to PATH (or a copy
with --copy, or when symlinks are not possible) and a manifest recording
where it came from. A file is hashed; if it is the canonical file of a
corpus with a pinned sha256, the import says "verified". Importing again
replaces the registration.`,
		Example: `  rnnkit corpora import tinyshakespeare ~/data/tinyshakespeare/input.txt
  rnnkit corpora import spa-eng ~/data/spa-eng/spa.txt
  rnnkit corpora import imdb ~/Downloads/aclImdb --copy`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(c *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return completeCorpusName(c, args, s)
			}
			return nil, cobra.ShellCompDirectiveDefault
		},
		RunE: func(c *cobra.Command, args []string) error {
			corpus, cache, err := cachedCorpus(args[0])
			if err != nil {
				return err
			}
			progress, done := byteProgress(c, g, "import "+corpus.Name)
			m, err := cache.Import(corpus.Name, args[1], corpora.ImportOptions{Copy: copyFiles, Progress: progress})
			done()
			p, stop, err := cachedPath(c, cache, corpus.Name, m, err, asJSON)
			if stop {
				return err
			}
			check := ""
			switch {
			case m.SHA256 == "":
				check = "folder, not hashed"
			case m.Verified:
				check = "sha256 verified: the canonical file"
			case corpus.Pinned():
				check = "sha256 " + m.SHA256[:12] + "... differs from the canonical file (a variant)"
			default:
				check = "sha256 " + m.SHA256[:12] + "..., not pinned"
			}
			files := 0
			for _, f := range m.Files {
				files += f.Count
			}
			fmt.Fprintf(c.OutOrStdout(), "imported %s from %s (%s; %s in %d file(s); %s)\n%s\n",
				corpus.Name, m.ImportedFrom, m.Mode, corporaBytes(m.Size()), files, check, p)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the path and manifest as JSON")
	c.Flags().BoolVar(&copyFiles, "copy", false, "copy the files into the cache instead of symlinking them")
	return c
}

func newCorporaPathCmd(g *globalOptions) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "path NAME",
		Short: "Print the file or folder of a cached corpus",
		Long: `Print the path of a corpus in the cache: the downloaded file or unpacked folder
(e.g. .../spa-eng/spa-eng/spa.txt, .../imdb/aclImdb), or the imported file or
folder. Fails with a hint when the corpus is not in the cache.`,
		Example: `  rnnkit corpora path tinyshakespeare
  wc -l "$(rnnkit corpora path spa-eng)"`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeCorpusName,
		RunE: func(c *cobra.Command, args []string) error {
			corpus, cache, err := cachedCorpus(args[0])
			if err != nil {
				return err
			}
			p, err := cache.Path(corpus.Name)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c, map[string]string{"name": corpus.Name, "path": p})
			}
			fmt.Fprintln(c.OutOrStdout(), p)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the name and path as JSON")
	return c
}

// cachedCorpus resolves NAME (lookupCorpus) and opens the default cache.
func cachedCorpus(name string) (corpora.Corpus, *corpora.Cache, error) {
	corpus, err := lookupCorpus(name)
	if err != nil {
		return corpus, nil, err
	}
	cache, err := corpora.DefaultCache()
	return corpus, cache, err
}

// byteProgress returns the progress callback of a download or copy, whose
// bar is made at the first call (when the total is known), and the func
// that finishes the bar.
func byteProgress(c *cobra.Command, g *globalOptions, desc string) (progress func(done, total int64), finish func()) {
	var bar *progressbar.ProgressBar
	progress = func(done, total int64) {
		if bar == nil {
			bar = newProgress(c, g, total, desc)
		}
		_ = bar.Set64(done)
	}
	finish = func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
	return progress, finish
}

// cachedPath ends fetch and import once the cache gave m (or err): the
// corpus's path, or stop with the error, or, with asJSON, stop once the
// path and m are printed.
func cachedPath(c *cobra.Command, cache *corpora.Cache, name string, m *corpora.Manifest, err error, asJSON bool) (path string, stop bool, _ error) {
	if err == nil {
		path, err = cache.Path(name)
	}
	if err != nil || !asJSON {
		return path, err != nil, err
	}
	return path, true, writeCorpusJSON(c, path, m)
}

// writeCorpusJSON prints --json of fetch and import: the corpus's path and
// manifest.
func writeCorpusJSON(c *cobra.Command, path string, m *corpora.Manifest) error {
	return writeJSON(c, struct {
		Path     string            `json:"path"`
		Manifest *corpora.Manifest `json:"manifest"`
	}{path, m})
}

// corporaBytes formats a size in decimal units: 1.1 MB, 84.1 MB, 512 B.
func corporaBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
