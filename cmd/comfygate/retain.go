package main

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// retainFlag is --retain: how long finished jobs are kept, as a Go
// duration ("36h") or in days ("30d", "1.5d"), since retention periods are
// counted in days and Go durations have no day unit. 0 keeps them forever.
// Errors do not repeat the value: the flag parser quotes it.
type retainFlag struct{ d *time.Duration }

func (f retainFlag) Set(s string) error {
	d, err := parseRetain(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func (f retainFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "0"
	}
	if *f.d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(*f.d/(24*time.Hour)), 10) + "d"
	}
	return f.d.String()
}

// maxRetain keeps day counts far from overflowing a time.Duration.
const maxRetain = 100 * 365 * 24 * time.Hour

func parseRetain(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || !(n >= 0) || n*24 > maxRetain.Hours() { // !(n >= 0) also refuses NaN
			return 0, errors.New("want a number of days like 30d, or a duration like 36h")
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 || d > maxRetain {
			return 0, errors.New("want a duration like 36h, or a number of days like 30d")
		}
	}
	return d, nil
}
