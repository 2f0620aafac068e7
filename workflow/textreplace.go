package workflow

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The ComfyUI editor expands tokens in the filename_prefix of save nodes
// just before it queues a prompt (its Comfy.SaveImageExtraOutput extension,
// applyTextReplacements in src/utils/searchAndReplace.ts, formatDate in
// src/utils/formatUtil.ts); the server never sees them. comfygate does the
// same for the workflows it stores, at the time of each job:
//
//	%date:FORMAT%   the time, FORMAT's yyyy, yy, MM, M, dd, d, hh, h, mm, m,
//	                ss, s replaced (hh is 00-23), other characters kept
//	%Node.widget%   the value of input widget of the first node whose class
//	                (the editor's "Node name for S&R") or else whose title
//	                is Node; characters not allowed in file names become _
//
// Anything else between % signs (%width%, %year%: ComfyUI's own, expanded
// by the server) is left as it is, as are references that find no node or
// input. Like the editor, a token with two or more dots is read as a date
// only from its first part ("%date:yyyy.MM.dd%" gives the year).

// saveNodeTypes are the classes whose filename_prefix the editor expands.
var saveNodeTypes = map[string]bool{
	"SaveImage": true, "SaveImageAdvanced": true, "SaveSVGNode": true, "SaveVideo": true,
	"SaveAnimatedWEBP": true, "SaveWEBM": true, "SaveAudio": true, "SaveAudioMP3": true,
	"SaveAudioOpus": true, "SaveAudioAdvanced": true, "SaveGLB": true, "SaveAnimatedPNG": true,
	"CLIPSave": true, "VAESave": true, "ModelSave": true, "LoraSave": true, "SaveLatent": true,
}

// prefixInput is the widget the editor expands tokens in.
const prefixInput = "filename_prefix"

var (
	tokenPattern = regexp.MustCompile(`%([^%]+)%`)
	datePattern  = regexp.MustCompile(`dd?|MM?|hh?|mm?|ss?|yyy?y?`)
	// unsafeInName are the characters the editor replaces in a widget
	// value put into a file name.
	unsafeInName = regexp.MustCompile("[/?<>\\\\:*|\"\\x00-\\x1F\\x7F]")
)

// ExpandTextTokens returns g with the editor's tokens expanded in the
// filename_prefix of its save nodes, as the editor would expand them at
// now (in now's location). Nodes are looked up in g: by class_type, then
// by _meta.title. g is not modified; without tokens g itself is returned.
func ExpandTextTokens(g Graph, now time.Time) Graph {
	var out Graph
	ids := g.IDs()
	for _, id := range ids {
		n := g[id]
		prefix, ok := n.Inputs[prefixInput].(string)
		if !saveNodeTypes[n.ClassType] || !ok || !strings.Contains(prefix, "%") {
			continue
		}
		expanded := applyTextReplacements(prefix, now, func(node, widget string) (any, bool) {
			return apiWidget(g, ids, node, widget)
		})
		if expanded == prefix {
			continue
		}
		if out == nil {
			out = g.Clone()
		}
		out[id].Inputs[prefixInput] = expanded
	}
	if out == nil {
		return g
	}
	return out
}

// apiWidget finds the value of widget on the node apiNodeFor finds; a
// linked input has no value here.
func apiWidget(g Graph, ids []string, node, widget string) (any, bool) {
	id, ok := apiNodeFor(g, ids, node)
	if !ok {
		return nil, false
	}
	v, ok := g[id].Inputs[widget]
	return v, ok && !isLinkValue(v)
}

// apiNodeFor finds the first node of class name (the editor's default
// "Node name for S&R"), else the first titled name, in the order ids.
func apiNodeFor(g Graph, ids []string, name string) (string, bool) {
	for _, match := range []func(*Node) bool{
		func(n *Node) bool { return n.ClassType == name },
		func(n *Node) bool { return n.Title() == name },
	} {
		for _, id := range ids {
			if match(g[id]) {
				return id, true
			}
		}
	}
	return "", false
}

// applyTextReplacements is the editor's function of the same name: lookup
// returns the value of a node's widget.
func applyTextReplacements(value string, now time.Time, lookup func(node, widget string) (any, bool)) string {
	return tokenPattern.ReplaceAllStringFunc(value, func(match string) string {
		text := match[1 : len(match)-1]
		split := strings.Split(text, ".")
		if len(split) != 2 {
			if f, ok := strings.CutPrefix(split[0], "date:"); ok {
				return formatDate(f, now)
			}
			return match
		}
		v, ok := lookup(split[0], split[1])
		if !ok {
			return match
		}
		return unsafeInName.ReplaceAllString(jsString(v), "_")
	})
}

// formatDate is the editor's formatDate.
func formatDate(format string, t time.Time) string {
	return datePattern.ReplaceAllStringFunc(format, func(part string) string {
		var v int
		switch part[0] {
		case 'y':
			switch part {
			case "yy":
				return strconv.Itoa(t.Year())[min(2, len(strconv.Itoa(t.Year()))):]
			case "yyyy":
				return strconv.Itoa(t.Year())
			}
			return part // "yyy" is no format
		case 'd':
			v = t.Day()
		case 'M':
			v = int(t.Month())
		case 'h':
			v = t.Hour()
		case 'm':
			v = t.Minute()
		case 's':
			v = t.Second()
		}
		s := strconv.Itoa(v)
		return strings.Repeat("0", max(0, len(part)-len(s))) + s
	})
}

// jsString is JavaScript's String(value ?? "") of a decoded JSON value.
func jsString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil && !math.IsInf(f, 0) {
			return string(v)
		}
		return jsNumber(f)
	case float64:
		return jsNumber(v)
	case int:
		return strconv.Itoa(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = jsString(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		if l, ok := v["__value__"]; ok && len(v) == 1 {
			return jsString(l)
		}
	}
	return "[object Object]"
}

// jsNumber is JavaScript's Number.prototype.toString for f.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e21 || a < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e-07 → JS writes 1.5e-7
		mant, exp, _ := strings.Cut(s, "e")
		sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
		return mant + "e" + sign + digits
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
