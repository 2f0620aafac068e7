package job

import (
	"encoding/base64"
	"fmt"
	"strconv"
)

// The cursor of a ListJobs page names the last job of the page by its
// Seq, for one order. It is defined here, beside JobFilter, so that a use
// case that ends a page early (one whose jobs weigh too much) can give
// the cursor after the jobs it kept, as a store would.

// PageCursor is the cursor of the page after the job with seq, in order o.
func PageCursor(o Order, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix(o) + strconv.FormatInt(seq, 10)))
}

// ParseCursor returns the Seq a cursor of order o names; a malformed
// cursor, or one made for the other order, is ErrInvalid.
func ParseCursor(c string, o Order) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || string(b[:1]) != cursorPrefix(o) {
		return 0, fmt.Errorf("%w: cursor %q is malformed or was made for another order", ErrInvalid, c)
	}
	seq, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || seq < 0 {
		return 0, fmt.Errorf("%w: cursor %q is malformed", ErrInvalid, c)
	}
	return seq, nil
}

// cursorPrefix tells the order a cursor was made for.
func cursorPrefix(o Order) string {
	if o == OrderAsc {
		return "a"
	}
	return "d"
}
