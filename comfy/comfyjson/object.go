package comfyjson

import "slices"

// Member is one key/value pair of an Object.
type Member struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its key order, as a Python dict does.
// Lookups scan the members: objects in ComfyUI's messages are small, and a
// slice keeps decoding cheap and order exact.
type Object []Member

// index is the position of key, or -1.
func (o Object) index(key string) int {
	return slices.IndexFunc(o, func(m Member) bool { return m.Key == key })
}

// Get returns the value stored under key.
func (o Object) Get(key string) (any, bool) {
	if i := o.index(key); i >= 0 {
		return o[i].Value, true
	}
	return nil, false
}

// Has reports whether key is present.
func (o Object) Has(key string) bool { return o.index(key) >= 0 }

// Set replaces the value of key in place, or appends the pair: what
// assigning to a Python dict does.
func (o *Object) Set(key string, v any) {
	if i := o.index(key); i >= 0 {
		(*o)[i].Value = v
		return
	}
	*o = append(*o, Member{Key: key, Value: v})
}

// Delete removes key if present. The members move to a new array, so
// other holders of the object (it is a slice) keep seeing it whole.
func (o *Object) Delete(key string) {
	if i := o.index(key); i >= 0 {
		*o = append((*o)[:i:i], (*o)[i+1:]...)
	}
}

// Keys lists the keys in order.
func (o Object) Keys() []string {
	keys := make([]string, len(o))
	for i, m := range o {
		keys[i] = m.Key
	}
	return keys
}

// Plain converts every Object in a decoded value into a map[string]any, for
// code (and comparisons) where key order carries no meaning.
func Plain(v any) any {
	switch x := v.(type) {
	case Object:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = Plain(e.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	}
	return v
}
