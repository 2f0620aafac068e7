package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/api"
)

// truncatedError answers a body that ends before its JSON value does. The
// offset is where the body ends (the decoder reports 0 for a value it never
// finished), and the field is the member that was being read, found by
// walking the tokens that did arrive, so a client cut off by a proxy or a
// size limit on its own side learns where.
func truncatedError(data []byte) *Error {
	path := openPath(data)
	where, field := "the top-level value", "body"
	if path != "" {
		where, field = path, path
	} else if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		where = "the top-level object"
	}
	return &Error{Status: http.StatusBadRequest, Code: api.CodeInvalidJSON, Field: field,
		Message: fmt.Sprintf("malformed JSON: the body ends at byte offset %d, inside %s", len(data), where)}
}

// frame is one open object or array while walking tokens.
type frame struct {
	label  string // path segment of this container in its parent
	object bool
	key    string // the member being read (objects)
	hasKey bool   // key read, its value not finished
	index  int    // the element being read (arrays)
}

// openPath returns the path of the innermost member still open where data
// ends ("params.prompt", "prompt.3.inputs.model"), or "" at the top level.
// Only the error path calls it, on a body already bounded in size.
func openPath(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return pathOf(stack)
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			valueDone(stack)
			continue
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.object && !top.hasKey {
			top.key, top.hasKey = s, true
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{label: segment(top), object: d == '{'})
			continue
		}
		valueDone(stack)
	}
}

// valueDone moves the innermost container past the value just finished.
func valueDone(stack []*frame) {
	if len(stack) == 0 {
		return
	}
	top := stack[len(stack)-1]
	if top.object {
		top.hasKey = false
	} else {
		top.index++
	}
}

// segment is the path segment of the value top is reading now.
func segment(top *frame) string {
	switch {
	case top == nil:
		return ""
	case top.object:
		return "." + top.key
	}
	return "[" + strconv.Itoa(top.index) + "]"
}

func pathOf(stack []*frame) string {
	var b strings.Builder
	for _, f := range stack {
		b.WriteString(f.label)
	}
	if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].hasKey {
		b.WriteString(segment(stack[n-1]))
	}
	return strings.TrimPrefix(b.String(), ".")
}
