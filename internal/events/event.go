// Package events is the per-job ordered event hub: it fans each job's
// lifecycle and progress events out to every stream watching that job (SSE,
// WebSocket, ComfyUI-compatible /ws clients, webhooks) without ever letting a
// slow reader hold up the publisher or the other readers.
//
// Every event carries an ID that orders it within its job, so a client that
// drops (or is dropped for being slow) resumes from its Last-Event-ID with no
// gap and no duplicate: recent events come from a bounded in-memory ring per
// job, older durable ones from the store through a Replayer.
//
// Two kinds of event share one ID space:
//
//   - Durable events (queued, started, output, succeeded, …) are stored first
//     and published second. Their ID is "seq", the per-job sequence number the
//     store assigned (1, 2, …).
//   - Ephemeral events (progress, previews, queue position) are never stored.
//     The hub stamps them "seq.sub": seq is the job's last durable sequence
//     number and sub counts 1, 2, … until the next durable event.
//
// Ephemeral events may be lost (a ring that overflowed, a resume on another
// replica); durable events never are.
//
// Several replicas: a Link, given to the hub as its Forwarder, sends every
// event published here to the other replicas over a Transport (PostgreSQL
// LISTEN/NOTIFY), and feeds what they send into this hub (Deliver), so any
// replica serves any job's stream. Durable events from several replicas
// arrive out of order or not at all; a subscription that sees a gap fills
// it from the store, so its client sees no difference. A single process
// has no Link and pays nothing for it.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// Event is one job event as the hub fans it out. Data is shared between all
// subscribers and must not be modified after Publish.
type Event struct {
	JobID string
	Owner string // the job's owner; streams of all of an owner's jobs match on it
	Seq   int64  // durable: the store's per-job sequence number; ephemeral: the last durable one
	Sub   int64  // 0 for durable events; 1, 2, … for ephemeral events after Seq
	Type  string
	Data  json.RawMessage
	Time  time.Time
	// Job is the job as this event left it, when the publisher has it at
	// hand (the first event of a new job, a terminal one); read-only. A
	// subscriber that shows the job with the event uses it instead of
	// reading the job back. Only live deliveries carry it: the ring keeps
	// events without it, so finished jobs hold no copy in memory, and
	// replays and other replicas' events come without one.
	Job *job.Job
	// Relayed marks an event another replica published and this hub got
	// through Deliver; it is not on the wire. Consumers that act once per
	// event for the whole system (the webhook progress sender) skip
	// relayed events: the replica that published the event acts on it.
	Relayed bool
}

// Durable reports whether e is a stored lifecycle event rather than an
// ephemeral one. Publish uses the same rule to tell the two apart.
func (e Event) Durable() bool { return e.Sub == 0 && e.Seq > 0 }

// ID returns the event's position within its job.
func (e Event) ID() ID { return ID{Seq: e.Seq, Sub: e.Sub} }

// ID orders events within one job: by Seq, then by Sub. The zero ID is
// "before everything", which is where a fresh subscription starts.
type ID struct {
	Seq int64
	Sub int64
}

// String renders the ID as sent in SSE "id:" lines: "seq" or "seq.sub".
func (id ID) String() string {
	if id.Sub == 0 {
		return strconv.FormatInt(id.Seq, 10)
	}
	return strconv.FormatInt(id.Seq, 10) + "." + strconv.FormatInt(id.Sub, 10)
}

// Compare returns -1, 0 or +1 as id sorts before, equal to or after other.
func (id ID) Compare(other ID) int {
	switch {
	case id.Seq != other.Seq:
		return cmpInt(id.Seq, other.Seq)
	default:
		return cmpInt(id.Sub, other.Sub)
	}
}

// Less reports whether id sorts before other.
func (id ID) Less(other ID) bool { return id.Compare(other) < 0 }

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ErrInvalidID is wrapped by every ParseID failure.
var ErrInvalidID = errors.New("invalid event id")

// maxIDLen bounds the input ParseID looks at: two int64s and a dot.
const maxIDLen = 2*19 + 1

// ParseID parses the canonical form String produces, as received in a
// Last-Event-ID header. Only that form is accepted (no sign, no leading
// zeros, no ".0"), so every accepted input round-trips exactly.
func ParseID(s string) (ID, error) {
	if s == "" {
		return ID{}, fmt.Errorf("%w: empty", ErrInvalidID)
	}
	if len(s) > maxIDLen {
		return ID{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidID, maxIDLen)
	}
	seqStr, subStr, hasSub := strings.Cut(s, ".")
	seq, err := parseCounter(seqStr)
	if err != nil {
		return ID{}, fmt.Errorf("%w %q: seq %v", ErrInvalidID, s, err)
	}
	if !hasSub {
		return ID{Seq: seq}, nil
	}
	sub, err := parseCounter(subStr)
	if err != nil {
		return ID{}, fmt.Errorf("%w %q: sub %v", ErrInvalidID, s, err)
	}
	if sub == 0 {
		return ID{}, fmt.Errorf("%w %q: sub must be at least 1", ErrInvalidID, s)
	}
	return ID{Seq: seq, Sub: sub}, nil
}

// parseCounter accepts a canonical non-negative decimal int64.
func parseCounter(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("is empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("is not a decimal number")
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("has a leading zero")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("is out of range")
	}
	return n, nil
}
