package comfywire

import "github.com/comfygate/comfygate/comfy/comfyjson"

// POST /history and POST /queue take the same body, {"clear": …} and/or
// {"delete": [ids]}, and ComfyUI reads both keys with the same Python
// operators. The two parts stay separate so that each handler keeps acting
// on "clear" before it reads "delete", as Python does: a bad "delete" fails
// after the clear already happened.

// ClearRequested is `"clear" in v and v["clear"]`: whether the body asks
// for a clear, or comfyjson.ErrTypeError where Python raises (a body that
// is no dict).
func ClearRequested(v any) (bool, error) {
	has, err := comfyjson.Contains(v, "clear")
	if err != nil || !has {
		return false, err
	}
	clear, err := comfyjson.Get(v, "clear")
	if err != nil {
		return false, err
	}
	return comfyjson.Truthy(clear), nil
}

// DeleteIDs is `for id in v["delete"]` when "delete" is in v: the elements
// as they come (any JSON value; the caller decides what it can hash), nil
// when the key is absent, or comfyjson.ErrTypeError where Python raises.
func DeleteIDs(v any) ([]any, error) {
	if has, _ := comfyjson.Contains(v, "delete"); !has {
		return nil, nil
	}
	del, err := comfyjson.Get(v, "delete")
	if err != nil {
		return nil, err
	}
	return comfyjson.Iter(del)
}
