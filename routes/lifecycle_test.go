package routes_test

import (
	"context"
	"errors"
	"image/color"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// flakyObjects fails every delete while down is set.
type flakyObjects struct {
	app.ObjectStore
	down atomic.Bool
}

func (f *flakyObjects) Delete(ctx context.Context, key string) error {
	if f.down.Load() {
		return models.Unavailable("storage", errors.New("object store down (test)"))
	}
	return f.ObjectStore.Delete(ctx, key)
}

// The purge erases self-deactivated accounts once ACCOUNT_PURGE_AFTER has
// passed (by the injected clock), never an admin's decision nor an active
// account, and an object-store outage leaves the avatar recorded for the next
// run rather than an account half erased.
func TestPurgeWithClockAndStorageOutage(t *testing.T) {
	t.Parallel()
	flaky := &flakyObjects{}
	e := testenv.New(t, testenv.Config{PurgeAfter: 30 * day, WrapObjects: func(o app.ObjectStore) app.ObjectStore {
		flaky.ObjectStore = o
		return flaky
	}})
	ctx := context.Background()
	self, adminOff, active := e.Email("self"), e.Email("adminoff"), e.Email("active")
	selfTok := e.RegisterUser(self)
	key := objectKey(t, e, mustUploadAvatar(t, e, selfTok, encodeJPEG(t, solidImage(32, 32, color.RGBA{10, 200, 10, 255}))))
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/products", map[string]any{"name": "Tea", "price": 100}, selfTok), http.StatusCreated, "")
	e.RegisterUser(adminOff)
	e.RegisterUser(active)
	_, admin := e.NewAdmin()
	selfID := userID(t, e, self)
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/users/me", nil, selfTok), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPatch, "/api/v1/admin/users/"+userID(t, e, adminOff).String(), map[string]any{"active": false}, admin), http.StatusOK, "")

	res, err := e.App.Purge(ctx)
	if err != nil || res.Erased != 0 {
		t.Fatalf("purge before the time: %+v %v", res, err)
	}
	e.Clock.Advance(29 * day)
	if res, err = e.App.Purge(ctx); err != nil || res.Erased != 0 {
		t.Fatalf("purge at 29 days: %+v %v", res, err)
	}

	e.Clock.Advance(2 * day)
	flaky.down.Store(true)
	res, err = e.App.Purge(ctx)
	if err != nil || res.Erased != 1 || res.ObjectsLeft != 1 || res.ObjectsDeleted != 0 {
		t.Fatalf("purge during an outage: %+v %v", res, err)
	}
	// The account is wholly gone, the object is recorded for a retry.
	if _, err := models.UserByID(ctx, e.DB, selfID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("erased account still loads: %v", err)
	}
	pending, err := models.PendingErasureObjects(ctx, e.DB, 10)
	if err != nil || len(pending) != 1 || pending[0].ObjectKey != key || pending[0].Attempts != 1 {
		t.Fatalf("pending objects %+v %v", pending, err)
	}
	if !slices.Contains(storedKeys(t, e), key) {
		t.Fatal("object gone although the store was down")
	}
	// Others stay as they were.
	for _, email := range []string{adminOff, active} {
		if _, err := models.UserByEmail(ctx, e.DB, email); err != nil {
			t.Fatalf("%s was erased: %v", email, err)
		}
	}
	e.Login(active, testenv.Password)
	// The email can register again already.
	e.RegisterUser(self)

	flaky.down.Store(false)
	res, err = e.App.Purge(ctx)
	if err != nil || res.Erased != 0 || res.ObjectsDeleted != 1 || res.ObjectsLeft != 0 {
		t.Fatalf("purge after the outage: %+v %v", res, err)
	}
	if slices.Contains(storedKeys(t, e), key) {
		t.Fatal("object not deleted on the retry")
	}
	if pending, _ := models.PendingErasureObjects(ctx, e.DB, 10); len(pending) != 0 {
		t.Fatalf("pending objects left: %+v", pending)
	}
}

// A reactivated account is no longer the purge's, even past the deadline.
func TestPurgeSparesReactivated(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PurgeAfter: 30 * day})
	email := e.Email("back")
	tok := e.RegisterUser(email)
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/users/me", nil, tok), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate", creds(email), ""), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate/verify", map[string]any{"email": email, "code": e.Code(email)}, ""), http.StatusOK, "")
	e.Clock.Advance(60 * day)
	if res, err := e.App.Purge(context.Background()); err != nil || res.Erased != 0 {
		t.Fatalf("purge: %+v %v", res, err)
	}
}

// ACCOUNT_PURGE_AFTER=0 keeps every account forever.
func TestPurgeOff(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("kept")
	tok := e.RegisterUser(email)
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/users/me", nil, tok), http.StatusOK, "")
	e.Clock.Advance(3650 * day)
	if res, err := e.App.Purge(context.Background()); err != nil || res.Erased != 0 {
		t.Fatalf("purge: %+v %v", res, err)
	}
}

// Two purges at once: one runs, the other steps aside.
func TestPurgeOneAtATime(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PurgeAfter: day})
	results := make(chan app.PurgeResult, 8)
	for range 8 {
		go func() {
			res, err := e.App.Purge(context.Background())
			if err != nil {
				t.Error(err)
			}
			results <- res
		}()
	}
	for range 8 {
		<-results
	}
}
