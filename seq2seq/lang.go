package seq2seq

import (
	"strings"
	"unicode"
)

// DetectLanguage tells English ("en") from Spanish ("es") in s by its
// function words and by the letters and marks only Spanish uses (ñ, á, ¿,
// ¡ ...). It returns "" when s gives too little to tell, as one name or a
// number does. It knows only these two languages: it is there to catch a
// sentence given to the wrong translator, not to identify any language.
func DetectLanguage(s string) string {
	en, es := 0, 0
	for _, r := range s {
		switch r {
		case 'ñ', 'Ñ', 'á', 'é', 'í', 'ó', 'ú', 'Á', 'É', 'Í', 'Ó', 'Ú', 'ü', '¿', '¡':
			es += 2
		}
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }) {
		if englishWords[w] {
			en += 2
		}
		if spanishWords[w] {
			es += 2
		}
		if strings.Contains(w, "'") {
			en++ // don't, I'm, Tom's
		}
	}
	switch {
	case en >= 2 && en > es:
		return "en"
	case es >= 2 && es > en:
		return "es"
	}
	return ""
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// Words frequent in one language and rare or absent in the other (so not
// "a", "me", "no", "he" or "son").
var englishWords = wordSet(`the i you is are was were it this that what where when why how who
	my your his her our their we they do does did don't can't have has had will would should could
	not and of to in on at for with from be been am an there here yes hello hi please thank thanks
	sorry good bye goodbye know want like go going come see think tell help love very much`)

var spanishWords = wordSet(`el la los las un una unos unas es está están estoy eres soy somos
	yo tú usted ustedes él ella nosotros ellos que qué dónde cuándo cómo por para con sin del al
	y pero muy mi mis tu tus su sus nos lo le les hay tengo tiene quiero puedo hola gracias
	adiós sí buenos buenas días noche favor perdón bien mucho también ya aquí allí esto eso`)
