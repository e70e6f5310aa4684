package routes_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/internal/testenv"
)

const pathAudit = "/api/v1/admin/audit"

type auditEvent struct {
	ID        uuid.UUID      `json:"id"`
	At        time.Time      `json:"at"`
	ActorType string         `json:"actor_type"`
	ActorID   *uuid.UUID     `json:"actor_id"`
	Action    string         `json:"action"`
	TargetID  *uuid.UUID     `json:"target_id"`
	IP        string         `json:"ip"`
	UserAgent string         `json:"user_agent"`
	Detail    map[string]any `json:"detail"`
}

type auditPage struct {
	Total int          `json:"total"`
	Items []auditEvent `json:"items"`
}

// auditLog reads the audit log through the API with the given filters.
func auditLog(t *testing.T, e *testenv.Env, admin string, q url.Values) auditPage {
	t.Helper()
	r := e.Do(http.MethodGet, pathAudit+"?"+q.Encode(), nil, admin)
	mustStatus(t, r, http.StatusOK, "")
	var p auditPage
	r.Decode(t, &p)
	return p
}

// oneEvent is the only event of action about target; it fails otherwise.
func oneEvent(t *testing.T, e *testenv.Env, admin, action string, target uuid.UUID) auditEvent {
	t.Helper()
	p := auditLog(t, e, admin, url.Values{"action": {action}, "target": {target.String()}})
	if p.Total != 1 || len(p.Items) != 1 {
		t.Fatalf("%s of %s: %d events, want 1: %+v", action, target, p.Total, p.Items)
	}
	return p.Items[0]
}

func wantActor(t *testing.T, ev auditEvent, actorType string, actor *uuid.UUID) {
	t.Helper()
	if ev.ActorType != actorType || (actor == nil) != (ev.ActorID == nil) || (actor != nil && *actor != *ev.ActorID) {
		t.Fatalf("%s: actor %s %v, want %s %v", ev.Action, ev.ActorType, ev.ActorID, actorType, actor)
	}
}

const auditUA = "audit-test/1.0"

func withUA() map[string]string { return map[string]string{"User-Agent": auditUA} }

// TestAuditUserFlows: every event a user causes is recorded with the user
// as actor and target, the client's address and user agent.
func TestAuditUserFlows(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	_, admin := e.NewAdmin()
	email := e.Email("audited")
	tok := e.RegisterUser(email)
	id := userID(t, e, email)

	ev := oneEvent(t, e, admin, app.AuditSignedUp, id)
	wantActor(t, ev, "user", &id)
	if ev.IP == "" || ev.At.IsZero() || ev.Detail == nil {
		t.Fatalf("sign-up event lacks address, time or detail: %+v", ev)
	}

	second := e.Login(email, testenv.Password)
	wantActor(t, oneEvent(t, e, admin, app.AuditSignedIn, id), "user", &id)

	// Password change, with the user agent of the request.
	r := e.DoWith(http.MethodPut, pathChangePassword, map[string]any{"current_password": testenv.Password, "new_password": "another long password"}, tok, withUA())
	mustStatus(t, r, http.StatusOK, "")
	ev = oneEvent(t, e, admin, app.AuditPasswordChanged, id)
	wantActor(t, ev, "user", &id)
	if ev.UserAgent != auditUA || ev.Detail["sessions_ended"] != float64(1) {
		t.Fatalf("password change event: %+v", ev)
	}
	tok = r.JSON(t)["token"].(string)
	_ = second // ended by the change

	// One session ended from the list, then a logout.
	other := e.Login(email, "another long password")
	var list struct {
		Items []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	e.Do(http.MethodGet, pathSessions, nil, tok).Decode(t, &list)
	var otherID string
	for _, s := range list.Items {
		if !s.Current {
			otherID = s.ID
		}
	}
	mustStatus(t, e.Do(http.MethodDelete, pathSessions+"/"+otherID, nil, tok), http.StatusOK, "")
	ev = oneEvent(t, e, admin, app.AuditSessionRevoked, id)
	wantActor(t, ev, "user", &id)
	if ev.Detail["session_id"] != otherID || ev.Detail["reason"] != "ended_by_owner" {
		t.Fatalf("session revoked event: %+v", ev)
	}
	_ = other
	mustStatus(t, e.Do(http.MethodPost, pathLogout, nil, tok), http.StatusOK, "")
	ev = oneEvent(t, e, admin, app.AuditLoggedOut, id)
	wantActor(t, ev, "user", &id)
	if ev.Detail["scope"] != "local" {
		t.Fatalf("logout event: %+v", ev)
	}

	// Reset by mailed code.
	mustStatus(t, e.Do(http.MethodPost, pathForgot, map[string]any{"email": email}, ""), http.StatusOK, "")
	code := e.Code(email)
	mustStatus(t, e.Do(http.MethodPost, pathPasswordVerify, map[string]any{"email": email, "code": code}, ""), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, pathReset, map[string]any{"email": email, "code": code, "password": testenv.Password}, ""), http.StatusOK, "")
	wantActor(t, oneEvent(t, e, admin, app.AuditPasswordReset, id), "user", &id)

	// Self-deactivation and the way back.
	tok = e.Login(email, testenv.Password)
	mustStatus(t, e.Do(http.MethodDelete, pathMe, nil, tok), http.StatusOK, "")
	ev = oneEvent(t, e, admin, app.AuditUserDeactivated, id)
	wantActor(t, ev, "user", &id)
	if ev.Detail["by"] != "self" {
		t.Fatalf("deactivation event: %+v", ev)
	}
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate", creds(email), ""), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate/verify", map[string]any{"email": email, "code": e.Code(email)}, ""), http.StatusOK, "")
	ev = oneEvent(t, e, admin, app.AuditUserReactivated, id)
	wantActor(t, ev, "user", &id)
	if ev.Detail["by"] != "self" {
		t.Fatalf("reactivation event: %+v", ev)
	}

	// Everything about the user, newest first.
	all := auditLog(t, e, admin, url.Values{"target": {id.String()}, "per_page": {"100"}})
	if all.Total != len(all.Items) || all.Items[0].Action != app.AuditUserReactivated || all.Items[len(all.Items)-1].Action != app.AuditSignedUp {
		t.Fatalf("user's trail out of order: %+v", all.Items)
	}
	for i := 1; i < len(all.Items); i++ {
		if all.Items[i].At.After(all.Items[i-1].At) {
			t.Fatalf("not newest first at %d: %+v", i, all.Items)
		}
	}
}

// TestAuditAdminActions: admin sign-in, creation, status changes and
// erasure are recorded with the admin (or the system) as actor, and an
// erased user's trail stays without their email.
func TestAuditAdminActions(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PurgeAfter: 30 * day})
	ctx := context.Background()
	adminEmail, admin := e.NewAdmin()
	var me struct {
		Admin struct {
			ID uuid.UUID `json:"id"`
		} `json:"admin"`
	}
	// The signed-in admin's id, from the admin created through the API.
	r := e.Do(http.MethodPost, "/api/v1/admin/admins", map[string]any{"name": "Second", "email": e.Email("second"), "password": testenv.Password}, admin)
	mustStatus(t, r, http.StatusCreated, "")
	r.Decode(t, &me)
	first := adminIDByEmail(t, e, adminEmail)
	wantActor(t, oneEvent(t, e, admin, app.AuditAdminSignedIn, first), "admin", &first)
	wantActor(t, oneEvent(t, e, admin, app.AuditAdminCreated, me.Admin.ID), "admin", &first)

	// From the command line: the system.
	cli, err := e.App.CreateAdmin(ctx, nil, app.CreateAdminInput{Name: "CLI", Email: e.Email("cli"), Password: testenv.Password})
	if err != nil {
		t.Fatal(err)
	}
	wantActor(t, oneEvent(t, e, admin, app.AuditAdminCreated, cli.ID), "system", nil)

	email := e.Email("managed")
	e.RegisterUser(email)
	id := userID(t, e, email)
	patch := func(active bool) {
		t.Helper()
		mustStatus(t, e.Do(http.MethodPatch, pathAdminUsers+"/"+id.String(), map[string]any{"active": active}, admin), http.StatusOK, "")
	}
	patch(false)
	patch(false)
	patch(true)
	ev := oneEvent(t, e, admin, app.AuditUserDeactivated, id)
	wantActor(t, ev, "admin", &first)
	if ev.Detail["by"] != "admin" {
		t.Fatalf("deactivation by admin: %+v", ev)
	}
	wantActor(t, oneEvent(t, e, admin, app.AuditUnchangedByAdmin, id), "admin", &first)
	wantActor(t, oneEvent(t, e, admin, app.AuditUserReactivated, id), "admin", &first)

	mustStatus(t, e.Do(http.MethodDelete, pathAdminUsers+"/"+id.String(), nil, admin), http.StatusOK, "")
	wantActor(t, oneEvent(t, e, admin, app.AuditUserErased, id), "admin", &first)

	// The purge erases as the system.
	gone := e.Email("purged")
	tok := e.RegisterUser(gone)
	goneID := userID(t, e, gone)
	mustStatus(t, e.Do(http.MethodDelete, pathMe, nil, tok), http.StatusOK, "")
	e.Clock.Advance(31 * day)
	if res, err := e.App.Purge(ctx); err != nil || res.Erased != 1 {
		t.Fatalf("purge: %+v %v", res, err)
	}
	admin = e.AdminLogin(adminEmail, testenv.AdminPassword) // the month-old token has expired
	ev = oneEvent(t, e, admin, app.AuditUserErased, goneID)
	wantActor(t, ev, "system", nil)
	if ev.Detail["by"] != "purge" {
		t.Fatalf("purge event: %+v", ev)
	}

	// The erased accounts' trails stay, naming them by id only.
	for _, target := range []uuid.UUID{id, goneID} {
		p := auditLog(t, e, admin, url.Values{"target": {target.String()}, "per_page": {"100"}})
		if p.Total < 2 {
			t.Fatalf("trail of erased %s: %+v", target, p.Items)
		}
	}
	var raw []string
	if err := e.DB.NewRaw("SELECT detail FROM audit_events").Scan(ctx, &raw); err != nil {
		t.Fatal(err)
	}
	for _, d := range raw {
		if strings.Contains(d, "@") {
			t.Fatalf("an audit detail keeps an email: %s", d)
		}
	}
}

func adminIDByEmail(t *testing.T, e *testenv.Env, email string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := e.DB.NewRaw("SELECT id FROM admins WHERE email = ?", email).Scan(context.Background(), &id); err != nil {
		t.Fatalf("admin %s: %v", email, err)
	}
	return id
}

// TestAuditBudgetHits: the failure that spends a password or code budget
// is recorded once, naming the account; the refusals after it are not.
func TestAuditBudgetHits(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PasswordFailureBudget: 3, CodeFailureBudget: 3})
	_, admin := e.NewAdmin()
	email := e.Email("guessed")
	e.RegisterUser(email)
	id := userID(t, e, email)
	for range 3 {
		mustStatus(t, e.Do(http.MethodPost, pathLogin, map[string]any{"email": email, "password": "a wrong password"}, ""), http.StatusBadRequest, "invalid_credentials")
	}
	for range 2 {
		mustStatus(t, e.Do(http.MethodPost, pathLogin, creds(email), ""), http.StatusTooManyRequests, "too_many_attempts")
	}
	ev := oneEvent(t, e, admin, app.AuditBudgetExhausted, id)
	wantActor(t, ev, "anonymous", nil)
	if ev.Detail["budget"] != "password" || ev.Detail["purpose"] != "login" || ev.Detail["locked_seconds"] == nil {
		t.Fatalf("password budget event: %+v", ev)
	}

	// An unknown email spends its budget too, with no target.
	unknown := e.Email("nobody")
	for range 3 {
		mustStatus(t, e.Do(http.MethodPost, pathLogin, map[string]any{"email": unknown, "password": "a wrong password"}, ""), http.StatusBadRequest, "invalid_credentials")
	}
	p := auditLog(t, e, admin, url.Values{"action": {app.AuditBudgetExhausted}})
	if p.Total != 2 || p.Items[0].TargetID != nil {
		t.Fatalf("budget events: %+v", p.Items)
	}

	// The code budget, on another account.
	coded := e.Email("coded")
	e.RegisterUser(coded)
	codedID := userID(t, e, coded)
	mustStatus(t, e.Do(http.MethodPost, pathForgot, map[string]any{"email": coded}, ""), http.StatusOK, "")
	e.Code(coded)
	for range 3 {
		mustStatus(t, e.Do(http.MethodPost, pathPasswordVerify, map[string]any{"email": coded, "code": "000000"}, ""), http.StatusBadRequest, "invalid_code")
	}
	mustStatus(t, e.Do(http.MethodPost, pathPasswordVerify, map[string]any{"email": coded, "code": "000000"}, ""), http.StatusTooManyRequests, "too_many_attempts")
	ev = oneEvent(t, e, admin, app.AuditBudgetExhausted, codedID)
	if ev.Detail["budget"] != "code" || ev.Detail["purpose"] != "password" {
		t.Fatalf("code budget event: %+v", ev)
	}
}

// TestAuditRefreshReuse: a reused refresh token ends its session, and the
// server records that as the actor.
func TestAuditRefreshReuse(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{NoReuseGrace: true})
	_, admin := e.NewAdmin()
	email := e.Email("reused")
	p := e.RegisterPair(email)
	id := userID(t, e, email)
	mustRefresh(t, e, p.RefreshToken)
	e.Clock.Advance(time.Second)
	mustStatus(t, refresh(e, pathRefresh, p.RefreshToken), http.StatusUnauthorized, "session_revoked")
	ev := oneEvent(t, e, admin, app.AuditSessionRevoked, id)
	wantActor(t, ev, "system", nil)
	if ev.Detail["reason"] != "refresh_token_reuse" || ev.Detail["session_id"] == nil {
		t.Fatalf("reuse event: %+v", ev)
	}
}

// TestAuditListing: filters combine, pages are newest first and counted,
// bad query values are 400 and a user's token is 403.
func TestAuditListing(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	_, admin := e.NewAdmin()
	email := e.Email("listed")
	tok := e.RegisterUser(email)
	id := userID(t, e, email)
	for range 4 {
		e.Login(email, testenv.Password)
	}
	byUser := auditLog(t, e, admin, url.Values{"actor": {id.String()}})
	if byUser.Total != 5 {
		t.Fatalf("events by the user: %+v", byUser)
	}
	signIns := url.Values{"actor": {id.String()}, "action": {app.AuditSignedIn}, "per_page": {"3"}}
	page1 := auditLog(t, e, admin, signIns)
	signIns.Set("page", "2")
	page2 := auditLog(t, e, admin, signIns)
	if page1.Total != 4 || page2.Total != 4 || len(page1.Items) != 3 || len(page2.Items) != 1 {
		t.Fatalf("paging: %d/%d items, totals %d/%d", len(page1.Items), len(page2.Items), page1.Total, page2.Total)
	}
	newer, older := page1.Items[2], page2.Items[0]
	if newer.At.Before(older.At) || (newer.At.Equal(older.At) && newer.ID.String() <= older.ID.String()) {
		t.Fatalf("page 2 is not older than page 1: %+v then %+v", newer, older)
	}
	signIns.Set("page", "3")
	if p := auditLog(t, e, admin, signIns); p.Total != 4 || len(p.Items) != 0 {
		t.Fatalf("past the end: %+v", p)
	}
	if p := auditLog(t, e, admin, url.Values{"actor": {uuid.NewString()}}); p.Total != 0 || p.Items == nil {
		t.Fatalf("unknown actor: %+v", p)
	}

	for _, q := range []string{
		"actor=nope", "target=123", "action=user.hacked", "page=0", "page=x", "per_page=101", "per_page=0",
		"page=100000&per_page=100",
	} {
		r := e.Do(http.MethodGet, pathAudit+"?"+q, nil, admin)
		mustStatus(t, r, http.StatusBadRequest, "validation_failed")
	}
	mustStatus(t, e.Do(http.MethodGet, pathAudit, nil, tok), http.StatusForbidden, "forbidden")
	mustStatus(t, e.Do(http.MethodGet, pathAudit, nil, ""), http.StatusUnauthorized, "unauthorized")
}

// refuseAuditWrites makes the database refuse every audit insert, as a
// full disk or a revoked grant would.
func refuseAuditWrites(t *testing.T, e *testenv.Env) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER audit_refuse_insert BEFORE INSERT ON audit_events
		BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`}
	if e.DB.Dialect().Name().String() == "pg" {
		stmts = []string{
			`CREATE FUNCTION audit_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'refused for the test'; END $$`,
			`CREATE TRIGGER audit_refuse_insert BEFORE INSERT ON audit_events
			FOR EACH ROW EXECUTE FUNCTION audit_refuse_insert()`,
		}
	}
	for _, s := range stmts {
		if _, err := e.DB.ExecContext(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditWriteRefused is the documented decision: a state change whose
// event the database refuses does not happen and answers 503; a refusal
// (a budget spent) stands, and its answer is unchanged.
func TestAuditWriteRefused(t *testing.T) {
	t.Parallel()
	logs := &recordLog{}
	e := testenv.New(t, testenv.Config{PasswordFailureBudget: 2, AppLog: slog.New(logs)})
	email := e.Email("unaudited")
	tok := e.RegisterUser(email)
	id := userID(t, e, email)
	refuseAuditWrites(t, e)

	r := e.Do(http.MethodPut, pathChangePassword, map[string]any{"current_password": testenv.Password, "new_password": "another long password"}, tok)
	mustStatus(t, r, http.StatusServiceUnavailable, "unavailable")
	mustStatus(t, e.Do(http.MethodDelete, pathMe, nil, tok), http.StatusServiceUnavailable, "unavailable")
	mustStatus(t, e.Do(http.MethodPost, pathLogout, nil, tok), http.StatusServiceUnavailable, "unavailable")
	// Nothing changed: same password, still active, the session alive.
	mustStatus(t, e.Do(http.MethodGet, pathMe, nil, tok), http.StatusOK, "")
	u, err := e.App.ShowUser(context.Background(), id.String())
	if err != nil || !u.User.Active {
		t.Fatalf("user after refused deactivation: %+v %v", u, err)
	}
	// A sign-in is refused too, and its code is kept for a retry.
	mustStatus(t, e.Do(http.MethodPost, pathLogin, creds(email), ""), http.StatusOK, "")
	code := e.Code(email)
	mustStatus(t, e.Do(http.MethodPost, pathLoginVerify, map[string]any{"email": email, "code": code}, ""), http.StatusServiceUnavailable, "unavailable")

	// The budget's refusal stands though its event cannot be written.
	for range 2 {
		mustStatus(t, e.Do(http.MethodPost, pathLogin, map[string]any{"email": email, "password": "a wrong password"}, ""), http.StatusBadRequest, "invalid_credentials")
	}
	mustStatus(t, e.Do(http.MethodPost, pathLogin, creds(email), ""), http.StatusTooManyRequests, "too_many_attempts")
	// ... and the event it could not write is in the log at ERROR.
	if !logs.has(slog.LevelError, "audit event not written", app.AuditBudgetExhausted) {
		t.Fatal("the unwritten budget event was not logged at ERROR")
	}

	var n int
	if err := e.DB.NewRaw("SELECT count(*) FROM audit_events WHERE target_id = ? AND action <> ?", id, app.AuditSignedUp).Scan(context.Background(), &n); err != nil || n != 0 {
		t.Fatalf("%d events written past the refusal (%v)", n, err)
	}

	// Once the log takes events again, the kept code signs in.
	drop := "DROP TRIGGER audit_refuse_insert"
	if e.DB.Dialect().Name().String() == "pg" {
		drop += " ON audit_events"
	}
	if _, err := e.DB.ExecContext(context.Background(), drop); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e.Do(http.MethodPost, pathLoginVerify, map[string]any{"email": email, "code": code}, ""), http.StatusOK, "")
}

// recordLog keeps the app's log records, to check what was logged.
type recordLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *recordLog) WithGroup(string) slog.Handler            { return l }

func (l *recordLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

// count is how many records are at level.
func (l *recordLog) count(level slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.Level == level {
			n++
		}
	}
	return n
}

// has reports a record at level with msg whose action attribute is action.
func (l *recordLog) has(level slog.Level, msg, action string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		found := false
		r.Attrs(func(a slog.Attr) bool {
			found = found || (a.Key == "action" && a.Value.String() == action)
			return true
		})
		if r.Level == level && r.Message == msg && found {
			return true
		}
	}
	return false
}
