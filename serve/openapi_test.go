package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rnnkit/rnnkit/seq2seq"
	"github.com/stretchr/testify/require"
)

// The OpenAPI document is written by hand; these tests hold it to the
// handlers: the same paths and methods, the same request and response
// fields, and examples that the handlers accept and answer as documented.

type openapiDoc struct {
	raw   map[string]any
	paths map[string]map[string]any // path -> method -> operation
}

func loadOpenAPI(t *testing.T) openapiDoc {
	t.Helper()
	var d openapiDoc
	require.NoError(t, json.Unmarshal(openapiJSON, &d.raw))
	require.Equal(t, "3.1.0", d.raw["openapi"])
	d.paths = map[string]map[string]any{}
	for p, item := range d.raw["paths"].(map[string]any) {
		d.paths[p] = map[string]any{}
		for m, op := range item.(map[string]any) {
			d.paths[p][strings.ToUpper(m)] = op
		}
	}
	return d
}

// resolve follows a local $ref.
func (d openapiDoc) resolve(t *testing.T, s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var cur any = d.raw
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := cur.(map[string]any)
			require.True(t, ok, "bad $ref %s", ref)
			cur, ok = m[part]
			require.True(t, ok, "dangling $ref %s", ref)
		}
		s = cur.(map[string]any)
	}
}

// validate checks a decoded JSON value against a schema (the subset of JSON
// Schema the document uses) and returns what does not match.
func (d openapiDoc) validate(t *testing.T, s map[string]any, v any, at string) []string {
	s = d.resolve(t, s)
	var errs []string
	if ty, ok := s["type"]; ok {
		var types []string
		switch ty := ty.(type) {
		case string:
			types = []string{ty}
		case []any:
			for _, x := range ty {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(ty string) bool { return jsonIs(ty, v) }) {
			return []string{fmt.Sprintf("%s: %v is not %v", at, v, types)}
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		required, _ := s["required"].([]any)
		for _, r := range required {
			if _, ok := v[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required %q is missing", at, r))
			}
		}
		for k, x := range v {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, d.validate(t, ps, x, at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: %q is not documented", at, k))
				}
			case map[string]any:
				errs = append(errs, d.validate(t, ap, x, at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, d.validate(t, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func jsonIs(ty string, v any) bool {
	switch ty {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return false
}

// TestOpenAPIRoutes: every documented path and method is served, and every
// route is documented.
func TestOpenAPIRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	s, err := New(models(t), DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	var documented, served []string
	for p, ops := range d.paths {
		for m := range ops {
			documented = append(documented, m+" "+p)
		}
	}
	for _, r := range s.routes {
		for _, m := range r.methods {
			served = append(served, m+" "+r.path)
		}
	}
	sort.Strings(documented)
	sort.Strings(served)
	require.Equal(t, served, documented)
	for p, ops := range d.paths {
		for m, op := range ops {
			resp := op.(map[string]any)["responses"].(map[string]any)
			require.Contains(t, resp, "200", "%s %s", m, p)
			require.Contains(t, resp, "405", "%s %s documents its 405", m, p)
		}
	}
}

// TestOpenAPISchemasMatchTypes: the documented fields of each body are the
// JSON fields of its Go type.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	d := loadOpenAPI(t)
	schemas := d.raw["components"].(map[string]any)["schemas"].(map[string]any)
	types := map[string]any{
		"GenerateRequest": &GenerateRequest{}, "GenerateResponse": &GenerateResponse{},
		"ClassifyRequest": &ClassifyRequest{}, "ClassifyResponse": &ClassifyResponse{}, "ClassifyResult": &ClassifyResult{}, "LabelProb": &LabelProb{},
		"TranslateRequest": &TranslateRequest{}, "TranslateResponse": &TranslateResponse{}, "TranslateResult": &TranslateResult{}, "Alternative": &seq2seq.Alternative{},
		"ModelsResponse": &ModelsResponse{}, "ModelInfo": &ModelInfo{}, "Unavailable": &Unavailable{}, "Limits": &Limits{}, "Error": &ErrorResponse{},
	}
	for name, v := range types {
		sc, ok := schemas[name].(map[string]any)
		require.True(t, ok, "schema %s", name)
		var props []string
		for k := range sc["properties"].(map[string]any) {
			props = append(props, k)
		}
		fields := jsonFields(v)
		sort.Strings(props)
		sort.Strings(fields)
		require.Equal(t, fields, props, "schema %s", name)
		require.Equal(t, false, sc["additionalProperties"], "schema %s is closed", name)
	}
	for name := range schemas {
		if name != "Status" {
			require.Contains(t, types, name, "schema %s has a Go type", name)
		}
	}
}

// TestOpenAPIExamples: each example request of the document succeeds
// against the handlers, and each answer matches its documented schema;
// the GET routes too, and an error answer matches the Error schema.
func TestOpenAPIExamples(t *testing.T) {
	d := loadOpenAPI(t)
	_, ts := newTest(t, models(t), nil)
	for p, ops := range d.paths {
		for m, op := range ops {
			op := op.(map[string]any)
			ok200 := op["responses"].(map[string]any)["200"].(map[string]any)
			content := d.resolve(t, ok200)["content"].(map[string]any)
			check := func(t *testing.T, resp *http.Response) {
				ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
				require.Contains(t, content, ct, "%s %s answers a documented type", m, p)
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.Equal(t, 200, resp.StatusCode, "%s", body)
				switch ct {
				case "application/json":
					var v any
					require.NoError(t, json.Unmarshal(body, &v))
					schema := content[ct].(map[string]any)["schema"].(map[string]any)
					require.Empty(t, d.validate(t, schema, v, "body"), "%s", body)
				case "text/event-stream":
					schemas := d.raw["components"].(map[string]any)["schemas"].(map[string]any)
					r := bufio.NewReader(strings.NewReader(string(body)))
					var names []string
					for {
						ev, err := readEvent(r)
						if err == io.EOF {
							break
						}
						require.NoError(t, err)
						names = append(names, ev.name)
						var v any
						require.NoError(t, json.Unmarshal([]byte(ev.data), &v))
						if ev.name == "done" {
							require.Empty(t, d.validate(t, schemas["GenerateResponse"].(map[string]any), v, "done"))
						} else {
							require.Equal(t, "chunk", ev.name)
							require.Equal(t, []string{"text"}, keys(v))
						}
					}
					require.Equal(t, "done", names[len(names)-1])
				}
			}
			if m == "GET" {
				t.Run(m+" "+p, func(t *testing.T) {
					resp, err := http.Get(ts.URL + p)
					require.NoError(t, err)
					defer resp.Body.Close()
					check(t, resp)
				})
				continue
			}
			rb := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
			examples := rb["examples"].(map[string]any)
			require.NotEmpty(t, examples)
			for name, ex := range examples {
				t.Run(m+" "+p+" "+name, func(t *testing.T) {
					value := ex.(map[string]any)["value"]
					require.Empty(t, d.validate(t, rb["schema"].(map[string]any), value, "example"))
					b, _ := json.Marshal(value)
					resp, err := http.Post(ts.URL+p, "application/json", strings.NewReader(string(b)))
					require.NoError(t, err)
					defer resp.Body.Close()
					check(t, resp)
				})
			}
		}
	}
	// An error answer is an Error.
	schemas := d.raw["components"].(map[string]any)["schemas"].(map[string]any)
	code, _, b := post(t, ts, "/v1/classify", `{"texts": []}`)
	require.Equal(t, 400, code)
	var v any
	require.NoError(t, json.Unmarshal([]byte(b), &v))
	require.Empty(t, d.validate(t, schemas["Error"].(map[string]any), v, "error"))
}

func keys(v any) []string {
	var ks []string
	for k := range v.(map[string]any) {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
