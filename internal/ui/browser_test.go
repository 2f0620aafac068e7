package ui_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser scenario: a real comfygate with two simulators, a real
// headless Chromium, and the user's path through the UI. Every wait is on
// a condition in the page, bounded by the scenario's deadline.

const (
	wantWidth  = 96
	wantHeight = 64
	// stepDelay makes a run last long enough to be seen (and cancelled),
	// not to time anything.
	stepDelay = 5 * time.Millisecond
)

func TestBrowserRunJob(t *testing.T) {
	exe := chromium(t)
	tests := []struct {
		name string
		key  string // API key the server requires; "" means none
	}{
		{"no key: EventSource and plain image URLs", ""},
		{"api key: fetch-read stream and blob images", "ui-test-key-0123456789abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := startStack(t, tt.key, stepDelay)
			b := newBrowser(t, exe)
			if tt.key == "" {
				// The bare host must land on the UI.
				b.do(t, "open /", chromedp.Navigate(base+"/"))
				if got := eval[string](t, b, "location.pathname"); got != "/ui/" {
					t.Fatalf("/ led to %q, want /ui/", got)
				}
				checkFieldError(t, b)
			} else {
				enterKey(t, b, base, tt.key)
			}
			id := runJob(t, b)
			if tt.key != "" {
				src := eval[string](t, b, `document.querySelector('section.job img.output-img').src`)
				if !strings.HasPrefix(src, "blob:") {
					t.Errorf("with a key the output must come through a blob: URL, got %q", src)
				}
			}
			checkGallery(t, b, id)
			checkQueue(t, b)
			if tt.key == "" {
				checkCancel(t, b)
			}
			if p := b.problems(); len(p) > 0 {
				t.Errorf("the page logged problems:\n%s", strings.Join(p, "\n"))
			}
		})
	}
}

// pickWorkflow opens the run page of txt2img by clicking it.
func pickWorkflow(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, "pick txt2img",
		chromedp.Click(chromedp.CSS(`a[data-nav="run"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[data-workflow="txt2img"]`)),
		chromedp.Click(chromedp.CSS(`a[data-workflow="txt2img"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#param-prompt`)))
}

// enterKey sets the API key on the settings page and checks it works.
func enterKey(t *testing.T, b *browser, base, key string) {
	t.Helper()
	b.do(t, "save the API key",
		chromedp.Navigate(base+"/ui/#/settings"),
		chromedp.WaitVisible(chromedp.CSS(`#api-key`)),
		chromedp.SetValue(chromedp.CSS(`#api-key`), key),
		chromedp.Click(chromedp.CSS(`#save-key`)))
	poll[bool](t, b, "the key check", `!!document.querySelector('.check-result.ok')`)
	b.do(t, "go to Run", chromedp.Click(chromedp.CSS(`a[data-nav="run"]`)))
}

// checkFieldError sends a seed past 2^64-1: the form cannot judge it (the
// bound is not a safe JS number), so the API does, and its error must sit
// next to the seed field.
func checkFieldError(t *testing.T, b *browser) {
	t.Helper()
	pickWorkflow(t, b)
	b.allow("status of 400")
	b.do(t, "send a bad seed",
		chromedp.SetValue(chromedp.CSS(`#param-seed`), "99999999999999999999999"),
		chromedp.Click(chromedp.CSS(`#run`)))
	msg := poll[string](t, b, "the seed's error",
		`document.querySelector('[data-field="seed"] .field-error:not([hidden])')?.textContent`)
	if !strings.Contains(msg, "18446744073709551615") {
		t.Errorf("seed error %q does not come from the API's bound", msg)
	}
	b.screenshot(t, "field-error")
}

// runJob fills the form, runs it, and waits for the output image.
func runJob(t *testing.T, b *browser) string {
	t.Helper()
	pickWorkflow(t, b)
	b.do(t, "fill the form and run",
		chromedp.SetValue(chromedp.CSS(`#param-prompt`), "a lighthouse at dusk, oil painting"),
		chromedp.SetValue(chromedp.CSS(`#param-seed`), "12345"),
		chromedp.SetValue(chromedp.CSS(`#param-width`), fmt.Sprint(wantWidth)),
		chromedp.SetValue(chromedp.CSS(`#param-height`), fmt.Sprint(wantHeight)),
		chromedp.SetValue(chromedp.CSS(`#param-steps`), "4"),
		chromedp.Click(chromedp.CSS(`#run`)))
	state := poll[string](t, b, "the job to end", `(() => {
		const s = document.querySelector('section.job')?.dataset.jobState;
		return ['succeeded', 'failed', 'cancelled'].includes(s) ? s : null;
	})()`)
	if state != "succeeded" {
		t.Fatalf("job ended %s: %s", state, eval[string](t, b, `document.querySelector('section.job').innerText`))
	}
	size := poll[[]int](t, b, "the output image", loadedSize(`section.job img.output-img`))
	if size[0] != wantWidth || size[1] != wantHeight {
		t.Errorf("output is %dx%d, want %dx%d", size[0], size[1], wantWidth, wantHeight)
	}
	b.screenshot(t, "run")
	return eval[string](t, b, `document.querySelector('section.job').dataset.jobId`)
}

// checkGallery finds the job's output in the gallery and opens it.
func checkGallery(t *testing.T, b *browser, id string) {
	t.Helper()
	tile := fmt.Sprintf(`.gallery a[data-job-id=%s]`, jsString(id))
	b.do(t, "open the gallery", chromedp.Click(chromedp.CSS(`a[data-nav="gallery"]`)))
	size := poll[[]int](t, b, "the job in the gallery", loadedSize(tile+` img`))
	if size[0] != wantWidth {
		t.Errorf("gallery image is %d wide, want %d", size[0], wantWidth)
	}
	b.screenshot(t, "gallery")
	b.do(t, "open the tile", chromedp.Click(chromedp.CSS(tile)))
	got := poll[string](t, b, "the job page", `location.hash.startsWith('#/jobs/') && document.querySelector('section.job[data-job-state="succeeded"] img.output-img') ? document.querySelector('section.job').dataset.jobId : null`)
	if got != id {
		t.Errorf("the tile opened job %s, want %s", got, id)
	}
}

// checkQueue waits for the fleet to show both simulators and the job done.
func checkQueue(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, "open the queue", chromedp.Click(chromedp.CSS(`a[data-nav="queue"]`)))
	n := poll[int](t, b, "the backends", `document.querySelectorAll('.fleet .backend').length`)
	if n != 2 {
		t.Errorf("fleet shows %d backends, want 2", n)
	}
	// The fleet counts a job done just after it ends; the page refreshes.
	poll[int](t, b, "a job counted done", `[...document.querySelectorAll('.fleet .stats div')]
		.filter(d => d.querySelector('dt').textContent === 'Done')
		.reduce((s, d) => s + Number(d.querySelector('dd').textContent), 0)`)
	b.screenshot(t, "queue")
}

// checkCancel starts a long job and cancels it from its panel.
func checkCancel(t *testing.T, b *browser) {
	t.Helper()
	pickWorkflow(t, b)
	b.do(t, "run a long job", chromedp.SetValue(chromedp.CSS(`#param-steps`), "10000"), chromedp.Click(chromedp.CSS(`#run`)))
	poll[bool](t, b, "the long job to run", `document.querySelector('section.job')?.dataset.jobState === 'running' && document.querySelector('section.job progress.bar').value > 0`)
	b.screenshot(t, "running")
	b.do(t, "cancel it", chromedp.Click(chromedp.CSS(`section.job .btn.danger`)))
	state := poll[string](t, b, "the cancelled state", `(() => {
		const s = document.querySelector('section.job')?.dataset.jobState;
		return ['succeeded', 'failed', 'cancelled'].includes(s) ? s : null;
	})()`)
	if state != "cancelled" {
		t.Errorf("after Cancel the job is %s, want cancelled", state)
	}
}

// loadedSize is an expression giving [naturalWidth, naturalHeight] of the
// image once it has loaded, null before.
func loadedSize(selector string) string {
	return fmt.Sprintf(`(() => {
		const i = document.querySelector(%s);
		return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null;
	})()`, jsString(selector))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
