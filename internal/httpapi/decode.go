package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/api"
)

// decodeStrict decodes exactly one JSON value of data into dst: unknown
// fields are refused (a typo must not be silently ignored) and numbers stay
// json.Number, so 64-bit seeds in params survive exactly.
func decodeStrict(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, data)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return invalidJSON(fmt.Sprintf("unexpected data after the JSON value (byte offset %d)", end))
	}
	return nil
}

// checkJSON tells whether data is one well-formed JSON object, with the
// byte offset of the first problem.
func checkJSON(data []byte) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return invalidJSON("the request body is empty")
	}
	var raw json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return jsonError(err, trimmed)
	}
	if trimmed[0] != '{' {
		return invalidJSON("the body must be a JSON object")
	}
	return nil
}

func invalidJSON(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: api.CodeInvalidJSON, Field: "body", Message: msg}
}

// jsonError turns a decoder failure on data into a 400 that names the
// field and the problem (and the byte offset where there is one).
func jsonError(err error, data []byte) error {
	var (
		syn      *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return invalidJSON("the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &syn) && strings.HasSuffix(syn.Error(), "unexpected end of JSON input"):
		return truncatedError(data)
	case syn != nil:
		return invalidJSON(fmt.Sprintf("malformed JSON at byte offset %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: ")))
	case errors.As(err, &typ):
		return &Error{Status: http.StatusBadRequest, Code: api.CodeInvalidRequest, Field: orDefault(typ.Field, "body"),
			Message: fmt.Sprintf("must be %s, not %s (byte offset %d)", kindName(typ.Type), typ.Value, typ.Offset)}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		field, uerr := strconv.Unquote(name)
		if uerr != nil {
			field = name
		}
		return &Error{Status: http.StatusBadRequest, Code: api.CodeInvalidRequest, Field: orDefault(field, "body"),
			Message: fmt.Sprintf("unknown field %q", field)}
	}
	return invalidJSON("malformed JSON: " + msg)
}

// kindName says what a Go type looks like in JSON.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}
