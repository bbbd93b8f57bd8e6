package corpora

import (
	"fmt"
	"sort"
	"strings"
)

// Archive is how a corpus is packed for download.
type Archive string

const (
	ArchiveNone  Archive = ""       // a single plain file
	ArchiveZip   Archive = "zip"    // a .zip archive
	ArchiveTarGz Archive = "tar.gz" // a gzip-compressed tar archive
)

// Format names the record format of a corpus, which tells a caller which
// reader to use on the path [Cache.Path] returns.
type Format string

const (
	FormatText    Format = "text"        // plain UTF-8 text: ReadLines, SplitText
	FormatPairs   Format = "tatoeba-tsv" // English<TAB>Spanish[<TAB>attribution]: ReadPairs
	FormatFolder  Format = "imdb-folder" // train|test/pos|neg/<id>_<rating>.txt: ReadFolder
	FormatGLUE    Format = "glue-tsv"    // header sentence<TAB>label: ReadGLUE
	FormatLabeled Format = "labeled-tsv" // text<TAB>label, no header: ReadLabeled
)

// Corpus describes one named data set.
type Corpus struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	URL         string  `json:"url"`     // canonical download location
	SHA256      string  `json:"sha256"`  // hex sha256 of the download; "" = not pinned
	Size        int64   `json:"size"`    // approximate download size in bytes, for display (0 = unknown)
	Archive     Archive `json:"archive"` // how the download is packed
	Format      Format  `json:"format"`
	License     string  `json:"license"`
	Attribution string  `json:"attribution"` // what a user must credit when redistributing or publishing
	Citation    string  `json:"citation"`    // the paper to cite, if any
	// Layout describes the files after unpacking.
	Layout string `json:"layout"`
	// Main is the file or folder, relative to the corpus folder after
	// unpacking, that Cache.Path returns for a fetched corpus.
	Main string `json:"main"`
}

// FileName is the base name of the download.
func (c Corpus) FileName() string {
	u := c.URL
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		u = u[i+1:]
	}
	return strings.ReplaceAll(u, "%20", " ")
}

// Pinned reports whether the download has a known sha256.
func (c Corpus) Pinned() bool { return c.SHA256 != "" }

var registry = []Corpus{
	{
		Name:        "tinyshakespeare",
		Description: "Karpathy's char-rnn tiny Shakespeare: 40,000 lines of Shakespeare plays, 1,115,394 bytes, 65 distinct characters. The customary split is the first 90% for training and the last 10% for validation.",
		URL:         "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
		SHA256:      "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
		Size:        1115394,
		Archive:     ArchiveNone,
		Format:      FormatText,
		License:     "public domain (Shakespeare); the file is from karpathy/char-rnn (MIT)",
		Attribution: "Andrej Karpathy, char-rnn (github.com/karpathy/char-rnn)",
		Layout:      "input.txt: one plain UTF-8 (ASCII) text file",
		Main:        "input.txt",
	},
	{
		Name:        "spa-eng",
		Description: "Tatoeba English-Spanish sentence pairs as packaged by manythings.org (2018-05-13, the file of the TensorFlow NMT tutorial): 118,964 pairs. Many English sentences have several translations; split with GroupedSplit on the English side.",
		URL:         "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip",
		Size:        2638744,
		Archive:     ArchiveZip,
		Format:      FormatPairs,
		License:     "CC BY 2.0 (creativecommons.org/licenses/by/2.0)",
		Attribution: "www.manythings.org/anki and tatoeba.org",
		Layout:      "spa-eng/spa.txt: English<TAB>Spanish per line (newer manythings files add a third attribution column)",
		Main:        "spa-eng/spa.txt",
	},
	{
		Name:        "imdb",
		Description: "Large Movie Review Dataset v1.0: 50,000 polar movie reviews (25k train, 25k test, balanced; negative <= 4/10, positive >= 7/10) plus 50,000 unlabelled reviews.",
		URL:         "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
		Size:        84125825,
		Archive:     ArchiveTarGz,
		Format:      FormatFolder,
		License:     "research use; cite the paper (see the dataset README)",
		Attribution: "Andrew L. Maas et al., Stanford University",
		Citation:    "Maas, Daly, Pham, Huang, Ng and Potts. Learning Word Vectors for Sentiment Analysis. ACL 2011, pages 142-150.",
		Layout:      "aclImdb/train|test/pos|neg/<id>_<rating>.txt, one review per file; aclImdb/train/unsup holds unlabelled reviews (rating 0)",
		Main:        "aclImdb",
	},
	{
		Name:        "sst2",
		Description: "Stanford Sentiment Treebank, binary (GLUE SST-2): 67,349 training phrases and sentences, 872 dev sentences, 1,821 unlabelled test sentences.",
		URL:         "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
		Size:        7439277,
		Archive:     ArchiveZip,
		Format:      FormatGLUE,
		License:     "research use; cite the paper (GLUE terms)",
		Attribution: "Stanford NLP group; GLUE benchmark (gluebenchmark.com)",
		Citation:    "Socher, Perelygin, Wu, Chuang, Manning, Ng and Potts. Recursive Deep Models for Semantic Compositionality Over a Sentiment Treebank. EMNLP 2013.",
		Layout:      "SST-2/train.tsv and SST-2/dev.tsv (header sentence<TAB>label, label 0/1), SST-2/test.tsv (header index<TAB>sentence)",
		Main:        "SST-2",
	},
	{
		Name:        "uci-sentences",
		Description: "UCI Sentiment Labelled Sentences: 3,000 short sentences, 1,000 each from Amazon, IMDB and Yelp reviews, labelled 1 (positive) or 0 (negative).",
		URL:         "https://archive.ics.uci.edu/ml/machine-learning-databases/00331/sentiment%20labelled%20sentences.zip",
		Archive:     ArchiveZip,
		Format:      FormatLabeled,
		License:     "CC BY 4.0 (UCI Machine Learning Repository)",
		Attribution: "Dimitrios Kotzias, UCI Machine Learning Repository",
		Citation:    "Kotzias, Denil, de Freitas and Smyth. From Group to Individual Labels using Deep Features. KDD 2015.",
		Layout:      "sentiment labelled sentences/{amazon_cells,imdb,yelp}_labelled.txt: sentence<TAB>label per line, no header",
		Main:        "sentiment labelled sentences",
	},
}

// All returns every registered corpus, sorted by name.
func All() []Corpus {
	out := append([]Corpus(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the registered corpus names, sorted.
func Names() []string {
	var names []string
	for _, c := range All() {
		names = append(names, c.Name)
	}
	return names
}

// Lookup returns the corpus called name, or an error listing the known names.
func Lookup(name string) (Corpus, error) {
	for _, c := range registry {
		if c.Name == name {
			return c, nil
		}
	}
	return Corpus{}, fmt.Errorf("unknown corpus %q; known corpora: %s", name, strings.Join(Names(), ", "))
}
