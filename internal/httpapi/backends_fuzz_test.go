package httpapi

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzDecodeAddBackend feeds the POST /v1/backends and /v1/backends/test
// body decoders arbitrary bytes: no panic, every refusal a 400 naming a
// field, and nothing accepted without a URL.
func FuzzDecodeAddBackend(f *testing.F) {
	for _, seed := range []string{
		`{"id":"gpu2","url":"http://10.0.0.9:8188","max_inflight":3}`, `{"url":"http://h"}`, `{"url":""}`,
		`{"max_inflight":1e400,"url":"x"}`, `{"max_inflight":-1,"url":"x"}`, `{"url":1}`, `{"URL":"x"}`,
		`{"url":"x"} {}`, `[]`, `null`, ``, `{"id":null,"url":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		add, addErr := decodeAddBackend(data)
		probe, testErr := decodeTestBackend(data)
		for _, err := range []error{addErr, testErr} {
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Field == "" || e.Message == "") {
				t.Fatalf("refusal %v is not a 400 naming a field", err)
			}
		}
		if (addErr == nil && add.URL == "") || (testErr == nil && probe.URL == "") {
			t.Fatalf("accepted without a url: %+v %+v", add, probe)
		}
	})
}
