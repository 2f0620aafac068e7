package gateway

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// Error texts that come from a backend or the operating system (a
// ComfyUI traceback, "dial tcp 10.0.0.5:8188: connection refused", a
// resolver's "lookup gpu-1 on 10.0.0.2:53") describe the deployment:
// where the backends are, how their disks are laid out, what they run.
// Admins read them whole (and the log keeps them); every other key reads
// them through PublicText, which keeps what went wrong and drops where.

// redacted stands for what PublicText removes.
const redacted = "<address>"

var (
	urlAuthority = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s"'<>]+`)
	netOp        = regexp.MustCompile(`\b(dial|read|write|listen|accept) ((?:tcp|udp|ip|unix)[46]?) \S+?(:\s|$)`)
	lookupOn     = regexp.MustCompile(`\blookup \S+? on \S+?(:\s|$)`)
	lookupName   = regexp.MustCompile(`\blookup [^\s:]+`)
	ipv4         = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b`)
	ipv6Bracket  = regexp.MustCompile(`\[[0-9A-Fa-f:.%]*:[0-9A-Fa-f:.%]*\](?::\d{1,5})?`)
	ipv6Bare     = regexp.MustCompile(`\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b`)
	unixPath     = regexp.MustCompile(`(^|[\s"'(\[=,:])(?:/[^/\s"'()\[\],:]+)+/([^/\s"'()\[\],:]*)`)
	windowsPath  = regexp.MustCompile(`\b[A-Za-z]:\\(?:[^\\\s"'<>|:]+\\)*([^\\\s"'<>|:]*)`)
	commandLine  = regexp.MustCompile(`\bCommand '.*?' returned`)
)

// PublicText is text from a backend or the system as any API key may read
// it: addresses (IP literals, URL hosts, the hosts and resolvers of
// network errors) become "<address>", file paths their base names, and
// the command line of a failed subprocess "<command line>". The message
// otherwise stays as it was, so a caller still learns what went wrong.
func PublicText(s string) string {
	if s == "" {
		return s
	}
	s = commandLine.ReplaceAllString(s, "Command '<command line>' returned")
	s = urlAuthority.ReplaceAllString(s, "${1}"+redacted)
	s = netOp.ReplaceAllString(s, "$1 $2 "+redacted+"$3")
	s = lookupOn.ReplaceAllString(s, "lookup "+redacted+" on "+redacted+"$1")
	s = lookupName.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasSuffix(m, redacted) {
			return m
		}
		return "lookup " + redacted
	})
	s = ipv6Bracket.ReplaceAllString(s, redacted)
	s = ipv4.ReplaceAllString(s, redacted)
	s = ipv6Bare.ReplaceAllStringFunc(s, ipv6OrKeep)
	s = unixPath.ReplaceAllString(s, "$1$2")
	s = windowsPath.ReplaceAllString(s, "$1")
	return s
}

// ipv6OrKeep redacts m when it reads as an IPv6 address (two groups or
// more, one of them "::" or eight in all), not as "std::vector" or a
// time of day.
func ipv6OrKeep(m string) string {
	groups := strings.Split(m, ":")
	full := 0
	for _, g := range groups {
		if g != "" {
			full++
		}
	}
	if full >= 2 && (strings.Contains(m, "::") || len(groups) == 8) {
		return redacted
	}
	return m
}

// TextFor is text from a backend or the system as owner may read it:
// whole for admins, PublicText for every other key.
func (a Access) TextFor(owner, text string) string {
	if a.IsAdmin(owner) {
		return text
	}
	return PublicText(text)
}

// linesFor is TextFor for each line of a traceback.
func (a Access) linesFor(owner string, lines []string) []string {
	if a.IsAdmin(owner) || lines == nil {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = PublicText(l)
	}
	return out
}

// ShownJob is j as its owner reads it: the error texts the backends and
// the system wrote (the job's error and traceback, each attempt's error)
// pass through TextFor. j itself is not changed. Every view of a job goes
// through it: the use cases' answers, and the webhooks sent to the owner.
func (a Access) ShownJob(j *job.Job) *job.Job {
	if a.IsAdmin(j.Owner) || (j.Error == nil && len(j.AttemptLog) == 0) {
		return j
	}
	c := *j
	if j.Error != nil {
		e := *j.Error
		e.Message, e.Traceback = PublicText(e.Message), a.linesFor(j.Owner, e.Traceback)
		c.Error = &e
	}
	if j.AttemptLog != nil {
		c.AttemptLog = make([]job.Attempt, len(j.AttemptLog))
		for i, a := range j.AttemptLog {
			a.Error = PublicText(a.Error)
			c.AttemptLog[i] = a
		}
	}
	return &c
}

// ShownEvent is a job event as owner reads it: the reason of a
// "retrying" event (a backend's or the network's words) passes through
// TextFor; other events carry no such text. Surfaces render events
// through it.
func (a Access) ShownEvent(owner string, e events.Event) events.Event {
	if e.Type != job.EventRetrying || a.IsAdmin(owner) {
		return e
	}
	var d job.RetryingData
	if json.Unmarshal(e.Data, &d) != nil {
		return e
	}
	d.Reason = PublicText(d.Reason)
	e.Data = job.EncodeData(d)
	return e
}
