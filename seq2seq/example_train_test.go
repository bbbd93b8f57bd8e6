package seq2seq_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/rnnkit/rnnkit/seq2seq"
)

// What `rnnkit train seq2seq --data pairs.tsv --out model.safetensors`
// does, in a few lines: read the Source<TAB>Target pairs, hold out whole
// clusters of near-duplicate pairs for validation, add the sentences inside
// longer pairs and the augmented copies to the training part, learn a BPE
// tokenizer per side, build the default translator, initialise it from the
// seed, train it (validation BLEU decides which weights are best; they are
// written to BestPath whenever they improve) and load the result. The toy
// language puts the adjective after the noun, as Spanish does; the two
// held-out sentences are not in the training part. The sizes are cut down
// here so that the example runs in a fraction of a second; the command
// holds out 2% of the source sentences and uses DefaultConfig (with dropout
// 0.2), DefaultTrainOptions, DefaultTokenizerOptions and
// DefaultAugmentOptions as they are.
func ExampleTrain() {
	dir, _ := os.MkdirTemp("", "seq2seq-train")
	defer os.RemoveAll(dir)
	data, out := filepath.Join(dir, "pairs.tsv"), filepath.Join(dir, "model.safetensors")
	nouns := map[string]string{"cat": "gato", "dog": "perro", "book": "libro", "car": "coche"}
	adjs := map[string]string{"red": "rojo", "big": "grande", "old": "viejo", "new": "nuevo"}
	var tsv strings.Builder
	for _, n := range []string{"cat", "dog", "book", "car"} {
		for _, a := range []string{"red", "big", "old", "new"} {
			fmt.Fprintf(&tsv, "the %s %s.\tel %s %s.\n", a, n, nouns[n], adjs[a])
			fmt.Fprintf(&tsv, "I see the %s %s.\tveo el %s %s.\n", a, n, nouns[n], adjs[a])
			fmt.Fprintf(&tsv, "I have the %s %s.\ttengo el %s %s.\n", a, n, nouns[n], adjs[a])
		}
	}
	os.WriteFile(data, []byte(tsv.String()), 0o644)

	pairs, err := seq2seq.ReadPairsFile(data, false)
	if err != nil {
		panic(err)
	}
	opt := seq2seq.DefaultTrainOptions()
	train, val, _ := seq2seq.ClusterSplitPairs(pairs, 0.1, opt.Seed, seq2seq.ClusterOptions{})
	if len(val) == 0 { // too few pairs to cluster: hold out exact sources
		train, val = seq2seq.SplitPairs(pairs, 0.1, opt.Seed)
	}
	train = append(train, seq2seq.DropNearDuplicates(seq2seq.SegmentPairs(train), val)...)
	lexicon := seq2seq.TargetLexicon(train) // before augmentation: no invented names
	aug := seq2seq.DefaultAugmentOptions()
	aug.Seed = opt.Seed
	train = seq2seq.Augment(train, aug)
	tokOpt := seq2seq.DefaultTokenizerOptions()
	tokOpt.SrcVocab, tokOpt.TgtVocab = 60, 60
	src, tgt, err := seq2seq.TrainTokenizers(train, tokOpt)
	if err != nil {
		panic(err)
	}
	cfg := seq2seq.DefaultConfig(src.VocabSize(), tgt.VocabSize())
	cfg.Embedding, cfg.EncHidden, cfg.DecHidden = 16, 32, 32
	m, err := seq2seq.New(cfg, src, tgt)
	if err != nil {
		panic(err)
	}
	m.SetLexicon(lexicon)
	m.Init(rand.New(rand.NewPCG(opt.Seed, 0x696e6974))) // the command's initialisation stream
	opt.Val, opt.BestPath = val, out
	opt.Batch, opt.Epochs, opt.LR, opt.Warmup = 8, 8, 2e-2, 5
	res, err := seq2seq.Train(context.Background(), m, train, opt, nil)
	if err != nil {
		panic(err)
	}

	best, err := seq2seq.Load(out)
	if err != nil {
		panic(err)
	}
	fmt.Println("pairs:", len(pairs), "training:", len(train), "validation:", len(val))
	fmt.Println("vocabularies:", best.Config.SrcVocab, best.Config.TgtVocab)
	fmt.Println("validation BLEU above 90:", res.BestBLEU > 90)
	for _, p := range val {
		trs, err := best.Translate(context.Background(), []string{p.Source}, seq2seq.TranslateOptions{})
		if err != nil {
			panic(err)
		}
		fmt.Println(p.Source, "->", trs[0].Text)
	}
	// Output:
	// pairs: 48 training: 49 validation: 2
	// vocabularies: 57 60
	// validation BLEU above 90: true
	// I see the new cat. -> veo el gato nuevo.
	// I see the big book. -> veo el libro grande.
}
