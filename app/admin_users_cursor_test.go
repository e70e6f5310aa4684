package app

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/acme/accounts/models"
)

// A cursor made by UserCursor is the one the server reads: same position,
// same group and search (case ignored), and refused under another secret.
func TestUserCursorIsReadByTheServer(t *testing.T) {
	// Drawn per run like testenv.NewSecret, which this package's own tests
	// cannot import (testenv imports app).
	secret := []byte(rand.Text() + rand.Text())
	a := testApp(Deps{Options: Options{JWTSecret: secret}})
	pos := models.UserPosition{CreatedAt: time.Date(2026, 11, 30, 4, 0, 0, 123456000, time.UTC), ID: models.NewID()}

	c := UserCursor(secret, true, "Bench-User-5", pos)
	got, err := a.readUserCursor(c, true, "bench-user-5")
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !got.CreatedAt.Equal(pos.CreatedAt) || got.ID != pos.ID {
		t.Fatalf("read %+v, want %+v", got, pos)
	}
	if c != a.userCursor(true, "Bench-User-5", pos) {
		t.Error("UserCursor differs from the server's own next_cursor")
	}
	if _, err := a.readUserCursor(c, false, "bench-user-5"); err == nil {
		t.Error("the cursor was accepted for the other group")
	}
	other := testApp(Deps{Options: Options{JWTSecret: []byte(rand.Text() + rand.Text())}})
	if _, err := other.readUserCursor(c, true, "bench-user-5"); err == nil {
		t.Error("the cursor was accepted under another secret")
	}
}
