package ui_test

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// recordProgress installs an observer that notes, after every render of
// the job panel, the overall percentage it shows beside the current
// node's step text: both come from one progress event, so each pair is
// consistent whatever the timing.
const recordProgress = `(() => {
	window.progressSeen = [];
	new MutationObserver(() => {
		const job = document.querySelector('section.job');
		const pct = job?.querySelector('.pct')?.textContent ?? '';
		const detail = job?.querySelector('.progress-detail')?.textContent ?? '';
		const last = window.progressSeen.at(-1);
		if (pct && detail && (!last || last[0] !== pct || last[1] !== detail)) window.progressSeen.push([pct, detail]);
	}).observe(document.body, { subtree: true, childList: true, characterData: true });
	return true;
})()`

var stepTextRE = regexp.MustCompile(`^KSampler \(node 3\) · step (\d+) / 20`)

// TestBrowserProgressFollowsSampling runs a 20-step job through the UI and
// checks the percentage the job panel showed at each sampler step: the
// sampler's own share within 10 points (sampling is nearly all of the
// time; counting nodes showed 64% at step 10), never going back.
func TestBrowserProgressFollowsSampling(t *testing.T) {
	exe := chromium(t)
	base := startStack(t, "", stepDelay)
	b := newBrowser(t, exe)
	b.do(t, "open the UI", chromedp.Navigate(base+"/ui/"))
	pickWorkflow(t, b)
	eval[bool](t, b, recordProgress)
	b.do(t, "run 20 steps",
		chromedp.SetValue(chromedp.CSS(`#param-steps`), "20"),
		chromedp.SetValue(chromedp.CSS(`#param-width`), "64"),
		chromedp.SetValue(chromedp.CSS(`#param-height`), "64"),
		chromedp.Click(chromedp.CSS(`#run`)))
	poll[bool](t, b, "the job to succeed", `document.querySelector('section.job')?.dataset.jobState === 'succeeded'`)

	seen := eval[[][2]string](t, b, `window.progressSeen`)
	steps, last := 0, 0
	for _, s := range seen {
		m := stepTextRE.FindStringSubmatch(s[1])
		if m == nil {
			continue
		}
		step, _ := strconv.Atoi(m[1])
		pct, err := strconv.Atoi(s[0][:len(s[0])-1])
		if err != nil {
			t.Fatalf("percentage %q: %v", s[0], err)
		}
		steps++
		if want := step * 100 / 20; pct < want-10 || pct > want+10 {
			t.Errorf("at step %d of 20 the panel shows %d%%, want %d%% ± 10", step, pct, want)
		}
		if pct < last {
			t.Errorf("the percentage went back from %d%% to %d%%", last, pct)
		}
		last = pct
	}
	if steps == 0 {
		t.Fatalf("the panel never showed a sampler step; it showed %q", seen)
	}
	if p := b.problems(); len(p) > 0 {
		t.Errorf("the page logged problems: %v", p)
	}
}
