package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/models"
)

// A cursor made by UserCursor is the one the server reads: same position and
// group, refused under another secret or with a search.
func TestUserCursorIsReadByTheServer(t *testing.T) {
	// Drawn per run like testenv.NewSecret, which this package's own tests
	// cannot import (testenv imports app).
	secret := []byte(rand.Text() + rand.Text())
	a := testApp(Deps{Options: Options{JWTSecret: secret}})
	pos := models.UserPosition{CreatedAt: time.Date(2026, 11, 30, 4, 0, 0, 123456000, time.UTC), ID: models.NewID()}

	c := UserCursor(secret, true, "", pos)
	got, err := a.readUserCursor(c, true, "")
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !got.CreatedAt.Equal(pos.CreatedAt) || got.ID != pos.ID {
		t.Fatalf("read %+v, want %+v", got, pos)
	}
	if c != a.userCursor(true, "", pos) {
		t.Error("UserCursor differs from the server's own next_cursor")
	}
	if _, err := a.readUserCursor(c, false, ""); err == nil {
		t.Error("the cursor was accepted for the other group")
	}
	if _, err := a.readUserCursor(c, true, "bench-user-5"); err == nil {
		t.Error("the cursor was accepted by a search")
	}
	other := testApp(Deps{Options: Options{JWTSecret: []byte(rand.Text() + rand.Text())}})
	if _, err := other.readUserCursor(c, true, ""); err == nil {
		t.Error("the cursor was accepted under another secret")
	}
}

// A search cursor carries the user's key, whatever its bytes, and is read
// only by the same search; a cursor of the other kind of list is refused.
func TestSearchCursorCarriesTheKey(t *testing.T) {
	secret := []byte(rand.Text() + rand.Text())
	a := testApp(Deps{Options: Options{JWTSecret: secret}})
	id := models.NewID()
	longest := strings.Repeat("\U0001F600", 254) // an email of 254 characters of 4 bytes
	for _, key := range []string{"", "ann", "ann@example.com", "\x00\xff", longest} {
		pos := models.UserPosition{Key: key, ID: id}
		c := a.userCursor(false, "Ann", pos)
		if len(c) > 2000 {
			t.Fatalf("a cursor of %d characters for a key of %d bytes", len(c), len(key))
		}
		if err := a.validate(ListUsersInput{Cursor: c}); err != nil {
			t.Fatalf("key of %d bytes: %v", len(key), err)
		}
		got, err := a.readUserCursor(c, false, "ann")
		if err != nil {
			t.Fatalf("key %.20q: %v", key, err)
		}
		if got.Key != key || got.ID != id || !got.CreatedAt.IsZero() {
			t.Fatalf("read %+v, want %+v", got, pos)
		}
		if c != UserCursor(secret, false, " ann ", pos) {
			t.Error("UserCursor differs from the server's own next_cursor")
		}
		if _, err := a.readUserCursor(c, false, ""); err == nil {
			t.Error("a search cursor was accepted without q")
		}
		if _, err := a.readUserCursor(c, false, "an"); err == nil {
			t.Error("a search cursor was accepted for another q")
		}
	}
	// A list cursor is refused by a search, even with a valid MAC over q.
	list := a.userCursor(true, "", models.UserPosition{CreatedAt: time.Now(), ID: id})
	if _, err := a.readUserCursor(list, true, "ann"); err == nil {
		t.Error("a list cursor was accepted by a search")
	}
	b, _ := base64.RawURLEncoding.DecodeString(list)
	body := b[:len(b)-userCursorMACLen]
	forged := base64.RawURLEncoding.EncodeToString(append(body, userCursorMAC(a.cursorKey, body, "ann")...))
	if _, err := a.readUserCursor(forged, true, "ann"); err == nil {
		t.Error("a version 1 cursor signed over q was accepted by a search")
	}
	// A length that disagrees with the cursor's size is refused.
	c := a.userCursor(true, "ann", models.UserPosition{Key: "ann", ID: id})
	b, _ = base64.RawURLEncoding.DecodeString(c)
	for _, n := range []uint16{0, 2, 4, 0xffff} {
		bad := slices.Clone(b)
		binary.BigEndian.PutUint16(bad[2:4], n)
		if _, err := a.readUserCursor(base64.RawURLEncoding.EncodeToString(bad), true, "ann"); err == nil {
			t.Errorf("a key length of %d was accepted", n)
		}
	}
}
