package comfyjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestObjectEdits(t *testing.T) {
	t.Parallel()
	base := func() Object { return Object{{"a", 1}, {"b", 2}, {"c", 3}} }
	tests := []struct {
		name string
		edit func(*Object)
		want Object
	}{
		{"set existing keeps place", func(o *Object) { o.Set("a", 9) }, Object{{"a", 9}, {"b", 2}, {"c", 3}}},
		{"set new appends", func(o *Object) { o.Set("d", 4) }, Object{{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}}},
		{"delete", func(o *Object) { o.Delete("b") }, Object{{"a", 1}, {"c", 3}}},
		{"delete absent", func(o *Object) { o.Delete("x") }, base()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := base()
			tt.edit(&o)
			if diff := cmp.Diff(tt.want, o); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestObjectDeleteLeavesOtherHoldersAlone(t *testing.T) {
	t.Parallel()
	orig := Object{{"a", 1}, {"b", 2}, {"c", 3}}
	other := orig
	other.Delete("a")
	if diff := cmp.Diff(Object{{"a", 1}, {"b", 2}, {"c", 3}}, orig); diff != "" {
		t.Errorf("the original changed (-want +got):\n%s", diff)
	}
}

func TestObjectReads(t *testing.T) {
	t.Parallel()
	o := Object{{"b", nil}, {"a", "x"}}
	if v, ok := o.Get("b"); !ok || v != nil {
		t.Errorf("Get(b) = %v, %v", v, ok)
	}
	if _, ok := o.Get("z"); ok || o.Has("z") || !o.Has("a") {
		t.Error("Has/Get disagree with the members")
	}
	if got := o.Keys(); !cmp.Equal(got, []string{"b", "a"}) {
		t.Errorf("Keys = %v", got)
	}
}

func TestObjectMarshalJSON(t *testing.T) {
	t.Parallel()
	o := Object{{"z", json.Number("1.50")}, {"<a>", Object{{"x", []any{}}}}, {"n", nil}}
	got, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	// An outer json.Marshal escapes HTML as it always does; numbers stay as written.
	if want := `{"z":1.50,"\u003ca\u003e":{"x":[]},"n":null}`; string(got) != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	plain, _ := Marshal(o)
	if want := `{"z":1.50,"<a>":{"x":[]},"n":null}`; string(plain) != want {
		t.Errorf("Marshal = %s, want %s", plain, want)
	}
	if _, err := json.Marshal(Object{{"f", func() {}}}); err == nil || !strings.Contains(err.Error(), `member "f"`) {
		t.Errorf("unencodable member: err = %v", err)
	}
}

func TestPlain(t *testing.T) {
	t.Parallel()
	v := Object{{"a", []any{Object{{"b", "c"}}}}, {"n", json.Number("1")}}
	want := map[string]any{"a": []any{map[string]any{"b": "c"}}, "n": json.Number("1")}
	if diff := cmp.Diff(want, Plain(v)); diff != "" {
		t.Errorf("Plain (-want +got):\n%s", diff)
	}
}

func TestMembers(t *testing.T) {
	t.Parallel()
	type pair struct {
		Key string
		N   int
	}
	var got []pair
	err := DecodeMembers([]byte(`{"b": 1, "a": 2, "b": 3}`), func(k string, n int) { got = append(got, pair{k, n}) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []pair{{"b", 1}, {"a", 2}, {"b", 3}}; !cmp.Equal(want, got) {
		t.Errorf("DecodeMembers = %v, want %v", got, want)
	}
	out, err := MarshalMembers(len(got), func(i int) (string, any) { return got[i].Key, got[i].N })
	if err != nil || string(out) != `{"b": 1, "a": 2, "b": 3}` {
		t.Errorf("MarshalMembers = %s, %v", out, err)
	}
	bad := []struct{ name, in, want string }{
		{"not an object", `[1]`, `expected "{", got [`},
		{"wrong value type", `{"a": "x"}`, `"a": json: cannot unmarshal string into Go value of type int`},
		{"truncated", `{"a": 1`, `EOF`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := DecodeMembers([]byte(tt.in), func(string, int) {})
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	_, err = MarshalMembers(1, func(int) (string, any) { return "f", func() {} })
	var ue *json.UnsupportedTypeError
	if !errors.As(err, &ue) {
		t.Errorf("unencodable value: err = %v", err)
	}
}
