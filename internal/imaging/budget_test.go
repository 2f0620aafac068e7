package imaging

import (
	"context"
	"errors"
	"image"
	"image/color"
	"testing"
)

func TestBudget(t *testing.T) {
	t.Parallel()
	b := NewBudget(100)
	bg := context.Background()
	if _, err := b.Reserve(bg, 101); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("more than the budget: %v, want ErrTooLarge", err)
	}
	all, err := b.Reserve(bg, 100)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		r   *Reservation
		err error
	}
	waiting := make(chan result, 1)
	go func() {
		r, err := b.Reserve(bg, 60)
		waiting <- result{r, err}
	}()
	select {
	case <-waiting:
		t.Fatal("reserved 60 more while the budget was all held")
	default:
	}
	all.Keep(40) // gives back 60: the waiting reservation gets them
	part := <-waiting
	if part.err != nil {
		t.Fatal(part.err)
	}

	ctx, cancel := context.WithCancel(bg)
	gaveUp := make(chan error, 1)
	go func() {
		_, err := b.Reserve(ctx, 1)
		gaveUp <- err
	}()
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("a full budget and a cancelled wait: %v", err)
	}

	all.Release()
	part.r.Release()
	all.Release() // harmless twice
	r, err := b.Reserve(bg, 100)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r.Release()
}

func TestDecodeCost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		model  color.Model
		format string
		want   int64
	}{
		{"8-bit RGBA PNG", color.NRGBAModel, "png", 4 * 6},
		{"16-bit PNG", color.NRGBA64Model, "png", 8 * 6},
		{"grey PNG", color.GrayModel, "png", 6},
		{"palette", color.Palette{color.Black}, "gif", 6},
		{"JPEG, progressive at worst", color.YCbCrModel, "jpeg", 20 * 6},
		{"WebP", color.NRGBAModel, "webp", 12 * 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DecodeCost(image.Config{ColorModel: tt.model, Width: 3, Height: 2}, tt.format); got != tt.want {
				t.Errorf("DecodeCost = %d, want %d", got, tt.want)
			}
		})
	}
}
