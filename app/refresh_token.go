package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/google/uuid"
)

// refreshToken is the opaque refresh token: the session id, the token's
// generation within the session and 256 secret bits. The first secret of a
// session is random; each rotation derives the next one as an HMAC of the
// previous under a server key. So:
//   - two requests racing with one token both get the same next token
//     (the loser recomputes it, nothing secret is stored);
//   - a token of an older generation can be proven to be one the session
//     really issued (walk the chain forward to the stored hash), so reuse
//     is told apart from a guess and only real reuse ends the session;
//   - the database keeps only SHA-256 of the current secret.
type refreshToken struct {
	sid    uuid.UUID
	gen    int64
	secret [32]byte
}

const refreshTokenLen = 16 + 8 + 32

func (t refreshToken) String() string {
	var b [refreshTokenLen]byte
	copy(b[:16], t.sid[:])
	binary.BigEndian.PutUint64(b[16:24], uint64(t.gen))
	copy(b[24:], t.secret[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// parseRefreshToken reads a token; ok is false for anything malformed.
func parseRefreshToken(s string) (refreshToken, bool) {
	var t refreshToken
	if base64.RawURLEncoding.DecodedLen(len(s)) != refreshTokenLen {
		return t, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != refreshTokenLen {
		return t, false
	}
	copy(t.sid[:], b[:16])
	gen := binary.BigEndian.Uint64(b[16:24])
	if gen > 1<<62 {
		return t, false
	}
	t.gen = int64(gen)
	copy(t.secret[:], b[24:])
	return t, true
}

// newRefreshToken starts a session's chain with 256 random bits.
func newRefreshToken(sid uuid.UUID, gen int64) refreshToken {
	t := refreshToken{sid: sid, gen: gen}
	_, _ = rand.Read(t.secret[:]) // crypto/rand.Read never fails
	return t
}

// next is the token that rotation hands out after t.
func (t refreshToken) next(key []byte) refreshToken {
	m := hmac.New(sha256.New, key)
	m.Write(t.sid[:])
	var gen [8]byte
	binary.BigEndian.PutUint64(gen[:], uint64(t.gen))
	m.Write(gen[:])
	m.Write(t.secret[:])
	n := refreshToken{sid: t.sid, gen: t.gen + 1}
	copy(n.secret[:], m.Sum(nil))
	return n
}

// hash is what the database keeps of the token: its secret is 256 random
// (or HMAC-derived) bits, so a plain SHA-256 cannot be reversed.
func (t refreshToken) hash() []byte {
	h := sha256.Sum256(t.secret[:])
	return h[:]
}
