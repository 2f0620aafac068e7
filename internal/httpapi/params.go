package httpapi

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/comfygate/comfygate/api"
)

// nameRE is the shape of a workflow name: it appears in URLs, in OpenAPI
// component names and in logs, so it is kept plain.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

const (
	maxIDLen       = 256
	maxCursorLen   = 1024
	maxIdemKeyLen  = 255
	maxListLimit   = 1000
	maxWebhookLen  = 2048
	maxVersionLen  = 128
	maxFilenameLen = 255
)

func checkName(field, name string) error {
	if !nameRE.MatchString(name) {
		return badRequest(field, "must match %s (letters, digits, '.', '_', '-'; at most 128), got %q", nameRE, clip(name))
	}
	return nil
}

// pathID is a job or artifact id from the path. Ids are chosen by the
// gateway or, on the ComfyUI surface, by clients, so only length and
// control characters are checked.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > maxIDLen || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return "", badRequest("id", "must be 1 to %d printable characters", maxIDLen)
	}
	return id, nil
}

// parseWait reads ?wait= as a Go duration ("30s", "2m") or whole seconds.
func parseWait(r *http.Request, limit time.Duration) (time.Duration, error) {
	return parseDurationParam(r, "wait", limit)
}

// parseDurationParam reads the query parameter name as a Go duration
// ("30s", "2m") or whole seconds, from 0 to limit; absent is 0.
func parseDurationParam(r *http.Request, name string, limit time.Duration) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if n, nerr := strconv.ParseUint(v, 10, 32); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	switch {
	case err != nil:
		return 0, badRequest(name, "must be a duration such as 30s or 2m, got %q", clip(v))
	case d < 0:
		return 0, badRequest(name, "must not be negative, got %s", d)
	case d > limit:
		return 0, badRequest(name, "must be at most %s, got %s", limit, d)
	}
	return d, nil
}

func parseJobQuery(r *http.Request) (api.JobQuery, error) {
	v := r.URL.Query()
	var q api.JobQuery
	var err error
	if q.State, err = parseStates(v["state"]); err != nil {
		return q, err
	}
	if q.Workflow = v.Get("workflow"); q.Workflow != "" {
		if err := checkName("workflow", q.Workflow); err != nil {
			return q, err
		}
	}
	if q.Cursor = v.Get("cursor"); len(q.Cursor) > maxCursorLen {
		return q, badRequest("cursor", "must be at most %d characters", maxCursorLen)
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			return q, badRequest("limit", "must be an integer from 1 to %d, got %q", maxListLimit, clip(s))
		}
		q.Limit = n
	}
	return q, nil
}

// parseStates takes ?state= repeated and/or comma-separated.
func parseStates(values []string) ([]api.JobState, error) {
	var out []api.JobState
	seen := map[api.JobState]bool{}
	for _, v := range values {
		for s := range strings.SplitSeq(v, ",") {
			st := api.JobState(strings.TrimSpace(s))
			if st == "" || seen[st] {
				continue
			}
			if !knownState(st) {
				return nil, badRequest("state", "unknown state %q; use queued, dispatched, running, retrying, succeeded, failed or cancelled", clip(string(st)))
			}
			seen[st] = true
			out = append(out, st)
		}
	}
	return out, nil
}

func knownState(s api.JobState) bool {
	switch s {
	case api.StateQueued, api.StateDispatched, api.StateRunning, api.StateRetrying,
		api.StateSucceeded, api.StateFailed, api.StateCancelled:
		return true
	}
	return false
}

// idempotencyKey reads the Idempotency-Key header.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if len(k) > maxIdemKeyLen {
		return "", badRequest("Idempotency-Key", "must be at most %d characters, got %d", maxIdemKeyLen, len(k))
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", badRequest("Idempotency-Key", "must be printable ASCII")
		}
	}
	return k, nil
}

// clip shortens user input quoted back in an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
