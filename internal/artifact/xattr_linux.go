package artifact

import (
	"errors"
	"syscall"
)

// typeAttr is the extended attribute that carries a blob's content type
// on its own file (see Local): set on the temp file before it is synced
// and linked, so the blob and its type become visible and durable
// together, with no second file to create, sync and link.
const typeAttr = "user.comfygate.content-type"

// setTypeAttr records ct on the file at path. errNoAttrs means the
// filesystem keeps no user attributes: the store stops trying.
func setTypeAttr(path, ct string) error {
	err := syscall.Setxattr(path, typeAttr, []byte(ct), 0)
	if errors.Is(err, syscall.ENOTSUP) {
		return errNoAttrs
	}
	return err
}

// typeFromAttr returns the content type recorded on the file at path, if
// one is.
func typeFromAttr(path string) (string, bool) {
	var buf [maxTypeLen]byte
	n, err := syscall.Getxattr(path, typeAttr, buf[:])
	if err != nil || n <= 0 {
		return "", false
	}
	return string(buf[:n]), true
}
