package fleet

import (
	"strings"
	"testing"
)

func TestInternSharesRequirementsOfOneShape(t *testing.T) {
	var in reqInterner
	a := in.intern(mustReq(t, testGraph("a.safetensors", "l.safetensors")))
	seed := strings.Replace(string(testGraph("a.safetensors", "l.safetensors")), "18446744073709551615", "7", 1)
	b := in.intern(mustReq(t, []byte(seed)))
	c := in.intern(mustReq(t, testGraph("b.safetensors", "l.safetensors")))
	if a != b {
		t.Error("graphs differing only in a seed got separate requirements")
	}
	if a == c {
		t.Error("graphs naming different checkpoints share requirements")
	}
	if in.intern(nil) != nil {
		t.Error("nil must stay nil")
	}
}
