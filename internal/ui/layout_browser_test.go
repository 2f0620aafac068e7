package ui_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// setViewport makes the page's viewport exactly w×h CSS pixels, whatever
// the window's decorations.
func (b *browser) setViewport(tb testing.TB, w, h int64) {
	tb.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: w, Height: h, DeviceScaleFactor: 1}); err != nil {
		tb.Fatalf("set viewport %dx%d: %v", w, h, err)
	}
	got := eval[[]int64](tb, b, `[innerWidth, innerHeight]`)
	if got[0] != w || got[1] != h {
		tb.Fatalf("viewport is %dx%d, want %dx%d", got[0], got[1], w, h)
	}
}

// inView is an expression: is the element's top edge below the sticky
// top bar, with its first lines (up to 120px) above the bottom edge, and
// is it what is drawn there (nothing covers it)?
func inView(selector string) string {
	return fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) return false;
		const r = el.getBoundingClientRect();
		const bar = document.querySelector('.topbar').getBoundingClientRect().bottom;
		if (r.height === 0 || r.top < bar || r.top + Math.min(r.height, 120) > innerHeight) return false;
		const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 40), r.top + Math.min(r.height / 2, 10));
		return !!hit && el.contains(hit);
	})()`, jsString(selector))
}

// TestBrowserRunInView: on a 1400×900 screen the Run button is in view
// without scrolling, and after a click the new job's panel is brought into
// view, whether it appears above the scrolled view (two columns, the page
// scrolled down the form) or below it (one column, under the form).
func TestBrowserRunInView(t *testing.T) {
	exe := chromium(t)
	base := startStack(t, "", stepDelay)
	for _, tc := range []struct {
		name     string
		w, h     int64
		scrollTo string // where the page is scrolled before Run: top, bottom
		panelIs  string // where the panel appears, before any scrolling: in view, above, below
	}{
		{"1400x900 at the top", 1400, 900, "top", "in view"},
		{"1400x900 scrolled down to the end of the form", 1400, 900, "bottom", "above"},
		{"one column, 700x900", 700, 900, "top", "below"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, exe)
			b.setViewport(t, tc.w, tc.h)
			b.do(t, "open txt2img", chromedp.Navigate(base+"/ui/#/run/txt2img"), chromedp.WaitVisible(chromedp.CSS(`#param-prompt`)))
			if tc.w == 1400 && tc.scrollTo == "top" {
				if !eval[bool](t, b, `scrollY === 0 && `+inView(`#run`)) {
					t.Fatalf("Run is not in view without scrolling: %s", eval[string](t, b, `JSON.stringify(document.querySelector('#run').getBoundingClientRect())`))
				}
			}
			b.do(t, "set small, quick parameters",
				chromedp.SetValue(chromedp.CSS(`#param-width`), "64"),
				chromedp.SetValue(chromedp.CSS(`#param-height`), "64"),
				chromedp.SetValue(chromedp.CSS(`#param-steps`), "2"))
			if tc.scrollTo == "bottom" {
				b.do(t, "scroll down", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.documentElement.scrollHeight)`))
			}
			// Where the panel will appear: the top of the column it lives in.
			where := eval[string](t, b, `(() => {
				const top = document.querySelector('.run-side').getBoundingClientRect().top;
				const bar = document.querySelector('.topbar').getBoundingClientRect().bottom;
				return top < bar ? 'above' : top > innerHeight - 120 ? 'below' : 'in view';
			})()`)
			if where != tc.panelIs {
				t.Fatalf("before Run the job's place is %s the view, want %s: the case tests nothing", where, tc.panelIs)
			}
			if !eval[bool](t, b, inView(`#run`)) {
				t.Fatalf("Run is not in view where the person clicks it")
			}
			b.do(t, "run", chromedp.Click(chromedp.CSS(`#run`)))
			poll[bool](t, b, "the job's panel in view", `!!document.querySelector('section.job[data-job-state]') && `+inView(`section.job`))
			b.screenshot(t, fmt.Sprintf("in-view-%dx%d-%s", tc.w, tc.h, tc.scrollTo))
		})
	}
}
