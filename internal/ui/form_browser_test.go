package ui_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// TestBrowserFormTypes fills a form with every kind of parameter (an
// uploaded image, text, a bounded number, an enum, a boolean), checks what
// the API received, and checks the failure report of the job.
func TestBrowserFormTypes(t *testing.T) {
	exe := chromium(t)
	fake := &fakeAPI{}
	base := fake.start(t)
	b := newBrowser(t, exe)

	img := filepath.Join(t.TempDir(), "in.png")
	pngBytes := []byte("\x89PNG\r\n\x1a\nnot really a picture")
	if err := os.WriteFile(img, pngBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(t, "open the edit form",
		chromedp.Navigate(base+"/ui/#/run/edit"),
		chromedp.WaitVisible(chromedp.CSS(`#param-image`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#param-image`), []string{img}))
	poll[bool](t, b, "the upload", `document.querySelector('[data-field="image"] .upload-status').textContent.startsWith('Uploaded')`)
	kinds := eval[[]string](t, b, `['caption', 'strength', 'mode', 'upscale'].map(n => { const c = document.getElementById('param-' + n); return c.tagName.toLowerCase() + ':' + (c.type || '') })`)
	if diff := cmp.Diff([]string{"textarea:textarea", "input:number", "select:select-one", "input:checkbox"}, kinds); diff != "" {
		t.Errorf("controls (-want +got):\n%s", diff)
	}
	b.do(t, "fill and run",
		chromedp.SetValue(chromedp.CSS(`#param-caption`), "a dog"),
		chromedp.SetValue(chromedp.CSS(`#param-strength`), "0.25"),
		chromedp.SetValue(chromedp.CSS(`#param-mode`), "1"), // option values are indexes into the enum
		chromedp.Click(chromedp.CSS(`#param-upscale`)),
		chromedp.Click(chromedp.CSS(`#run`)))
	poll[bool](t, b, "the failure", `document.querySelector('section.job')?.dataset.jobState === 'failed'`)

	uploaded, params := fake.got()
	if !bytes.Equal(uploaded, pngBytes) {
		t.Errorf("uploaded %q, want the file's bytes", uploaded)
	}
	want := map[string]any{"image": "up-123", "caption": "a dog", "strength": json.Number("0.25"), "mode": "fast", "upscale": true}
	if diff := cmp.Diff(want, params); diff != "" {
		t.Errorf("params sent (-want +got):\n%s", diff)
	}
	report := eval[string](t, b, `document.querySelector('section.job .job-error').textContent`)
	for _, s := range []string{"execution_error", "CUDA out of memory", "node 12", "KSampler", "Traceback"} {
		if !strings.Contains(report, s) {
			t.Errorf("error report %q lacks %q", report, s)
		}
	}
	b.screenshot(t, "failed-job")
	if p := b.problems(); len(p) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(p, "\n"))
	}
}
