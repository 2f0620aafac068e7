//go:build !linux

package artifact

// Elsewhere the content type goes to a sidecar file (see Local).

func setTypeAttr(string, string) error { return errNoAttrs }

func typeFromAttr(string) (string, bool) { return "", false }
