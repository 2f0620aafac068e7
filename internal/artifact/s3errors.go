package artifact

import (
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// s3Error maps an SDK error to ours: a 404 is ErrNotFound, anything else
// keeps the SDK's error (with the status, request id and the server's
// code) wrapped under what.
func s3Error(what string, err error) error {
	switch status(err) {
	case http.StatusNotFound:
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case http.StatusForbidden:
		// AWS also answers 403 for a missing object when the policy lacks
		// s3:ListBucket; the README lists the permissions needed.
		return fmt.Errorf("%s: access denied (check the credentials and the bucket's policy): %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// status is the HTTP status of a failed S3 call, 0 when it got no answer.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
