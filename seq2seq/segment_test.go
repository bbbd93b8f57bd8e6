package seq2seq

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSentences(t *testing.T) {
	assert.Equal(t, []string{"Goodbye.", "See you tomorrow."}, Sentences("Goodbye. See you tomorrow."))
	assert.Equal(t, []string{"¡Hola!", "¿Cómo estás?"}, Sentences("¡Hola! ¿Cómo estás?"))
	assert.Equal(t, []string{`He said "Stop."`, "Then he left."}, Sentences(`He said "Stop." Then he left.`))
	assert.Equal(t, []string{"I have 3 cats.", "2 are black."}, Sentences("I have 3 cats. 2 are black."))
	// no capital after the mark: one sentence
	assert.Equal(t, []string{"Wait... what?"}, Sentences("Wait... what?"))
	assert.Equal(t, []string{"Mr. Smith is here.", "Dr. Ruiz too."}, Sentences("Mr. Smith is here. Dr. Ruiz too."))
	assert.Nil(t, Sentences("  "))
}

func TestSegmentPairs(t *testing.T) {
	pairs := []Pair{
		pr("Goodbye. See you tomorrow.", "Adiós. Hasta mañana."),
		pr("Good luck, Tom.", "Buena suerte, Tom."),
		pr("Tom, where are you?", "Tom, ¿dónde estás?"),
		pr("Thanks, Mary!", "¡Gracias, Mary!"),
		// sentence counts differ: nothing
		pr("Hi. I'm Ken.", "Hola, soy Ken."),
		// a name on one side only, or another name: nothing
		pr("Come in, Tom.", "Pasa, Tomás."),
		// badly aligned lengths: nothing
		pr("Yes. I think that this is the right thing to do.", "Creo que esto es lo correcto. Sí."),
		// already a pair: not new
		pr("See you tomorrow.", "Hasta mañana."),
		// the same segment twice: once
		pr("Goodbye. Take care.", "Adiós. Cuídate."),
	}
	got := SegmentPairs(pairs)
	assert.Equal(t, []Pair{
		pr("Goodbye.", "Adiós."),
		pr("Good luck.", "Buena suerte."),
		pr("Where are you?", "¿Dónde estás?"),
		pr("Thanks!", "¡Gracias!"),
		pr("Take care.", "Cuídate."),
	}, got)
	assert.Empty(t, SegmentPairs(got), "segments of single sentences without names")
}

func TestDropNearDuplicates(t *testing.T) {
	val := []Pair{pr("Goodbye!", "¡Adiós!"), pr("I am very tired.", "Estoy muy cansado.")}
	derived := []Pair{
		pr("Goodbye.", "Adiós."),              // same normalised source as a validation pair
		pr("You're tired.", "Estás cansado."), // same content words
		pr("Good luck.", "Buena suerte."),
	}
	assert.Equal(t, []Pair{pr("Good luck.", "Buena suerte.")}, DropNearDuplicates(derived, val))
	assert.Equal(t, derived, DropNearDuplicates(derived, nil))
}

func pr(src, tgt string) Pair { return Pair{Source: src, Target: tgt} }

func TestAugmentShort(t *testing.T) {
	pairs := []Pair{pr("Hello.", "Hola."), pr("Thank you very much.", "Muchas gracias."), pr("I like it a lot.", "Me gusta mucho.")}
	out := Augment(pairs, AugmentOptions{Short: 2})
	assert.Equal(t, append(slices.Clone(pairs), pairs[0], pairs[0]), out, "only the one-word source, twice more")
	out = Augment(pairs, AugmentOptions{Short: 1, ShortWords: 4})
	assert.Equal(t, append(slices.Clone(pairs), pairs[0], pairs[1]), out)
	assert.Equal(t, pairs, Augment(pairs, AugmentOptions{}))
}
