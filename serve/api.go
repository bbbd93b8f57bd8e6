package serve

import "github.com/rnnkit/rnnkit/seq2seq"

// The request and response bodies of the JSON API. Fields that a client may
// leave out to get the default are pointers, so that an explicit 0 keeps
// its meaning (temperature 0 is greedy decoding).

// GenerateRequest is the body of POST /v1/generate.
type GenerateRequest struct {
	Seed        string   `json:"seed"`         // text that starts the generation (not repeated in the output); "" starts after a newline
	MaxChars    *int     `json:"max_chars"`    // characters to generate; default 200, at most Options.MaxGenChars
	Temperature *float64 `json:"temperature"`  // softmax temperature, default 0.8; 0 is greedy (always the most likely character)
	TopK        int      `json:"top_k"`        // sample among the K most likely characters; 0 = all
	TopP        *float64 `json:"top_p"`        // nucleus sampling mass in [0, 1]; 0 and 1 (the default) = all
	RNGSeed     *uint64  `json:"rng_seed"`     // sampling seed; default a random one, reported in the response
	Stop        []string `json:"stop"`         // generation ends before the first of these sequences
	Stream      bool     `json:"stream"`       // answer with server-sent events as the text is sampled
	SkipUnknown bool     `json:"skip_unknown"` // drop seed characters the model does not know instead of failing
}

// GenerateResponse is the answer to a generation, and the data of the final
// "done" event of a stream.
type GenerateResponse struct {
	Text         string   `json:"text"`                    // the generated text, without the seed or the stop sequence
	RNGSeed      uint64   `json:"rng_seed"`                // the seed used: the same request with it gives the same text
	Chars        int      `json:"chars"`                   // characters generated
	MeanLogProb  *float64 `json:"mean_log_prob"`           // mean log-probability of the generated characters (nats/char); null when none
	FinishReason string   `json:"finish_reason"`           // "length" (max_chars reached), "stop", "timeout" or "cancelled"
	StopSequence string   `json:"stop_sequence,omitempty"` // the stop sequence that ended generation
}

// GenerateChunk is the data of a "chunk" event of a stream.
type GenerateChunk struct {
	Text string `json:"text"`
}

// ClassifyRequest is the body of POST /v1/classify.
type ClassifyRequest struct {
	Texts []string `json:"texts"` // the reviews, each classified on its own
	TopK  int      `json:"top_k"` // also list the K most probable labels in "top" (capped at the number of labels); 0 = no list
}

// ClassifyResponse is the answer to POST /v1/classify: one result per text,
// in the order of the texts.
type ClassifyResponse struct {
	Results []ClassifyResult `json:"results"`
}

// ClassifyResult is the prediction for one text.
type ClassifyResult struct {
	Label       string             `json:"label"`         // the most probable label
	Probability float32            `json:"probability"`   // its probability
	Probs       map[string]float32 `json:"probs"`         // every label's probability
	Top         []LabelProb        `json:"top,omitempty"` // the top_k most probable labels, most probable first
}

// LabelProb is a label and its probability.
type LabelProb struct {
	Label       string  `json:"label"`
	Probability float32 `json:"probability"`
}

// TranslateRequest is the body of POST /v1/translate.
type TranslateRequest struct {
	Texts     []string `json:"texts"`     // sentences to translate; "" gives ""
	From      string   `json:"from"`      // source language; default the first translator's; "auto" detects each text's
	To        string   `json:"to"`        // target language; default the one the source language's translator produces
	Beam      *int     `json:"beam"`      // beam width, default 5; 1 is greedy (fastest)
	NBest     int      `json:"nbest"`     // also list the N best hypotheses (at most beam); 0 or 1 = none
	Attention bool     `json:"attention"` // include the tokens and the attention matrix
}

// TranslateResponse is the answer to POST /v1/translate: one result per
// text, in the order of the texts.
type TranslateResponse struct {
	Results []TranslateResult `json:"results"`
}

// TranslateResult is the translation of one text.
type TranslateResult struct {
	Translation  string                `json:"translation"`
	LogProb      float64               `json:"log_prob"` // log-probability of the output tokens under the model (nats)
	From         string                `json:"from"`     // the source language used (detected with "auto")
	To           string                `json:"to"`
	SourceTokens []string              `json:"source_tokens,omitempty"` // with attention
	TargetTokens []string              `json:"target_tokens,omitempty"` // with attention; </s> last
	Attention    [][]float32           `json:"attention,omitempty"`     // with attention: one row per target token, one column per source token
	NBest        []seq2seq.Alternative `json:"nbest,omitempty"`         // with nbest > 1: the best hypotheses, best first
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

// ModelsResponse is the answer to GET /v1/models.
type ModelsResponse struct {
	Version     string        `json:"version,omitempty"`
	Models      []ModelInfo   `json:"models"`
	Unavailable []Unavailable `json:"unavailable"`
	Limits      Limits        `json:"limits"`
}

// ModelInfo describes one loaded model.
type ModelInfo struct {
	Task       string            `json:"task"`   // "generate", "classify" or "translate"
	Kind       string            `json:"kind"`   // the model file's kind: charrnn, sentiment, seq2seq
	Source     string            `json:"source"` // the file it was loaded from
	From       string            `json:"from,omitempty"`
	To         string            `json:"to,omitempty"`
	Labels     []string          `json:"labels,omitempty"`
	Parameters int               `json:"parameters"`
	Config     any               `json:"config"`
	Quality    map[string]string `json:"quality"`  // the model file's quality.* metadata, measured on held-out data at training time
	Metadata   map[string]string `json:"metadata"` // the rest of its metadata (training data, licence, attribution), values up to 1 KiB
	// Ensemble lists the sources of the models that generate or translate
	// with this one, their next-character probabilities or next-token
	// log-probabilities averaged (absent for one model).
	Ensemble []string `json:"ensemble,omitempty"`
}

// Unavailable is a model that was asked for but is not served, and why.
type Unavailable struct {
	Task   string `json:"task"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Reason string `json:"reason"`
}

// Limits are the bounds a request must keep, as configured.
type Limits struct {
	MaxBodyBytes int64   `json:"max_body_bytes"`
	MaxTexts     int     `json:"max_texts"`
	MaxTextChars int     `json:"max_text_chars"`
	MaxGenChars  int     `json:"max_gen_chars"`
	MaxBeam      int     `json:"max_beam"`
	MaxBatch     int     `json:"max_batch"`
	BatchWaitMS  float64 `json:"batch_wait_ms"`
	Queue        int     `json:"queue"`
	Workers      int     `json:"workers"`
	TimeoutS     float64 `json:"timeout_s"`
}
