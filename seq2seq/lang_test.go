package seq2seq

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDetectLanguage(t *testing.T) {
	for s, want := range map[string]string{
		"¿Dónde está la estación?":           "es",
		"Hola.":                              "es",
		"Gracias por todo.":                  "es",
		"Me gusta el café con leche.":        "es",
		"Where is the station?":              "en",
		"Hello.":                             "en",
		"I don't know.":                      "en",
		"Thank you for the coffee.":          "en",
		"Madrid":                             "",
		"42":                                 "",
		"Tom":                                "",
		"El perro de Tom come en la cocina.": "es",
		"Tom's dog eats in the kitchen.":     "en",
	} {
		assert.Equal(t, want, DetectLanguage(s), s)
	}
}
