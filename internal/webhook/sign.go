package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// secretPrefix starts a Standard Webhooks secret.
const secretPrefix = "whsec_"

// Secret is one signing key.
type Secret struct{ key []byte }

// ParseSecret reads a secret written "whsec_<base64>": at least 24 bytes
// (the Standard Webhooks minimum), at most 64.
func ParseSecret(s string) (Secret, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), secretPrefix)
	if !ok {
		return Secret{}, errors.New("webhook secret: want whsec_ followed by base64")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return Secret{}, fmt.Errorf("webhook secret: the part after whsec_ is not base64: %w", err)
	}
	if len(key) < 24 || len(key) > 64 {
		return Secret{}, fmt.Errorf("webhook secret: %d bytes; want 24 to 64", len(key))
	}
	return Secret{key: key}, nil
}

// GenerateSecret returns a new random secret, written "whsec_<base64>".
func GenerateSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// sign returns the value of the webhook-signature header: "v1,<base64>"
// for each secret, space-separated, so that during a rotation receivers
// holding either secret verify the message.
func sign(secrets []Secret, id string, ts time.Time, body []byte) string {
	prefix := id + "." + strconv.FormatInt(ts.Unix(), 10) + "."
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		h := hmac.New(sha256.New, s.key)
		h.Write([]byte(prefix))
		h.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	return strings.Join(sigs, " ")
}
