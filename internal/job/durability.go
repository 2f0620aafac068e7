package job

import "context"

// deferSyncKey marks a context whose store writes may defer their sync.
type deferSyncKey struct{}

// DeferSync marks the store writes made with the returned context as state
// that recovery can rebuild: a dispatch's claim, a job's start, its
// progress. A store may commit them without waiting for the disk. Such a
// write survives a crash of the process like any other, and it is on disk
// once any later write not so marked is: the stores keep one ordered log,
// and syncing a commit syncs everything before it. A power cut or kernel
// panic may roll back the deferred writes made since the last synced one,
// which puts a job back into an earlier state that recovery handles (a
// claim lost that way makes the job run again). Writes that answer a client
// or record results (a 2xx submission, outputs, a terminal state) are never
// deferred.
func DeferSync(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferSyncKey{}, true)
}

// SyncDeferred reports whether ctx was made by DeferSync.
func SyncDeferred(ctx context.Context) bool {
	v, _ := ctx.Value(deferSyncKey{}).(bool)
	return v
}
