package fidelity

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

func (n *normaliser) exchange(ex RawExchange) comfyjson.Object {
	req := n.request(ex)
	resp := n.response(ex)
	return obj("label", ex.Label, "request", req, "response", resp)
}

func (n *normaliser) request(ex RawExchange) comfyjson.Object {
	out := obj("method", ex.Method, "path", n.str(ex.Path))
	if len(ex.Headers) > 0 {
		hs := comfyjson.Object{}
		keys := make([]string, 0, len(ex.Headers))
		for k := range ex.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := ex.Headers[k]
			if n.host != "" {
				v = strings.ReplaceAll(v, n.host, "<host>")
			}
			hs.Set(k, n.str(v))
		}
		out.Set("headers", hs)
	}
	if ex.Body != nil {
		if v, err := comfyjson.Decode([]byte(*ex.Body)); err == nil {
			out.Set("json", n.value(n.workflows.abbreviate(v), ""))
		} else {
			out.Set("text", n.str(*ex.Body))
		}
	}
	if len(ex.Multipart) > 0 {
		parts := make([]any, 0, len(ex.Multipart))
		for j, p := range ex.Multipart {
			parts = append(parts, n.part(p, fmt.Sprintf("%s.multipart[%d]", n.loc, j)))
		}
		out.Set("multipart", parts)
	}
	return out
}

func (n *normaliser) part(p RawPart, where string) comfyjson.Object {
	if p.Value != nil {
		return obj("name", p.Name, "value", *p.Value)
	}
	return obj("name", p.Name, "filename", n.str(p.Filename), "content_type", p.ContentType, "sha", n.blob(p.SHA256, where))
}

func (n *normaliser) response(ex RawExchange) comfyjson.Object {
	r := ex.Response
	if r.Error != "" {
		return obj("error", r.Error)
	}
	empty := r.Body == nil && r.Binary == nil || r.Body != nil && *r.Body == ""
	out := obj("status", r.Status, "headers", n.headers(r.Headers, empty))
	route := routeOf(ex.Path)
	switch {
	case r.Binary != nil:
		out.Set("binary", obj("kind", kindOf(r.Binary.First8Hex), "sha", n.blob(r.Binary.SHA256, n.loc)))
	case empty:
	case strings.HasPrefix(headerValue(r.Headers, "Content-Type"), "application/json"):
		v, err := comfyjson.Decode([]byte(*r.Body))
		if err != nil {
			out.Set("text", *r.Body)
			break
		}
		n.jsonBody(&out, ex.Method, route, v)
	case strings.HasPrefix(headerValue(r.Headers, "Content-Type"), "text/html"):
		// ComfyUI serves whatever front end is installed (a placeholder page
		// in the capture); only that an HTML page is served is checked.
		out.Set("text", phHTML)
	default:
		out.Set("text", n.str(*r.Body))
	}
	return out
}

// jsonBody adds a normalised JSON body to out, applying the route rules.
func (n *normaliser) jsonBody(out *comfyjson.Object, method, route string, v any) {
	if method == "GET" && route == "/queue" {
		sortPending(v)
	}
	if method == "GET" && route == "/internal/logs" {
		if _, ok := v.(string); ok {
			out.Set("json", phText) // the server's own log: machine specific
			return
		}
	}
	nv := n.value(v, "")
	out.Set("json", nv)
	// /history entries are ordered oldest first, and clients read them in
	// that order; the comparison of objects ignores order, so keep it apart.
	if o, ok := nv.(comfyjson.Object); ok && method == "GET" && strings.HasPrefix(route, "/history") && len(o) > 1 {
		keys := make([]any, len(o))
		for i, m := range o {
			keys[i] = m.Key
		}
		out.Set("key_order", keys)
	}
}

// kindOf names a binary body by its magic bytes.
func kindOf(first8 string) string {
	b, err := hex.DecodeString(first8)
	if err != nil {
		return "hex:" + first8
	}
	switch {
	case len(b) >= 8 && string(b[1:4]) == "PNG":
		return "png"
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return "jpeg"
	case len(b) >= 4 && string(b[:4]) == "RIFF":
		return "riff(webp)"
	}
	return "hex:" + first8
}
