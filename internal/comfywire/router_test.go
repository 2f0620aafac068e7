package comfywire

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type answer struct {
	Status int
	Allow  string
	Type   string
	Body   string
}

func TestRouter(t *testing.T) {
	var rt Router
	ok := func(w http.ResponseWriter, _ *http.Request, p map[string]string) {
		WriteText(w, http.StatusOK, "ok "+p["id"])
	}
	rt.HandleAPI(http.MethodGet, "/history/{id}", ok)
	rt.HandleAPI(http.MethodPost, "/history/{id}", ok)
	rt.Handle(http.MethodGet, "/internal/logs", ok)
	h := OriginOnly(&rt, nil)
	tests := []struct {
		name, method, path, origin string
		want                       answer
	}{
		{"plain", "GET", "/history/a%20b", "", answer{200, "", ContentText, "ok a b"}},
		{"under api", "GET", "/api/history/x", "", answer{200, "", ContentText, "ok x"}},
		// The recorder keeps the body that net/http drops for HEAD.
		{"head answers for get", "HEAD", "/history/x", "", answer{200, "", ContentText, "ok x"}},
		{"wrong method", "DELETE", "/history/x", "", answer{405, "GET,HEAD,POST", ContentText, "405: Method Not Allowed"}},
		{"not under api", "GET", "/api/internal/logs", "", answer{404, "", ContentText, "404: Not Found"}},
		{"no cleaning", "GET", "/history/x/", "", answer{404, "", ContentText, "404: Not Found"}},
		{"foreign origin", "GET", "/history/x", "http://evil.example", answer{403, "", ContentEmpty, ""}},
		{"same origin", "GET", "/history/x", "http://localhost:8188", answer{200, "", ContentText, "ok x"}},
		{"options", "OPTIONS", "/anything", "", answer{200, "", ContentEmpty, ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://localhost:8188"+tc.path, nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			got := answer{w.Code, w.Header().Get("Allow"), w.Header().Get("Content-Type"), w.Body.String()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.path, diff)
			}
		})
	}
}

func TestPyInt(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{{" 12 ", 12, true}, {"-1_0", -10, true}, {"1__0", 0, false}, {"+-1", 0, false}, {"x", 0, false}, {"", 0, false}}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got, ok := PyInt(tc.in); got != tc.want || ok != tc.ok {
				t.Errorf("PyInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
