package events

import "context"

// Publisher accepts events for fan-out. *Hub implements it. It is the seam
// for running several replicas: the component that produces a job's events
// (the job runner) publishes through a Publisher that may be the local hub or
// an adapter that also forwards events to the other replicas (for example a
// Postgres NOTIFY sender); a Source on each replica feeds what arrives into
// its own hub.
type Publisher interface {
	// Publish must not block; see Hub.Publish for the event contract.
	Publish(e Event)
}

var _ Publisher = (*Hub)(nil)

// Source feeds events that originate on other replicas into a Publisher
// (normally the local Hub), for example a Postgres LISTEN loop.
//
// An implementation must deliver each job's events in the order they were
// published, may lose events (NOTIFY is lossy across reconnects; the hub
// detects a missing durable event, ends the affected subscriptions with
// ErrGap and their clients resume from the store), and should pass
// ephemeral events with the Seq their origin stamped so that they sort after
// the durable events clients already have.
type Source interface {
	// Run delivers events to p until ctx ends or the feed fails. It returns
	// ctx's error after a clean stop.
	Run(ctx context.Context, p Publisher) error
}
