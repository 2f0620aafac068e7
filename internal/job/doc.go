// Package job is comfygate's domain core: what a job is, the states it moves
// through and which moves are legal, the events that tell of those moves
// and their payloads, the errors callers branch on, and the Store contract
// that every storage engine implements.
//
// It exists apart from any adapter so that the rules live in one place: the
// SQLite and PostgreSQL stores, the scheduler and every HTTP surface depend on
// this package and never on each other. It imports nothing of ours.
package job
