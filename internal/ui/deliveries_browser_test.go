package ui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/comfygate/comfygate/internal/server"
)

// TestBrowserJobDeliveries: a job's page lists its webhook deliveries with
// every attempt, follows a pending message's retries without a reload, and
// its Redeliver button sends the message again.
func TestBrowserJobDeliveries(t *testing.T) {
	exe := chromium(t)
	var hits atomic.Int64
	// The second attempt is held until the page has shown the message
	// pending, so the page must follow the retry to see it delivered.
	shownPending := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable) // the first attempt is refused
			return
		case 2:
			select {
			case <-shownPending:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	var once sync.Once
	release := func() { once.Do(func() { close(shownPending) }) }
	t.Cleanup(release) // before the receiver closes: Close waits for the held request
	base := startStack(t, "", stepDelay, func(c *server.Config) {
		c.AllowLoopbackURLs, c.WebhookRetryBase, c.WebhookTimeout = true, 10*time.Millisecond, testTimeout
	})
	resp, err := http.Post(base+"/v1/jobs?wait=60s", "application/json", strings.NewReader(
		`{"workflow":"txt2img","params":{"steps":1,"width":64,"height":64},"webhook":"`+rcv.URL+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if j := decodeJob(t, resp); j.State == "succeeded" {
		id = j.ID
	} else {
		t.Fatalf("job ended %s", j.State)
	}
	b := newBrowser(t, exe)
	b.do(t, "open the job's page", chromedp.Navigate(base+"/ui/#/jobs/"+id))
	poll[bool](t, b, "the message pending after the refused attempt", `(() => {
		const li = document.querySelector('section.job details.deliveries li.delivery[data-state="pending"]');
		return li && li.querySelector('ol.attempts li[data-status="503"]') ? true : null;
	})()`)
	release()
	poll[bool](t, b, "the delivered message with both attempts", `(() => {
		const li = document.querySelector('section.job details.deliveries li.delivery[data-state="delivered"]');
		return li && li.querySelectorAll('ol.attempts li').length === 2 &&
			li.querySelector('ol.attempts li[data-status="503"]') && li.querySelector('ol.attempts li[data-status="204"]') ? true : null;
	})()`)
	b.do(t, "redeliver", chromedp.Click(chromedp.CSS(`section.job details.deliveries summary`)),
		chromedp.Click(chromedp.CSS(`section.job li.delivery button.redeliver`)))
	poll[bool](t, b, "the redelivery acknowledged", `document.querySelector('section.job details.deliveries')?.innerText.includes('Queued for delivery again') ? true : null`)
	waitHits(t, &hits, 3)
	if p := b.problems(); len(p) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(p, "\n"))
	}
}

type jobAnswer struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

func decodeJob(t *testing.T, resp *http.Response) jobAnswer {
	t.Helper()
	defer resp.Body.Close()
	var j jobAnswer
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		t.Fatal(err)
	}
	return j
}

// waitHits waits until the receiver got n requests.
func waitHits(t *testing.T, hits *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for hits.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d requests, want %d", hits.Load(), n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}
