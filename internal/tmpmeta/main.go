// Throwaway: edit a seq2seq model's metadata. Not committed.
// usage: tmpmeta IN OUT key=value... (-key deletes; @FILE value reads a file)
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/seq2seq"
)

func main() {
	m, err := seq2seq.Load(os.Args[1])
	if err != nil {
		panic(err)
	}
	for _, k := range []string{"data_sha256", "train_options", "train_zeros", "init"} {
		delete(m.Meta, k)
	}
	for _, kv := range os.Args[3:] {
		if strings.HasPrefix(kv, "-") {
			delete(m.Meta, kv[1:])
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		m.Meta[k] = v
	}
	if err := m.Save(os.Args[2], rnn.F16); err != nil {
		panic(err)
	}
	for k, v := range m.Meta {
		if len(v) > 150 {
			v = v[:150] + "..."
		}
		fmt.Printf("%s: %s\n", k, v)
	}
}
