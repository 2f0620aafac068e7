package inflight

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLimiter(t *testing.T) {
	t.Parallel()
	l := New(100)
	bg := context.Background()
	if _, err := l.Acquire(bg, "a", 101); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("more than a share: %v", err)
	}
	a1, err := l.Acquire(bg, "a", 70)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Acquire(bg, "b", 100) // another key is not held up
	if err != nil {
		t.Fatalf("key b: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		release, err := l.Acquire(bg, "a", 50)
		if err == nil {
			release()
		}
		got <- err
	}()
	for held, n := l.Stats("a"); n != 2; held, n = l.Stats("a") { // the second request joined, and waits
		if held != 70 {
			t.Fatalf("key a holds %d, want 70", held)
		}
		runtime.Gosched()
	}
	select {
	case err := <-got:
		t.Fatalf("key a took 50 more while 70 of 100 were in flight: %v", err)
	default:
	}
	a1()
	a1() // once only
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	hold, _ := l.Acquire(bg, "a", 100)
	waited := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, "a", 1)
		waited <- err
	}()
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait: %v", err)
	}
	hold()
	b()
	if n := l.active(); n != 0 {
		t.Errorf("%d keys still held with nothing in flight", n)
	}
	var none *Limiter
	release, err := none.Acquire(bg, "a", 1<<40)
	if err != nil {
		t.Fatalf("a nil limiter: %v", err)
	}
	release()
}

func TestBody(t *testing.T) {
	t.Parallel()
	l := New(100)
	tests := []struct {
		name   string
		body   string
		length int64
		limit  int64
		want   int64 // bytes taken
	}{
		{"announced", "abc", 3, 50, 3},
		{"not announced: the limit", "abc", -1, 50, 50},
		{"announced beyond the limit: the limit", "abc", 90, 50, 50},
		{"no body", "", 0, 50, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.body == "" {
				r.Body = http.NoBody
			}
			r.ContentLength = tt.length
			release, err := l.Body(r, "k", tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if !l.fits("k", 100-tt.want) || l.fits("k", 101-tt.want) {
				t.Errorf("the body did not take exactly %d bytes", tt.want)
			}
		})
	}
}
