package comfyapi

import (
	"fmt"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// maxDeleteIDs bounds the distinct ids one {"delete": …} body names: as
// many as ComfyUI keeps history entries. Each is looked up in the store.
const maxDeleteIDs = maxListed

// tooManyIDs is a delete list past maxDeleteIDs: a 400 that says so.
type tooManyIDs struct{ n int }

func (e *tooManyIDs) Error() string {
	return fmt.Sprintf("delete: %d ids or more, at most %d are taken at once", e.n, maxDeleteIDs)
}

// deleteIDs is `for id in v["delete"]` when "delete" is in v, as the
// distinct string ids it yields. Python iterates a string per character;
// its characters are taken once each, not looked up once per occurrence
// (a megabyte of one letter is one id). Elements that are not strings
// match no prompt; with unhashable, a list or object among them raises
// (dict.pop's TypeError) as in POST /history. Other values that Python
// cannot iterate raise too.
func deleteIDs(v any, unhashable bool) ([]string, error) {
	if has, _ := comfyjson.Contains(v, "delete"); !has {
		return nil, nil
	}
	del, err := comfyjson.Get(v, "delete")
	if err != nil {
		return nil, errPython
	}
	var ids []string
	seen := map[string]bool{}
	add := func(id string) error {
		if !seen[id] {
			if len(ids) == maxDeleteIDs {
				return &tooManyIDs{len(ids) + 1}
			}
			seen[id] = true
			ids = append(ids, id)
		}
		return nil
	}
	if s, ok := del.(string); ok {
		for _, r := range s {
			if err := add(string(r)); err != nil {
				return nil, err
			}
		}
		return ids, nil
	}
	items, err := comfyjson.Iter(del)
	if err != nil {
		return nil, errPython
	}
	for _, it := range items {
		switch x := it.(type) {
		case []any, map[string]any, comfyjson.Object:
			if unhashable {
				return nil, errPython
			}
		case string:
			if err := add(x); err != nil {
				return nil, err
			}
		}
	}
	return ids, nil
}
