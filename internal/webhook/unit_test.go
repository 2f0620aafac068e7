package webhook

import (
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	c, _ := Config{Store: nilStore{}, Client: nilDoer{}, Render: renderTest, Secrets: []Secret{{}}, Owner: "r",
		RetryBase: 5 * time.Second, MaxBackoff: time.Minute}.withDefaults()
	tests := []struct {
		n    int
		rand float64
		want time.Duration
	}{
		{1, 0.5, 5 * time.Second},
		{2, 0.5, 10 * time.Second},
		{3, 0.5, 20 * time.Second},
		{5, 0.5, time.Minute}, // capped
		{1, 0, 4 * time.Second},
		{1, 0.999999, 6 * time.Second},
		{200, 0.5, time.Minute}, // no overflow
	}
	for _, tt := range tests {
		c.Rand = func() float64 { return tt.rand }
		if got := c.backoff(tt.n); got.Round(time.Millisecond) != tt.want {
			t.Errorf("backoff(%d) with jitter %v = %v, want %v", tt.n, tt.rand, got, tt.want)
		}
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	gen, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, in, wantErr string }{
		{"generated", gen, ""},
		{"test", testSecret, ""},
		{"no prefix", strings.TrimPrefix(testSecret, "whsec_"), "want whsec_"},
		{"not base64", "whsec_!!!!", "not base64"},
		{"too short", "whsec_c2hvcnQ=", "want 24 to 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSecret(tt.in)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("ParseSecret(%q) = %v, want error %q", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(tt.in, "whsec_")) && len(tt.in) > 12 {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}
