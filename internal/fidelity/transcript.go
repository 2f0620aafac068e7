package fidelity

import (
	"crypto/sha256"
	"encoding/hex"
)

// Raw is one scenario's traffic exactly as seen, before normalisation. The
// capture converter writes the real server's traffic in this form
// (testdata/raw), and a live run records the target's traffic in the same
// form, so that one normaliser serves both.
type Raw struct {
	Scenario string `json:"scenario"`
	// Source names the capture file the transcript came from; empty for live
	// runs.
	Source string `json:"source,omitempty"`
	// Host is the host:port the client talked to; it is replaced by <host>
	// where it shows up in request headers (Origin).
	Host string `json:"host"`
	// NumberBase is the server's prompt counter when the scenario's recorded
	// part began. Queue numbers are written relative to it (see normalise.go).
	NumberBase int64         `json:"number_base"`
	HTTP       []RawExchange `json:"http"`
	WS         []RawSocket   `json:"ws"`
}

// RawExchange is one HTTP request and its answer.
type RawExchange struct {
	Label  string `json:"label"`
	Method string `json:"method"`
	Path   string `json:"path"`
	// Headers holds only the request headers a scenario sets on purpose
	// (Origin, and Host when it differs from the target's).
	Headers   map[string]string `json:"headers,omitempty"`
	Body      *string           `json:"body,omitempty"`
	Multipart []RawPart         `json:"multipart,omitempty"`
	Response  RawResponse       `json:"response"`
}

// RawPart is one multipart form field: a file (hashed) or a plain value.
type RawPart struct {
	Name        string  `json:"name"`
	Filename    string  `json:"filename,omitempty"`
	ContentType string  `json:"content_type,omitempty"`
	SHA256      string  `json:"sha256,omitempty"`
	First8Hex   string  `json:"first8_hex,omitempty"`
	Length      int     `json:"length,omitempty"`
	Value       *string `json:"value,omitempty"`
}

// RawResponse is an HTTP answer. Text bodies are kept verbatim; other bodies
// only as a hash, as in the captures.
type RawResponse struct {
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers"`
	Body    *string     `json:"body,omitempty"`
	Binary  *BinaryInfo `json:"binary,omitempty"`
	// Error is set when no answer arrived (live runs only).
	Error string `json:"error,omitempty"`
}

// BinaryInfo identifies a non-text body without storing it.
type BinaryInfo struct {
	Length    int    `json:"length"`
	First8Hex string `json:"first8_hex"`
	SHA256    string `json:"sha256"`
}

func binaryInfo(b []byte) *BinaryInfo {
	sum := sha256.Sum256(b)
	return &BinaryInfo{Length: len(b), First8Hex: hex.EncodeToString(b[:min(8, len(b))]), SHA256: hex.EncodeToString(sum[:])}
}

// RawSocket is one WebSocket connection and every text frame it carried,
// in order.
type RawSocket struct {
	Name   string     `json:"name"`
	Path   string     `json:"path"`
	Status int        `json:"status"`
	Events []RawEvent `json:"events"`
}

// RawEvent is a frame received (Recv) or sent (Send) by the client.
type RawEvent struct {
	Recv *string `json:"recv,omitempty"`
	Send *string `json:"send,omitempty"`
}
