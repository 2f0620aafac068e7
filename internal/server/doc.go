// Package server assembles one comfygate process: the job store, artifact
// store, event hub, fleet, use cases and HTTP surfaces, plus optional
// in-process ComfyUI simulators for the demo.
//
// It exists so that the wiring — which part needs which, in what order they
// start, and the reverse order in which they stop — is written once. The
// command line (cmd/comfygate) only turns flags into a Config, and the
// end-to-end tests and benchmarks start exactly the process users run.
package server
