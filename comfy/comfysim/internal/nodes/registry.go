package nodes

import "maps"

// registry is built once and never changed.
var registry = func() map[string]Def {
	r := map[string]Def{}
	for _, part := range []map[string]Def{imageNodes(), saveNodes(), ioNodes(), textNodes(), sdNodes()} {
		maps.Copy(r, part)
	}
	return r
}()

// Lookup returns the implementation of a node class.
func Lookup(class string) (Def, bool) {
	d, ok := registry[class]
	return d, ok
}

// Classes lists every implemented class.
func Classes() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	return out
}

// Unimplemented is the Def used for classes the catalog knows but the
// simulator does not: they fail at run time with a clear message.
func Unimplemented(class string) Def {
	return stateless(func(*Call) (Result, error) {
		return Result{}, Raise("NotImplementedError", "comfysim does not simulate node class %s", class)
	})
}
