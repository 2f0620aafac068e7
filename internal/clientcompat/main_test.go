package clientcompat

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine of the in-process servers
// outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
