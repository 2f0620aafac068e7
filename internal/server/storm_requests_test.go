package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
)

// fixtures are what the storm's requests point at: per key kind, a PNG
// and a file that is not an image uploaded through the ComfyUI surface,
// and a REST upload.
type fixtures struct {
	artifact [2]string // REST upload ids
}

func stormFixtures(t *testing.T, hc *http.Client, base string) fixtures {
	t.Helper()
	var fx fixtures
	pngData := tinyPNG()
	for k := range stormKeys {
		for name, data := range map[string][]byte{"storm.png": pngData, "junk.png": []byte("not an image at all")} {
			body, ctype := multipartBody(map[string]string{"overwrite": "true"}, "image", name, data)
			if code, b := doStorm(t, hc, base, http.MethodPost, "/upload/image", authed(http.Header{"Content-Type": {ctype}}, k), body); code != http.StatusOK {
				t.Fatalf("upload %s: %d %s", name, code, b)
			}
		}
		body, ctype := multipartBody(nil, "file", "storm.png", pngData)
		code, b := doStorm(t, hc, base, http.MethodPost, "/v1/uploads", authed(http.Header{"Content-Type": {ctype}}, k), body)
		var up api.Upload
		if code >= 300 || json.Unmarshal(b, &up) != nil {
			t.Fatalf("REST upload: %d %s", code, b)
		}
		fx.artifact[k] = up.ID
	}
	return fx
}

// tinyPNG is an 8×8 transparent PNG (encoding it cannot fail).
func tinyPNG() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 8, 8)))
	return b.Bytes()
}

func multipartBody(fields map[string]string, fileField, filename string, data []byte) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(fileField, filename)
	_, _ = fw.Write(data)
	_ = mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// Routes that read a JSON body, per surface.
var (
	comfyJSONRoutes = []string{"/prompt", "/queue", "/history", "/interrupt", "/free", "/api/jobs/cancel"}
	restJSONRoutes  = []string{"/v1/jobs", "/v1/workflows/txt2img/jobs"}
	flaskJSONRoutes = []string{"/api/workflow/txt2img", "/flask/api/workflow/txt2img"}
)

// apiTwin gives the route or its /api twin (the same handler under
// another prefix), one or the other by the body, so that both are
// stormed without sending every body twice.
func apiTwin(route string, body []byte) string {
	if strings.HasPrefix(route, "/api/") || crc32.ChecksumIEEE(body)%2 == 0 {
		return route
	}
	return "/api" + route
}

// stormRequests builds every request of the storm, for both key kinds.
func stormRequests(t *testing.T, fx fixtures) []stormRequest {
	var one []stormRequest
	for _, gen := range []func(*rand.Rand, fixtures) []stormRequest{
		brokenJSON, mutatedJSON, deepJSON, hugeNumbers, hostileGraphs, badMultipart,
		traversal, badRanges, wrongMethods, rawRequests,
	} {
		one = append(one, gen(rand.New(rand.NewPCG(7, uint64(len(one)))), fx)...)
	}
	var out []stormRequest
	for k := range stormKeys {
		for _, r := range one {
			r.family += " (" + stormKeys[k].name + ")"
			if r.raw != nil {
				r.raw = bytes.Replace(r.raw, []byte("KEY"), []byte(stormKeys[k].secret), 1)
			} else {
				r.header = authed(r.header, k)
				r.path = strings.ReplaceAll(r.path, "ARTIFACT", fx.artifact[k])
			}
			out = append(out, r)
		}
	}
	return out
}

// jsonRequests sends body to every JSON route, the ComfyUI ones with the
// row their 500 would fall under.
func jsonRequests(family string, body []byte) []stormRequest {
	var out []stormRequest
	h := http.Header{"Content-Type": {"application/json"}}
	for _, p := range comfyJSONRoutes {
		p = apiTwin(p, body)
		out = append(out, stormRequest{family: family, method: http.MethodPost, path: p, header: h, body: body, allow: comfyRow(p, body)})
	}
	for _, p := range append(restJSONRoutes, flaskJSONRoutes...) {
		out = append(out, stormRequest{family: family, method: http.MethodPost, path: p, header: h, body: body})
	}
	out = append(out, stormRequest{family: family, method: http.MethodPut, path: "/v1/workflows/storm", header: h, body: body})
	return out
}

// validPrompt is a small graph every simulator runs.
const validPrompt = `{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "storm"}}}, "client_id": "storm"}`

func brokenJSON(*rand.Rand, fixtures) []stormRequest {
	bodies := []string{"", "{", "}", "[", `{"prompt":`, `{"prompt": {"1": `, "null", "true", "0", `"x"`, "[]", "[1,2,3]",
		`{"a":1}garbage`, "\xff\xfe{}", "\xef\xbb\xbf{}", `{"a":"\u0000"}`, `{"a":"\ud800"}`, "{\x00}",
		`{"prompt": []}`, `{"prompt": "EmptyImage"}`, `{"prompt": null}`, `{"prompt": {}, "extra_data": 3, "client_id": "x"}`,
		`{"delete": 5}`, `{"delete": [["x"]]}`, `{"delete": null}`, `{"clear": true, "delete": true}`, `{"prompt_id": ["x"]}`,
		`{"job_ids": "x"}`, `{"job_ids": [1, null, {}]}`, `{"workflow": 5}`, `{"params": "x"}`, `{"unload_models": {}}`}
	var out []stormRequest
	for _, b := range bodies {
		out = append(out, jsonRequests("broken JSON", []byte(b))...)
	}
	return out
}

// mutatedJSON cuts or flips bytes of valid bodies until they are no
// longer JSON.
func mutatedJSON(r *rand.Rand, _ fixtures) []stormRequest {
	bases := []string{validPrompt, `{"workflow": "txt2img", "params": {"prompt": "a fox", "seed": 42}}`, `{"delete": ["a", "b"], "clear": false}`}
	var out []stormRequest
	for len(out) < 400 {
		b := []byte(bases[r.IntN(len(bases))])
		switch r.IntN(3) {
		case 0:
			b = b[:r.IntN(len(b))]
		case 1:
			b[r.IntN(len(b))] = byte(r.IntN(256))
		case 2:
			i := r.IntN(len(b))
			b = append(b[:i:i], append([]byte(`{[":,`), b[i:]...)...)
		}
		if json.Valid(b) {
			continue
		}
		out = append(out, jsonRequests("mutated JSON", b)...)
	}
	return out
}

func deepJSON(*rand.Rand, fixtures) []stormRequest {
	var out []stormRequest
	for _, depth := range []int{300, 1001, 100000} {
		arr := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		obj := strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
		inPrompt := `{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": ` + arr + `}}}}`
		for _, b := range []string{arr, obj, inPrompt} {
			out = append(out, jsonRequests(fmt.Sprintf("deep JSON %d", depth), []byte(b))...)
		}
	}
	return out
}

func hugeNumbers(*rand.Rand, fixtures) []stormRequest {
	numbers := []string{"1e999", "-1e999", "1e-999", "18446744073709551616", "-9223372036854775809", "123456789012345678901234567890",
		strings.Repeat("9", 4300), strings.Repeat("9", 4301), "0." + strings.Repeat("1", 10000), "-0"}
	var out []stormRequest
	for _, n := range numbers {
		out = append(out, jsonRequests("huge numbers", []byte(`{"workflow": "txt2img", "params": {"seed": `+n+`, "steps": `+n+`}}`))...)
		prompt := strings.Replace(validPrompt, `"width": 8`, `"width": `+n, 1)
		out = append(out, jsonRequests("huge numbers", []byte(prompt))...)
		out = append(out, jsonRequests("huge numbers", []byte(`{"number": `+n+`, "prompt": {}}`))...)
	}
	return out
}

// hostileGraphs are graphs that parse: cycles, 10,000 and more nodes,
// links to nowhere, wrong shapes.
func hostileGraphs(*rand.Rand, fixtures) []stormRequest {
	node := func(id int, link string) string {
		return fmt.Sprintf(`"%d": {"class_type": "ImageInvert", "inputs": {"image": [%q, 0]}}`, id, link)
	}
	chain := func(n int, cycle bool) string {
		parts := make([]string, n)
		for i := range n {
			prev := fmt.Sprint(i - 1)
			if i == 0 {
				prev = fmt.Sprint(n - 1)
				if !cycle {
					prev = "missing"
				}
			}
			parts[i] = node(i, prev)
		}
		parts = append(parts, fmt.Sprintf(`"out": {"class_type": "SaveImage", "inputs": {"images": ["%d", 0], "filename_prefix": "x"}}`, n-1))
		return `{"prompt": {` + strings.Join(parts, ",") + `}}`
	}
	// The 10,000-node graphs cost the most time of the storm (about a
	// second each under -race): each goes once to the ComfyUI and the REST
	// graph routes, not to the /api twin too.
	big := []string{chain(10000, false), chain(10001, true)}
	graphs := []string{
		chain(2, true), chain(50, true),
		`{"prompt": {"1": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}}, "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}}`,
		`{"prompt": {"1": {"class_type": ["x"], "inputs": {}}}}`, `{"prompt": {"1": {"class_type": {"a": 1}}}}`,
		`{"prompt": {"1": {"class_type": "SaveImage", "inputs": {"images": ["1", -1]}}}}`,
		`{"prompt": {"1": {"class_type": "SaveImage", "inputs": {"images": ["2", 99999999999999999999]}}}}`,
		`{"prompt": {"1": {"class_type": "LoadImage", "inputs": {"image": "../../../../etc/passwd"}}, "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}}`,
		`{"prompt": {"1": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "../../../tmp/x"}}}}`,
		`{"prompt": {"1": {"class_type": "SaveImage", "inputs": []}, "2": {"class_type": "SaveImage", "inputs": "x"}}}`,
		`{"prompt": {"` + strings.Repeat("k", 100000) + `": {"class_type": "SaveImage"}}}`,
	}
	var out []stormRequest
	h := http.Header{"Content-Type": {"application/json"}}
	small := len(graphs)
	graphs = append(graphs, big...)
	for i, g := range graphs {
		routes := []string{"/prompt", "/api/prompt"}
		if i >= small {
			routes = routes[:1]
		}
		for _, p := range routes {
			out = append(out, stormRequest{family: "hostile graphs", method: http.MethodPost, path: p, header: h, body: []byte(g), allow: comfyRow(p, []byte(g))})
		}
		var inner map[string]json.RawMessage
		_ = json.Unmarshal([]byte(g), &inner)
		rest, _ := json.Marshal(map[string]json.RawMessage{"prompt": inner["prompt"]})
		out = append(out, stormRequest{family: "hostile graphs", method: http.MethodPost, path: "/v1/jobs", header: h, body: rest})
		out = append(out, stormRequest{family: "hostile graphs", method: http.MethodPut, path: "/v1/workflows/storm-graph", header: h, body: inner["prompt"]})
	}
	return out
}

func badMultipart(*rand.Rand, fixtures) []stormRequest {
	good, gctype := multipartBody(nil, "image", "x.png", []byte("\x89PNG"))
	_, boundary, _ := strings.Cut(gctype, "boundary=")
	type mp struct {
		ctype string
		body  []byte
		row   string
	}
	cases := []mp{
		{"multipart/form-data", good, "upload-form"},     // no boundary
		{"multipart/form-data; boundary=nope", good, ""}, // no part found: no image field
		{gctype, good[:len(good)/2], "upload-form"},      // truncated
		{gctype, []byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\ntext\r\n--" + boundary + "--\r\n"), "upload-form"},
		{gctype, []byte("--" + boundary + "\r\n" + strings.Repeat("X-A: b\r\n", 20000) + "\r\n\r\n--" + boundary + "--\r\n"), "upload-form"},
		{gctype, []byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"../../x.png\"\r\n\r\nx\r\n--" + boundary + "--\r\n"), ""},
		{gctype, []byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\"\r\n\r\nx\r\n--" + boundary + "--\r\n"), ""},
		{gctype, []byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nnope\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nx\r\n--" + boundary + "--\r\n"), "upload-form"},
		{gctype, []byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"subfolder\"\r\n\r\n../../..\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nx\r\n--" + boundary + "--\r\n"), ""},
		{"application/json", []byte(`{"image": "x"}`), ""},
		{"multipart/mixed; boundary=" + boundary, good, ""},
		{gctype, []byte{}, "upload-form"},
	}
	var out []stormRequest
	for _, c := range cases {
		h := http.Header{"Content-Type": {c.ctype}}
		for _, p := range []string{"/upload/image", "/api/upload/image", "/upload/mask"} {
			out = append(out, stormRequest{family: "bad multipart", method: http.MethodPost, path: p, header: h, body: c.body, allow: c.row})
		}
		out = append(out, stormRequest{family: "bad multipart", method: http.MethodPost, path: "/v1/uploads", header: h, body: c.body})
	}
	for _, ref := range []string{"{", `{"subfolder": "x"}`, `{"filename": "../../etc/passwd", "type": "input"}`, `{"filename": "storm.png", "subfolder": "../../..", "type": "input"}`,
		`{"filename": "junk.png", "type": "input"}`, `[1]`, `{"filename": 5}`} {
		body, ctype := multipartBody(map[string]string{"original_ref": ref}, "image", "m.png", tinyPNG())
		row := ""
		switch ref {
		case "{", `{"subfolder": "x"}`, `[1]`:
			row = "mask-ref"
		case `{"filename": "junk.png", "type": "input"}`:
			row = "view-not-image"
		}
		out = append(out, stormRequest{family: "bad mask refs", method: http.MethodPost, path: "/upload/mask", header: http.Header{"Content-Type": {ctype}}, body: body, allow: row})
	}
	return out
}

func traversal(*rand.Rand, fixtures) []stormRequest {
	names := []string{"../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd", "..\\..\\x", "x%00.png",
		"storm.png%00", "....//....//etc/passwd", url.QueryEscape(strings.Repeat("a/", 5000))}
	var out []stormRequest
	for _, n := range names {
		for _, q := range []string{"filename=" + n, "filename=storm.png&subfolder=" + n, "filename=storm.png&type=" + n, "filename=" + n + "&type=input&preview=webp;90"} {
			out = append(out, stormRequest{family: "traversal", method: http.MethodGet, path: "/view?" + q})
		}
		out = append(out,
			stormRequest{family: "traversal", method: http.MethodGet, path: "/v1/artifacts/" + n},
			stormRequest{family: "traversal", method: http.MethodGet, path: "/api/image/" + n},
			stormRequest{family: "traversal", method: http.MethodGet, path: "/v1/jobs/" + n},
			stormRequest{family: "traversal", method: http.MethodGet, path: "/history/" + n},
			stormRequest{family: "traversal", method: http.MethodGet, path: "/api/task_status/" + n},
		)
	}
	for _, q := range []string{"filename=junk.png&type=input&preview=webp;90", "filename=junk.png&type=input&channel=rgb", "filename=junk.png&type=input&channel=a"} {
		out = append(out, stormRequest{family: "view of a non-image", method: http.MethodGet, path: "/view?" + q, allow: "view-not-image"})
	}
	for _, q := range []string{"max_items=x", "offset=1.5", "max_items=-1&offset=-7", "max_items=99999999999999999999999"} {
		row := ""
		if strings.Contains(q, "x") || strings.Contains(q, ".") {
			row = "history-int"
		}
		out = append(out, stormRequest{family: "history queries", method: http.MethodGet, path: "/history?" + q, allow: row})
	}
	for _, q := range []string{"status=bogus", "limit=-1", "offset=x", "sort_by=nope", "limit=99999999999999999999"} {
		out = append(out, stormRequest{family: "job queries", method: http.MethodGet, path: "/api/jobs?" + q},
			stormRequest{family: "job queries", method: http.MethodGet, path: "/v1/jobs?" + strings.Replace(q, "status", "state", 1)},
			stormRequest{family: "job queries", method: http.MethodGet, path: "/flask/api/history?" + strings.Replace(q, "limit", "max_items", 1)})
	}
	return out
}

func badRanges(*rand.Rand, fixtures) []stormRequest {
	ranges := []string{"bytes=abc", "bytes=10-5", "bytes=-0", "bytes=0-0," + strings.Repeat("0-0,", 2000) + "0-0", "bytes=99999999999999999999-",
		"bytes=-99999999999999999999", "items=0-1", "bytes=", "bytes=5-", "bytes=0-1,1-2,2-3"}
	var out []stormRequest
	for _, r := range ranges {
		h := http.Header{"Range": {r}, "If-Range": {`"nope"`}}
		out = append(out,
			stormRequest{family: "bad Range", method: http.MethodGet, path: "/view?filename=storm.png&type=input", header: h},
			stormRequest{family: "bad Range", method: http.MethodGet, path: "/v1/artifacts/ARTIFACT", header: h},
		)
	}
	return out
}

func wrongMethods(*rand.Rand, fixtures) []stormRequest {
	paths := []string{"/prompt", "/queue", "/history", "/view?filename=storm.png", "/upload/image", "/object_info", "/system_stats",
		"/api/jobs", "/v1/jobs", "/v1/workflows", "/v1/uploads", "/v1/backends", "/v1/events",
		"/api/workflows", "/api/workflow/txt2img", "/api/test_comfy", "/flask/api/workflows"}
	methods := []string{http.MethodDelete, http.MethodPatch, http.MethodPut, "PROPFIND", "FOO", http.MethodOptions, http.MethodTrace}
	var out []stormRequest
	for _, p := range paths {
		for _, m := range methods {
			out = append(out, stormRequest{family: "wrong methods", method: m, path: p})
		}
	}
	return out
}

// rawRequests are requests no client library sends: unsupported transfer
// codings, bad chunking, oversized headers, mixed framing.
func rawRequests(*rand.Rand, fixtures) []stormRequest {
	paths := []string{"/prompt", "/v1/jobs", "/api/workflow/txt2img"}
	var out []stormRequest
	for _, p := range paths {
		head := "POST " + p + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer KEY\r\nContent-Type: application/json\r\n"
		te := func(coding, body string) []byte {
			return []byte(head + "Transfer-Encoding: " + coding + "\r\n\r\n" + body)
		}
		for _, c := range []struct {
			raw []byte
			row string
			eof bool // the client closes its side after the bytes: a body cut short
		}{
			{raw: te("gzip", "5\r\nhello\r\n0\r\n\r\n"), row: "transfer-coding"},
			{raw: te("gzip, chunked", "5\r\nhello\r\n0\r\n\r\n"), row: "transfer-coding"},
			{raw: te("identity", "{}"), row: "transfer-coding"},
			{raw: te("chunked, chunked", "2\r\n{}\r\n0\r\n\r\n"), row: "transfer-coding"},
			{raw: te("chunked", "zz\r\n{}\r\n0\r\n\r\n")},
			{raw: te("chunked", "fffffffffffffffff\r\n{}\r\n")},
			{raw: te("chunked", "2\r\n{}"), eof: true},
			{raw: []byte(head + "Content-Length: 100\r\n\r\n{}"), eof: true},
			{raw: []byte(head + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")},
			{raw: []byte(head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}}")},
			{raw: []byte(head + "Content-Length: -1\r\n\r\n{}")},
			{raw: []byte(head + "Content-Length: 99999999999999999999\r\n\r\n{}")},
			{raw: []byte(head + "X-Big: " + strings.Repeat("a", 1<<20+10) + "\r\nContent-Length: 2\r\n\r\n{}")},
			{raw: []byte(head + strings.Repeat("X-Many: a\r\n", 100000) + "Content-Length: 2\r\n\r\n{}")},
			{raw: []byte("POST " + p + strings.Repeat("/a", 600000) + " HTTP/1.1\r\nHost: x\r\n\r\n")},
			{raw: []byte("GET " + p + " HTTP/9.9\r\nHost: x\r\n\r\n"), row: "http-version"},
			{raw: []byte("GET\r\n\r\n")},
		} {
			out = append(out, stormRequest{family: "raw framing", method: "RAW", path: p, raw: c.raw, allow: c.row, eof: c.eof})
		}
	}
	return out
}
