package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// statusClientGone is recorded (never sent) for a request whose client went
// away before the answer: nginx's 499.
const statusClientGone = 499

// apiError is an error answered with its HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, a ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, a...)}
}

func badRequest(format string, a ...any) *apiError {
	return errorf(http.StatusBadRequest, format, a...)
}

// bodyTimeout bounds the reading of a request body when Options.Timeout
// does not, so that a body sent slowly cannot hold a connection for ever.
const bodyTimeout = time.Minute

// decodeBody reads the JSON object of r's body into v: at most max bytes
// (413 beyond), valid UTF-8, no unknown fields, nothing after the object,
// all of it within timeout (or bodyTimeout).
func decodeBody(w http.ResponseWriter, r *http.Request, max int64, timeout time.Duration, v any) error {
	if timeout <= 0 {
		timeout = bodyTimeout
	}
	// A read deadline on the connection (not http.Server.ReadTimeout, which
	// would also end a long streamed answer); unsupported writers ignore it.
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if deadline && err == nil {
		rc.SetReadDeadline(time.Time{}) // the next request on the connection has its own
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "the request body is larger than %d bytes", max)
	}
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		w.Header().Set("Connection", "close") // the rest of the body is not awaited
		return errorf(http.StatusRequestTimeout, "the request body did not arrive within %s", timeout)
	}
	if err != nil {
		return badRequest("reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("the request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return badRequest("the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("%s", jsonMessage(err, v))
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("invalid JSON: data after the request object")
	}
	return nil
}

// jsonMessage explains a decoding error in the API's terms.
func jsonMessage(err error, v any) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: the request body ends in the middle of the object"
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("the request body must be a JSON object, not %s", te.Value)
		}
		if ft, ok := fieldType(v, te.Field); ok && ft.Kind() == reflect.Slice && ft != te.Type {
			return fmt.Sprintf("field %q must be %s; it holds %s", te.Field, jsonKind(ft), te.Value)
		}
		return fmt.Sprintf("field %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("unknown field %s; the fields are: %s", strings.TrimPrefix(err.Error(), "json: unknown field "), strings.Join(jsonFields(v), ", "))
	}
	return "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names what a Go type accepts in JSON.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	}
	return "an object"
}

// jsonFields lists the JSON names of the fields of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// fieldType is the type of the field of the struct v points to whose JSON
// name is name.
func fieldType(v any, name string) (reflect.Type, bool) {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for f := range t.Fields() {
		if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n == name {
			return f.Type, true
		}
	}
	return nil, false
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		fmt.Fprintf(&b, "{\"error\":%q}\n", "encoding the answer: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// retryAfter is the Retry-After of a 503: the queues turn over in well
// under a second, so one second is a fair first wait.
const retryAfter = "1"

// markGone records that the client went away before its answer.
func markGone(w http.ResponseWriter) {
	if sw, ok := w.(*statusWriter); ok {
		sw.status = statusClientGone
	}
}

// writeError answers err as {"error": ...} with the status it calls for.
// A client that went away gets nothing (its status is recorded as 499).
func writeError(w http.ResponseWriter, r *http.Request, err error, timeout time.Duration) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeJSON(w, ae.status, ErrorResponse{ae.msg})
	case errors.Is(err, errQueueFull), errors.Is(err, errClosed):
		w.Header().Set("Retry-After", retryAfter)
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{err.Error()})
	case errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusGatewayTimeout, ErrorResponse{fmt.Sprintf("the request took longer than the server's timeout of %s", timeout)})
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		markGone(w)
	default:
		writeJSON(w, http.StatusInternalServerError, ErrorResponse{err.Error()})
	}
}
