package comfywire

import (
	"errors"
	"fmt"
	"io"
	"net/http"
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

// WriteBodyTooLarge is aiohttp's 413 for a body over limit, in its words.
func WriteBodyTooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	WriteText(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Maximum request body size %d exceeded, actual body size %d",
		limit, max(r.ContentLength, limit+1)))
}
