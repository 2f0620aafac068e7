package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// cpuMetric is the Prometheus process collector's CPU time, in seconds.
const cpuMetric = "process_cpu_seconds_total"

// maxMetricsBody bounds what is read of /metrics.
const maxMetricsBody = 8 << 20

// serverCPU reads the server's CPU time from its /metrics. ok is false
// when the server has no such metric (ComfyUI has no /metrics).
func (r *runner) serverCPU(ctx context.Context) (cpu time.Duration, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Server+"/metrics", nil)
	if err != nil {
		return 0, false, err
	}
	if r.cfg.Key != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Key)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("read /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxMetricsBody))
		return 0, false, nil
	}
	secs, ok := findMetric(io.LimitReader(resp.Body, maxMetricsBody), cpuMetric)
	return time.Duration(secs * float64(time.Second)), ok, nil
}

// findMetric returns the value of an unlabelled sample in Prometheus text
// format.
func findMetric(r io.Reader, name string) (float64, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest + " x")[0], 64)
		return v, err == nil
	}
	return 0, false
}
