package httpapi

import (
	"net/http"
	"strconv"
	"strings"
)

// lastEventID is where a stream resumes: the Last-Event-ID header, which
// browsers' EventSource send on reconnect, else ?last_event_id= (for
// WebSocket clients, which cannot set headers from a browser).
func lastEventID(r *http.Request) (string, error) {
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		id, err := parseEventID(v)
		if err != nil {
			return "", badRequest("Last-Event-ID", "%s", err)
		}
		return id, nil
	}
	id, err := parseEventID(r.URL.Query().Get("last_event_id"))
	if err != nil {
		return "", badRequest("last_event_id", "%s", err)
	}
	return id, nil
}

type eventIDError string

func (e eventIDError) Error() string { return string(e) }

const errEventIDShape = eventIDError(`must be an event id such as "12" or "12.3"`)

// parseEventID checks an event id ("seq" or "seq.sub", decimal, each a
// non-negative int64 as the event hub counts) and returns it canonical (no
// leading zeros), so the service gets no surprises from untrusted input.
// "" means from the start.
func parseEventID(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > 41 {
		return "", errEventIDShape
	}
	seqPart, subPart, hasSub := strings.Cut(s, ".")
	seq, err := parseDecimal(seqPart)
	if err != nil {
		return "", err
	}
	out := strconv.FormatUint(seq, 10)
	if !hasSub {
		return out, nil
	}
	sub, err := parseDecimal(subPart)
	if err != nil {
		return "", err
	}
	return out + "." + strconv.FormatUint(sub, 10), nil
}

func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, errEventIDShape
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errEventIDShape
		}
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, errEventIDShape
	}
	return n, nil
}
