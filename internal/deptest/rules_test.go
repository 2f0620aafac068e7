package deptest

// Patterns are import paths relative to the module: "internal/job" is that
// package, "internal/store/..." that package and everything below it, and
// "..." every package of the module.

// rules are the house's forbidden dependencies, direct or through other
// packages of ours (test files are not held to them).
var rules = []rule{
	{
		from:   []string{"internal/job"},
		forbid: []string{"..."},
		why:    "the domain imports nothing of ours: every adapter depends on it, never it on them",
	},
	{
		from:   []string{"internal/fleet"},
		forbid: []string{"api", "internal/httpapi/...", "internal/comfyapi", "internal/flaskapi", "internal/ui"},
		why:    "the dispatcher speaks the domain's words (internal/job), not the REST wire, and knows no surface",
	},
	{
		from:   []string{"internal/httpapi/...", "internal/comfyapi", "internal/flaskapi", "internal/ui"},
		forbid: []string{"internal/fleet"},
		why:    "surfaces reach the fleet only through the use cases of internal/gateway",
	},
	{
		from:   []string{"internal/gateway"},
		forbid: []string{"api", "internal/httpapi/...", "internal/comfyapi", "internal/flaskapi", "internal/ui", "internal/fleet"},
		why:    "the use cases work in the domain's types; each surface renders them in its wire form, and the fleet is reached through an interface",
	},
	{
		from:   []string{"comfy"},
		forbid: []string{"..."},
		allow:  []string{"comfy/..."},
		why:    "the public ComfyUI protocol package stands alone (beside its own helpers under comfy/)",
	},
	{
		from:   []string{"comfy"},
		forbid: []string{"comfy/comfysim/..."},
		why:    "the protocol client does not depend on the simulator",
	},
	{
		from: []string{"comfy/comfysim/..."},
		forbid: []string{"internal/gateway", "internal/fleet", "internal/store/...", "internal/httpapi/...",
			"internal/comfyapi", "internal/flaskapi", "internal/server", "internal/events", "internal/artifact",
			"internal/job"},
		why: "the simulator stands in for ComfyUI, so it knows nothing of the gateway it is tested against",
	},
}

// exceptions are forbidden dependencies that exist today, each with the
// work that removes it. The test fails when one is no longer needed, so a
// row is deleted as soon as that work lands.
var exceptions = []exception{}
