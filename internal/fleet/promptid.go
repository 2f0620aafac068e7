package fleet

import (
	"crypto/sha256"
	"fmt"
	"strconv"
)

// promptIDFor is the ComfyUI prompt id of a job's attempt. The first attempt
// uses the job id itself, so a job and its prompt share one id. Later
// attempts need ids of their own: a retry may land on the backend that
// already has the first attempt in its history (or, after a partition,
// still in its queue), and a reused id would make reconcile read the old
// run. They get a UUID derived from (job id, attempt), so a restarted
// process finds the prompt of the current attempt from the store alone.
// The form (lowercase, version 8, RFC 9562 variant) is accepted by newer
// ComfyUI versions, which insist on canonical UUIDs.
func promptIDFor(jobID string, attempt int) string {
	if attempt <= 1 {
		return jobID
	}
	sum := sha256.Sum256([]byte(jobID + "#" + strconv.Itoa(attempt)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8: custom
	b[8] = b[8]&0x3f | 0x80 // variant 10
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// PromptID is the ComfyUI prompt id the fleet posts a job's attempt
// (1-based) under, for tools and tests that read a backend's own counters.
func PromptID(jobID string, attempt int) string { return promptIDFor(jobID, attempt) }
