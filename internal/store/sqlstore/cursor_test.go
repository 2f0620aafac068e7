package sqlstore

import (
	"errors"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, o := range []job.Order{"", job.OrderDesc, job.OrderAsc} {
		for _, seq := range []int64{0, 1, 42, 1<<62 + 3} {
			c := encodeCursor(o, seq)
			got, err := decodeCursor(c, o)
			if err != nil || got != seq {
				t.Errorf("decode(encode(%q, %d)) = %d, %v", o, seq, got, err)
			}
		}
	}
	if _, err := decodeCursor(encodeCursor(job.OrderAsc, 5), job.OrderDesc); !errors.Is(err, job.ErrInvalid) {
		t.Errorf("cursor of another order accepted: %v", err)
	}
}

// FuzzDecodeCursor: cursors come from API clients; any string must give a
// sequence number or ErrInvalid, never a panic.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(job.OrderAsc, 7))
	f.Add(encodeCursor(job.OrderDesc, 1<<40))
	f.Add("")
	f.Add("ZC0x")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, c string) {
		for _, o := range []job.Order{job.OrderAsc, job.OrderDesc} {
			seq, err := decodeCursor(c, o)
			if err != nil && !errors.Is(err, job.ErrInvalid) {
				t.Fatalf("decodeCursor(%q) error %v is not ErrInvalid", c, err)
			}
			if err == nil && (seq < 0 || encodeCursor(o, seq) == "") {
				t.Fatalf("decodeCursor(%q) = %d", c, seq)
			}
		}
	})
}

func TestTimeColScan(t *testing.T) {
	want := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	tests := map[string]struct {
		src  any
		want time.Time
	}{
		"nil":          {nil, time.Time{}},
		"unix micros":  {want.UnixMicro(), want},
		"time in zone": {want.In(time.FixedZone("X", 3600)), want},
		"text micros":  {"1735787045000006", want},
		"rfc3339":      {[]byte("2025-01-02T03:04:05.000006Z"), want},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var got time.Time
			if err := (timeCol{&got}).Scan(tt.src); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Errorf("Scan(%v) = %v, want %v in UTC", tt.src, got, tt.want)
			}
		})
	}
	var got time.Time
	for _, bad := range []any{"yesterday", 3.5} {
		if err := (timeCol{&got}).Scan(bad); err == nil {
			t.Errorf("Scan(%v) accepted", bad)
		}
	}
}
