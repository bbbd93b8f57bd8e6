//go:build unix

package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/rnnkit/rnnkit/seq2seq"
)

// benchSentences are everyday English sentences of 2 to 20 words, as the
// default translators see them.
var benchSentences = []string{
	"Hello.", "Thank you very much.", "Where is the station?", "I am tired.",
	"The children are playing in the garden.", "I would like a cup of coffee, please.",
	"My sister lives near the sea.", "Tom opened the window because it was hot.",
	"Do you know what time it is?", "We have to leave before it starts raining.",
	"She bought a new car last week.", "I don't understand why he said that.",
	"Can you help me carry these boxes upstairs?", "The museum is closed on Mondays.",
	"He reads a book every night before going to sleep.", "Mary is taller than her brother.",
	"I have never been to Japan, but I would love to go.", "Please turn off the lights when you leave.",
	"It's too late to call him now.", "They have been married for ten years.",
	"The doctor told me to drink more water and to walk every day.", "Let's eat.",
	"Is this seat taken?", "My father works in a bank in the city centre.",
	"I forgot my umbrella at the restaurant yesterday evening.", "Nobody knows the answer.",
	"How much does this shirt cost?", "We watched a film and then went for a walk along the river.",
	"Tom and Mary are going to visit their grandparents in Boston next summer.",
	"I think it will snow tonight.", "Could you speak a little more slowly?",
	"The teacher asked the students to write a short story about their holidays.",
	"I'm looking for my keys.", "What are you doing tomorrow?", "The soup is cold.",
	"If I had more money, I would buy a house in the mountains.", "Close the door.",
	"He has lived here since he was a child.", "This is the best day of my life.",
	"She sings beautifully.",
}

// BenchmarkDefaultTranslate measures the embedded en->es translator on
// benchSentences: greedy, beam 5, and beam 5 re-ranked by the es->en model
// (what rnnkit translate does by default), in sentences per CPU-second
// (run it with GOMAXPROCS=1 on a shared machine).
func BenchmarkDefaultTranslate(b *testing.B) {
	load := func(file string) *seq2seq.Model {
		data, err := models.FS.ReadFile(file)
		if err != nil {
			b.Skip(err)
		}
		m, err := seq2seq.LoadBytes(file, data)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	m, back := load("seq2seq.safetensors"), load("seq2seq-es-en.safetensors")
	for _, bc := range []struct {
		name string
		set  func(*seq2seq.TranslateOptions)
	}{
		{"greedy", func(o *seq2seq.TranslateOptions) { o.Beam = 1 }},
		{"beam5", func(o *seq2seq.TranslateOptions) {}},
		{"beam5-back", func(o *seq2seq.TranslateOptions) { o.Back = back }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opt := seq2seq.DefaultTranslateOptions()
			bc.set(&opt)
			cpu0, n := benchCPUTime(), 0
			for b.Loop() {
				if _, err := m.Translate(context.Background(), benchSentences, opt); err != nil {
					b.Fatal(err)
				}
				n += len(benchSentences)
			}
			b.ReportMetric(float64(n)/(benchCPUTime()-cpu0).Seconds(), "sentences/cpu-s")
		})
	}
}

func benchCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
