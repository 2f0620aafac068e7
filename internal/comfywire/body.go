package comfywire

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// ErrBodyTooLarge marks a body over the server's client_max_size.
var ErrBodyTooLarge = errors.New("request body too large")

// ReadBody reads the whole body of r, at most limit bytes.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, ErrBodyTooLarge
	}
	return data, nil
}

// ErrNotJSON marks a body that is not one JSON value: Python's
// json.JSONDecodeError, which some of ComfyUI's handlers catch.
var ErrNotJSON = errors.New("body is not JSON")

// ReadJSON reads the body of r (at most limit bytes) and decodes it as
// aiohttp's `await request.json()` does, objects in order. A body that is
// not JSON gives an error wrapping ErrNotJSON; every other error (too
// large, unreadable, not UTF-8) is raised before json.loads runs and so is
// caught by no handler of ComfyUI's.
func ReadJSON(r *http.Request, limit int64) (any, error) {
	data, err := ReadBody(r, limit)
	if err != nil {
		return nil, err
	}
	return DecodeJSON(data, comfyjson.Limits{})
}

// DecodeJSON is ReadJSON's decoding of a body already read, within lim:
// a body beyond them is a *comfyjson.LimitError, not ErrNotJSON (Python
// would have decoded it).
func DecodeJSON(data []byte, lim comfyjson.Limits) (any, error) {
	v, err := comfyjson.DecodeLimits(data, lim)
	var le *comfyjson.LimitError
	if err != nil && !errors.Is(err, comfyjson.ErrInvalidUTF8) && !errors.As(err, &le) {
		return nil, fmt.Errorf("%w: %w", ErrNotJSON, err)
	}
	return v, err
}

// WriteBodyTooLarge is aiohttp's 413 for a body over limit, in its words.
func WriteBodyTooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	WriteText(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Maximum request body size %d exceeded, actual body size %d",
		limit, max(r.ContentLength, limit+1)))
}
