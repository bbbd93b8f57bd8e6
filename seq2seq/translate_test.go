package seq2seq

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTidyPunct(t *testing.T) {
	for in, want := range map[string]string{
		"Por favor,.":          "Por favor.",
		"¡Hola, amigo,!":       "¡Hola, amigo!",
		"¿Vienes, ?":           "¿Vienes?",
		"Sí, claro.":           "Sí, claro.",
		"1,5 kilos.":           "1,5 kilos.",
		"Bueno, pues... vale.": "Bueno, pues... vale.",
		"¡ Buena suerte!":      "¡Buena suerte!",
		"Dime: ¿ qué pasa?":    "Dime: ¿qué pasa?",
	} {
		assert.Equal(t, want, tidyPunct(in), in)
	}
}
