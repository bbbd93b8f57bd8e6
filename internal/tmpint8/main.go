// Command tmpint8 re-saves the embedded default models as int8 (throwaway
// measurement program; deleted before the branch is merged).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rnnkit/rnnkit/charrnn"
	"github.com/rnnkit/rnnkit/rnn"
	"github.com/rnnkit/rnnkit/sentiment"
	"github.com/rnnkit/rnnkit/seq2seq"
)

type saver interface {
	Save(path string, dtype rnn.DType) error
}

func main() {
	var total, totalQ int64
	for _, name := range []string{"charrnn", "sentiment", "seq2seq", "seq2seq-es-en"} {
		src := filepath.Join("cmd", "rnnkit", "models", name+".safetensors")
		data, err := os.ReadFile(src)
		if err != nil {
			panic(err)
		}
		var m saver
		switch name {
		case "charrnn":
			m, err = charrnn.LoadBytes(src, data)
		case "sentiment":
			m, err = sentiment.LoadBytes(src, data)
		default:
			m, err = seq2seq.LoadBytes(src, data)
		}
		if err != nil {
			panic(err)
		}
		sizes := map[rnn.DType]int64{}
		for _, dt := range []rnn.DType{rnn.F16, rnn.Q8} {
			out := filepath.Join("/tmp", name+"."+string(dt)+".safetensors")
			if err := m.Save(out, dt); err != nil {
				panic(err)
			}
			st, _ := os.Stat(out)
			sizes[dt] = st.Size()
		}
		same := "differs"
		if b, _ := os.ReadFile(filepath.Join("/tmp", name+".F16.safetensors")); string(b) == string(data) {
			same = "byte-identical"
		}
		_, _, _ = rnn.ReadHeaderBytes(src, data)
		fmt.Printf("%-14s F16 %10d (re-saved %s)  int8 %10d  ratio %.3f\n", name, len(data), same, sizes[rnn.Q8], float64(sizes[rnn.Q8])/float64(len(data)))
		total += int64(len(data))
		totalQ += sizes[rnn.Q8]
	}
	fmt.Printf("%-14s F16 %10d  int8 %10d  ratio %.3f\n", "total", total, totalQ, float64(totalQ)/float64(total))
}
