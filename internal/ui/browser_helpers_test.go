package ui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one step of a scenario, so that a failing step
// leaves time to report what the page shows.
const stepTimeout = 30 * time.Second

// chromium finds the browser, or skips (fails on CI, where it must exist).
func chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium found (install Debian's chromium: apt-get install -y chromium)"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg + "; skipping the browser test")
	return ""
}

// browser is one headless Chromium tab, with the page's console kept so
// that an exception or a CSP violation fails the test.
type browser struct {
	ctx context.Context

	mu      sync.Mutex // guards the fields below
	console []string
	allowed []string // substrings of expected console lines
}

// allow marks console lines containing s as expected (a 400 the test
// provokes is logged by the browser as a failed resource).
func (b *browser) allow(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, s)
}

// newBrowser starts Chromium with a fresh profile; cleanup stops it and
// waits for it.
func newBrowser(tb testing.TB, exe string) *browser {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // root in a container has no user namespaces
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-crash-reporter", true),
		chromedp.UserDataDir(filepath.Join(tb.TempDir(), "profile")),
		chromedp.WindowSize(windowWidth(), 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, testTimeout)
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancelTimeout()
		cancelTab()
		cancelAlloc()
		tb.Fatalf("start chromium: %v", err)
	}
	if os.Getenv("COMFYGATE_UI_SCHEME") == "dark" { // a development aid for screenshots
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		if err != nil {
			tb.Fatalf("emulate dark scheme: %v", err)
		}
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				b.mu.Lock()
				b.console = append(b.console, string(m.Type)+": "+m.String()+" at "+m.URL)
				b.mu.Unlock()
			}
		}
	}()
	tb.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc() // kills the browser and waits for it
		<-done
	})
	return b
}

// windowWidth is 1360, or $COMFYGATE_UI_WIDTH to look at narrow screens
// (a development aid, like the screenshots).
func windowWidth() int {
	if w, err := strconv.Atoi(os.Getenv("COMFYGATE_UI_WIDTH")); err == nil && w >= 320 {
		return w
	}
	return 1360
}

// problems returns what the page logged as errors or warnings.
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, line := range b.console {
		if !slices.ContainsFunc(b.allowed, func(a string) bool { return strings.Contains(line, a) }) {
			out = append(out, line)
		}
	}
	return out
}

// do runs actions, failing the test with what the page logged if one fails.
func (b *browser) do(tb testing.TB, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(tb, what, err)
	}
}

// eval runs a JavaScript expression and decodes its value.
func eval[T any](tb testing.TB, b *browser, expr string, opts ...chromedp.EvaluateOption) T {
	tb.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// poll waits until expr is truthy (bounded by the browser's deadline, not
// by a poll timeout of its own) and returns its value.
func poll[T any](tb testing.TB, b *browser, what, expr string) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(0)))
	if err != nil {
		b.fail(tb, "wait for "+what, err)
	}
	return v
}

// fail ends the test with what the page shows and logged (and a
// screenshot when those are asked for).
func (b *browser) fail(tb testing.TB, what string, err error) {
	tb.Helper()
	b.screenshot(tb, "failed")
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText ?? ''`))
	tb.Fatalf("%s: %v\npage text:\n%s\npage console:\n%s", what, err, text, strings.Join(b.problems(), "\n"))
}

// screenshot saves the page to $COMFYGATE_UI_SCREENSHOTS/ui-<name>.png
// when that variable is set (a development aid; never committed). With
// COMFYGATE_UI_SCHEME=dark the page is shown in its dark scheme.
func (b *browser) screenshot(tb testing.TB, name string) {
	tb.Helper()
	dir := os.Getenv("COMFYGATE_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	// A full-page capture of a scrolled page draws the sticky header in
	// the middle; capture from the top.
	_, _ = chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "ui-"+name+".png"), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}
