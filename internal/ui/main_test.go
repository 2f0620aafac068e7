package ui_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests: the browser
// tests start a whole comfygate, a proxy and a browser connection, and all
// of them must stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
