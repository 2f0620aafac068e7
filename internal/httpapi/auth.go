package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/comfygate/comfygate/api"
)

// APIKey is one accepted key. Only its SHA-256 is kept, so a leaked config
// does not leak keys; ID becomes the owner of everything the key creates.
// Admin keys may also change the fleet (the backend admin routes).
type APIKey struct {
	ID    string
	Hash  [sha256.Size]byte
	Admin bool
}

// HashKey is how a key's Hash is made.
func HashKey(key string) [sha256.Size]byte { return sha256.Sum256([]byte(key)) }

// keyring checks presented keys in constant time: every stored hash is
// compared, whether or not an earlier one matched.
type keyring struct {
	keys []APIKey
}

func newKeyring(keys []APIKey) (*keyring, error) {
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		if k.ID == "" {
			return nil, fmt.Errorf("api key %d: empty id", i)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("api key %q: duplicate id", k.ID)
		}
		if k.Hash == ([sha256.Size]byte{}) {
			return nil, fmt.Errorf("api key %q: empty hash", k.ID)
		}
		seen[k.ID] = true
	}
	return &keyring{keys: keys}, nil
}

func (k *keyring) enabled() bool { return len(k.keys) > 0 }

func (k *keyring) lookup(presented string) (found APIKey, ok bool) {
	h := HashKey(presented)
	for _, key := range k.keys {
		if subtle.ConstantTimeCompare(h[:], key.Hash[:]) == 1 {
			found, ok = key, true
		}
	}
	return found, ok
}

var (
	errNoKey      = errors.New("missing API key: send Authorization: Bearer <key> or X-API-Key")
	errUnknownKey = errors.New("unknown API key")
)

// authenticate returns the key a request acts with; its ID is the owner.
func (k *keyring) authenticate(w http.ResponseWriter, r *http.Request) (APIKey, error) {
	key, err := k.keyOf(r)
	if err != nil {
		return APIKey{}, unauthorized(w, err)
	}
	return key, nil
}

// keyOf is the key a request presents, or errNoKey / errUnknownKey.
func (k *keyring) keyOf(r *http.Request) (APIKey, error) {
	presented := presentedKey(r.Header)
	if presented == "" {
		return APIKey{}, errNoKey
	}
	key, ok := k.lookup(presented)
	if !ok {
		return APIKey{}, errUnknownKey
	}
	return key, nil
}

// Authenticator checks requests with the REST API's rules for the surfaces
// that authenticate through a callback (the Flask and ComfyUI-compatible
// ones), so that there is one implementation of them: the key comes from
// "Authorization: Bearer" or "X-API-Key" and is compared by hash, in
// constant time, against every key. It returns the key's ID as the owner,
// or an error whose message is fit for the caller's 401 body. It is nil
// when keys is empty (authentication off), as those surfaces expect.
// The keys are not validated here: New does that, and the server builds
// both from the same list.
func Authenticator(keys []APIKey) func(*http.Request) (owner string, err error) {
	if len(keys) == 0 {
		return nil
	}
	k := &keyring{keys: keys}
	return func(r *http.Request) (string, error) {
		key, err := k.keyOf(r)
		return key.ID, err
	}
}

// checkMetrics lets a scraper read /metrics: open while no key of any
// kind is configured, and otherwise only with the metrics key or an admin
// API key (the series name workflows, backends and error counts, which
// user keys do not otherwise see).
func (s *Server) checkMetrics(w http.ResponseWriter, r *http.Request) error {
	hasMetricsKey := s.cfg.MetricsKeyHash != [sha256.Size]byte{}
	if !s.keys.enabled() && !hasMetricsKey {
		return nil
	}
	presented := presentedKey(r.Header)
	if presented == "" {
		return unauthorized(w, errNoKey)
	}
	if hasMetricsKey {
		h := HashKey(presented)
		if subtle.ConstantTimeCompare(h[:], s.cfg.MetricsKeyHash[:]) == 1 {
			return nil
		}
	}
	key, ok := s.keys.lookup(presented)
	switch {
	case !ok:
		return unauthorized(w, errUnknownKey)
	case !key.Admin:
		return &Error{Status: http.StatusForbidden, Code: api.CodeForbidden, Field: "Authorization",
			Message: "/metrics needs an admin key or the metrics key (--metrics-key)"}
	}
	return nil
}

// notAdmin refuses a fleet change to a key that is not an admin's.
func notAdmin() error {
	return &Error{Status: http.StatusForbidden, Code: api.CodeForbidden, Field: "Authorization",
		Message: "this API key may not change the fleet; use an admin key"}
}

func presentedKey(h http.Header) string {
	if v := h.Get("Authorization"); v != "" {
		scheme, token, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return strings.TrimSpace(h.Get("X-API-Key"))
}

func unauthorized(w http.ResponseWriter, err error) error {
	w.Header().Set("WWW-Authenticate", `Bearer realm="comfygate"`)
	return &Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
		Field: "Authorization", Message: err.Error(), Err: err}
}

type ownerKey struct{}

func withOwner(ctx context.Context, owner string) context.Context {
	return context.WithValue(ctx, ownerKey{}, owner)
}

// ownerOf is the authenticated key id, or "" when authentication is off.
func ownerOf(r *http.Request) string {
	owner, _ := r.Context().Value(ownerKey{}).(string)
	return owner
}
