package comfywire

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// ParseQuery parses a raw query the way aiohttp (yarl) does: only "&"
// separates pairs, so values such as preview=webp;50 survive, where Go's
// url.ParseQuery drops every pair holding a ";".
func ParseQuery(raw string) url.Values {
	v := url.Values{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil {
			continue
		}
		v[key] = append(v[key], value)
	}
	return v
}

// PyInt is Python's int() of a query value: surrounding whitespace, a sign
// and underscores between digits are accepted.
func PyInt(s string) (int, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
		return 0, false
	}
	clean := strings.ReplaceAll(s, "_", "")
	if strings.ContainsAny(clean[1:], "+-") {
		return 0, false
	}
	n, err := strconv.Atoi(clean)
	return n, err == nil
}
