package fleet

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

func pngOf(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestReencode(t *testing.T) {
	t.Parallel()
	src := pngOf(t, 32, 16)
	tests := []struct {
		name     string
		opts     job.OutputOptions
		wantType string
	}{
		{"jpeg", job.OutputOptions{Format: job.FormatJPEG, Quality: 40}, "jpeg"},
		{"webp", job.OutputOptions{Format: job.FormatWebP}, "webp"},
		{"png", job.OutputOptions{Format: job.FormatPNG}, "png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := reencode(src, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(out))
			if err != nil || format != tt.wantType || cfg.Width != 32 || cfg.Height != 16 {
				t.Errorf("re-encoded: %s %dx%d (%v), want %s 32x16", format, cfg.Width, cfg.Height, err, tt.wantType)
			}
		})
	}
	if _, err := reencode([]byte("not an image"), job.OutputOptions{Format: job.FormatJPEG}); err == nil {
		t.Error("re-encoding bytes that are no image succeeded")
	}
}

func TestReencodeRefusesTooManyPixels(t *testing.T) {
	t.Parallel()
	// A PNG header that claims 5000x5000: refused from its header, before
	// anything is decoded.
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 5000, 5000)))
	_, err := reencode(buf.Bytes(), job.OutputOptions{Format: job.FormatWebP})
	if err == nil || !strings.Contains(err.Error(), "pixel budget") {
		t.Errorf("err = %v, want the pixel budget named", err)
	}
}

func TestWantsFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts  job.OutputOptions
		ctype string
		want  bool
	}{
		{job.OutputOptions{}, "image/png", false},
		{job.OutputOptions{Format: job.FormatPNG}, "image/png", false},
		{job.OutputOptions{Format: job.FormatJPEG}, "image/png", true},
		{job.OutputOptions{Format: job.FormatJPEG}, "image/jpeg", false},
		{job.OutputOptions{Format: job.FormatJPEG, Quality: 50}, "image/jpeg", true},
		{job.OutputOptions{Format: job.FormatWebP}, "video/mp4", false},
	}
	for _, tt := range tests {
		if got := wantsFormat(tt.opts, tt.ctype); got != tt.want {
			t.Errorf("wantsFormat(%+v, %s) = %v, want %v", tt.opts, tt.ctype, got, tt.want)
		}
	}
	if got := withExt("ComfyUI_00001_.png", job.FormatJPEG); got != "ComfyUI_00001_.jpg" {
		t.Errorf("withExt = %s", got)
	}
}
