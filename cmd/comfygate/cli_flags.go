package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v4"
)

// enumValue is a flag that takes one of a few words. A wrong one is
// answered with the list, which the help line shows too.
type enumValue struct {
	p     *string
	valid []string
}

func (e *enumValue) Set(s string) error {
	if !slices.Contains(e.valid, s) {
		return fmt.Errorf("want one of %s", strings.Join(e.valid, ", "))
	}
	*e.p = s
	return nil
}

func (e *enumValue) String() string {
	if e.p == nil {
		return ""
	}
	return *e.p
}

// addEnum defines --name taking one of valid; the first is the default.
func addEnum(fs *ff.FlagSet, name, usage string, p *string, valid ...string) {
	*p = valid[0]
	addFlag(fs, 0, name, strings.Join(valid, "|"), usage, &enumValue{p: p, valid: valid})
}

// baseURLValue is a flag holding an http(s) base URL, checked when it is
// set so that a mistake is named with the flag.
type baseURLValue struct{ p *string }

func (u baseURLValue) Set(s string) error {
	if err := checkBaseURL(s); err != nil {
		return err
	}
	*u.p = s
	return nil
}

func (u baseURLValue) String() string {
	if u.p == nil {
		return ""
	}
	return *u.p
}

// checkBaseURL says what keeps s from being an http(s)://host[:port] base
// URL. The usual slip, a host:port without a scheme, gets the fix.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return fmt.Errorf("want a URL like http://127.0.0.1:8080")
	case err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		return nil
	case !strings.Contains(s, "://"):
		return fmt.Errorf("no http:// or https:// in front (try http://%s)", s)
	case err != nil:
		return fmt.Errorf("not a URL: %v", err.(*url.Error).Err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("scheme %q: want http or https", u.Scheme)
	default:
		return fmt.Errorf("no host: want http(s)://host[:port]")
	}
}
