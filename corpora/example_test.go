package corpora_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rnnkit/rnnkit/corpora"
)

func ExampleReadPairs() {
	data := "The owl sings.\tEl búho canta.\nno tab here\nSeven pears.\tSiete peras.\tCC-BY 2.0\n"
	for p, err := range corpora.ReadPairs(strings.NewReader(data), corpora.ReadOptions{Name: "pairs.txt"}) {
		var bad *corpora.RecordError
		if errors.As(err, &bad) {
			fmt.Println("skip:", err)
			continue
		}
		if err != nil {
			panic(err) // an I/O error ends the sequence
		}
		fmt.Printf("%d: %s -> %s\n", p.Line, p.Source, p.Target)
	}
	// Output:
	// 1: The owl sings. -> El búho canta.
	// skip: pairs.txt:2: want 2 or 3 tab-separated columns (source, target[, attribution]), got 1
	// 3: Seven pears. -> Siete peras.
}

func ExampleReadLabeled() {
	data := "id,review,stars\n7,\"Loud, bright, \"\"fun\"\"\",5\n8,Too long,2\n"
	o := corpora.LabeledOptions{CSV: true, Header: true, Text: "review", Label: "stars"}
	for ex, err := range corpora.ReadLabeled(strings.NewReader(data), o) {
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("line %d [%s] %s\n", ex.Line, ex.Label, ex.Text)
	}
	// Output:
	// line 2 [5] Loud, bright, "fun"
	// line 3 [2] Too long
}

func ExampleGroupedSplit() {
	sources := []string{"Open the box.", "open the box. ", "Close it.", "OPEN THE BOX."}
	s := corpora.GroupedSplit(sources, 0.5, 0, 1)
	// Every spelling of "open the box." lands in the same part.
	fmt.Println(s.Train, s.Validation)
	// Output:
	// [0 1 3] [2]
}

func ExampleContiguousSplit() {
	trainEnd, valEnd := corpora.ContiguousSplit(1115394, 0.1, 0)
	fmt.Println(trainEnd, valEnd)
	// Output:
	// 1003854 1115394
}
