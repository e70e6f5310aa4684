package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

// Client is where a sign-in comes from, kept with its session so the user
// can recognise their devices.
type Client struct {
	IP        string
	UserAgent string
}

// maxUserAgent bounds what is kept of a User-Agent header.
const maxUserAgent = 512

// maxChainWalk bounds how many rotations back a presented refresh token is
// traced to prove it is a former token of its session (about 1µs each).
// A session that refreshes every 15 minutes rotates about 8,640 times in
// 90 days; a token older than this is treated as unknown.
const maxChainWalk = 50_000

// startSession stores a new session for the account and returns its
// token body.
func (a *App) startSession(ctx context.Context, db bun.IDB, acct account, c Client) (*Session, error) {
	now := a.Now()
	s, rt := newSession(acct.owner, c, now, a.opts.SessionIdleTTL, a.opts.SessionMaxTTL)
	if err := models.InsertSession(ctx, db, s); err != nil {
		return nil, err
	}
	return a.tokenBody(s, rt, acct, now)
}

// NewSession builds the row of a session that starts at now and its first
// refresh token, exactly as a sign-in does, for tools that store sessions in
// bulk (the benchmark's seed).
func NewSession(o models.Owner, c Client, now time.Time, idle, maxTTL time.Duration) (*models.Session, string) {
	s, rt := newSession(o, c, now.UTC().Truncate(time.Microsecond), idle, maxTTL)
	return s, rt.String()
}

func newSession(o models.Owner, c Client, now time.Time, idle, maxTTL time.Duration) (*models.Session, refreshToken) {
	s := &models.Session{
		ID:        models.NewID(),
		CreatedAt: now, LastUsedAt: now, RotatedAt: now.Truncate(time.Second), // the access token's iat
		IP:        c.IP,
		UserAgent: clip(c.UserAgent, maxUserAgent),
		ExpiresAt: now.Add(maxTTL),
	}
	s.IdleExpiresAt = now.Add(min(idle, maxTTL))
	if o.Role == models.RoleAdmin {
		s.AdminID = &o.ID
	} else {
		s.UserID = &o.ID
	}
	rt := newRefreshToken(s.ID, 0)
	s.RefreshHash = rt.hash()
	return s, rt
}

// RefreshInput carries a refresh token (from the body or, in browsers,
// from the cookie).
type RefreshInput struct {
	RefreshToken string `json:"refresh_token"`
}

// Refresh rotates the session's refresh token and answers a new pair. A
// token just rotated by a racing request answers the same pair within
// REFRESH_REUSE_GRACE; a former token presented later is reuse and ends the
// whole session. role is the route's: a user's token on the admin route is
// an unknown token.
func (a *App) Refresh(ctx context.Context, role string, in RefreshInput) (*Session, error) {
	raw := strings.TrimSpace(in.RefreshToken)
	if raw == "" {
		return nil, models.NewValidationError("refresh_token", "is required")
	}
	rt, ok := parseRefreshToken(raw)
	if !ok {
		return nil, fmt.Errorf("refresh: malformed token: %w", models.ErrSessionRevoked)
	}
	now := a.Now()
	next := rt.next(a.refreshKey)
	s, err := models.RotateSession(ctx, a.db, models.Rotation{
		ID: rt.sid, Role: role, Generation: rt.gen, Hash: rt.hash(), NewHash: next.hash(),
		Now: now, IdleUntil: now.Add(a.opts.SessionIdleTTL),
	})
	if err == nil {
		return a.continueSession(ctx, s, next, now)
	}
	if !errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	// Not the current token of a live session: decide from the stored row.
	s, current, err := a.resolveRefresh(ctx, role, rt, now)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	return a.continueSession(ctx, s, current, now)
}

// resolveRefresh finds the live session of role that rt belongs to and
// returns it with its current refresh token, when rt is that token or the
// one before it within the reuse grace. A former token of the session
// presented later is reuse: the session ends. Anything else is unknown.
func (a *App) resolveRefresh(ctx context.Context, role string, rt refreshToken, now time.Time) (*models.Session, refreshToken, error) {
	unknown := refreshToken{}
	s, err := models.SessionByID(ctx, a.db, rt.sid)
	if errors.Is(err, models.ErrNotFound) {
		return nil, unknown, fmt.Errorf("no session %s: %w", rt.sid, models.ErrSessionRevoked)
	}
	if err != nil {
		return nil, unknown, err
	}
	if s.Owner().Role != role || !s.Alive(now) {
		return nil, unknown, fmt.Errorf("session %s ended or of another kind: %w", s.ID, models.ErrSessionRevoked)
	}
	behind := s.Generation - rt.gen
	if behind < 0 || behind > maxChainWalk {
		return nil, unknown, fmt.Errorf("session %s: token generation %d of %d: %w", s.ID, rt.gen, s.Generation, models.ErrSessionRevoked)
	}
	cur := rt
	for range behind {
		cur = cur.next(a.refreshKey)
	}
	// Constant time: the stored hash must not be learnt byte by byte.
	if subtle.ConstantTimeCompare(cur.hash(), s.RefreshHash) != 1 {
		return nil, unknown, fmt.Errorf("session %s: token not of this session: %w", s.ID, models.ErrSessionRevoked)
	}
	if behind == 0 || (behind == 1 && now.Sub(s.RotatedAt) <= a.opts.RefreshReuseGrace) {
		return s, cur, nil
	}
	// A token the session really issued, presented after it was replaced:
	// someone else holds a copy. End the session, and with it every access
	// token of it.
	if err := models.KillSession(ctx, a.db, s.ID, now); err != nil {
		return nil, unknown, err
	}
	a.log.WarnContext(ctx, "refresh token reused: session ended", "session_id", s.ID, "generations_behind", behind, "role", role)
	// Recorded as a refusal: a log that cannot take the event must not keep
	// a session alive that a copied token threatens.
	a.auditRefusal(ctx, auditEvent{
		action: AuditSessionRevoked, actorType: models.ActorSystem, targetID: ptr(s.Owner().ID),
		detail: map[string]any{"session_id": s.ID, "reason": "refresh_token_reuse", "role": role},
	})
	return nil, unknown, fmt.Errorf("session %s: refresh token reused %d rotations later: %w", s.ID, behind, models.ErrSessionRevoked)
}

// continueSession answers the session's pair after loading its account,
// which must still be active.
func (a *App) continueSession(ctx context.Context, s *models.Session, rt refreshToken, now time.Time) (*Session, error) {
	acct, err := a.loadAccount(ctx, s.Owner())
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("session %s: account gone: %w", s.ID, models.ErrSessionRevoked)
	}
	if err != nil {
		return nil, err
	}
	if !acct.active {
		return nil, fmt.Errorf("session %s: account inactive: %w", s.ID, models.ErrSessionRevoked)
	}
	return a.tokenBody(s, rt, acct, now)
}

func (a *App) loadAccount(ctx context.Context, o models.Owner) (account, error) {
	if o.Role == models.RoleAdmin {
		ad, err := models.AdminByID(ctx, a.db, o.ID)
		if err != nil {
			return account{}, err
		}
		return adminAccount(ad), nil
	}
	u, err := models.UserByID(ctx, a.db, o.ID)
	if err != nil {
		return account{}, err
	}
	return userAccount(u), nil
}

// Logout scopes.
const (
	ScopeLocal  = "local"
	ScopeOthers = "others"
	ScopeGlobal = "global"
)

// LogoutInput names which sessions to end; an empty scope is local. A
// refresh token identifies the session when no access token does.
type LogoutInput struct {
	Scope        string `json:"scope" validate:"omitempty,oneof=local others global"`
	RefreshToken string `json:"refresh_token"`
}

// TokenSession is the session an access token names, as the token
// middleware verified it.
type TokenSession struct {
	Owner     models.Owner
	SessionID uuid.UUID
}

// Logout ends the caller's session (local), every other one (others) or all
// of them (global). The caller is named by an access token (by non-nil) or,
// failing that, by the refresh token in the input; either way a session
// that has already ended is ErrSessionRevoked.
func (a *App) Logout(ctx context.Context, role string, by *TokenSession, in LogoutInput) error {
	if err := a.validate(in); err != nil {
		return err
	}
	now := a.Now()
	if by == nil {
		raw := strings.TrimSpace(in.RefreshToken)
		if raw == "" {
			return fmt.Errorf("logout without a token: %w", models.ErrUnauthorized)
		}
		rt, ok := parseRefreshToken(raw)
		if !ok {
			return fmt.Errorf("logout: malformed refresh token: %w", models.ErrSessionRevoked)
		}
		s, _, err := a.resolveRefresh(ctx, role, rt, now)
		if err != nil {
			return fmt.Errorf("logout: %w", err)
		}
		by = &TokenSession{Owner: s.Owner(), SessionID: s.ID}
	}
	if by.Owner.Role != role {
		return fmt.Errorf("logout: %s token on a %s route: %w", by.Owner.Role, role, models.ErrForbidden)
	}
	scope := in.Scope
	if scope == "" {
		scope = ScopeLocal
	}
	ev := auditEvent{action: AuditLoggedOut, actorType: by.Owner.Role, actorID: ptr(by.Owner.ID), targetID: ptr(by.Owner.ID),
		detail: map[string]any{"scope": scope, "session_id": by.SessionID}}
	return models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		switch in.Scope {
		case ScopeOthers, ScopeGlobal:
			alive, err := models.SessionAlive(ctx, tx, by.Owner, by.SessionID, now)
			if err != nil {
				return err
			}
			if !alive {
				return fmt.Errorf("logout %s: session %s: %w", in.Scope, by.SessionID, models.ErrSessionRevoked)
			}
			except := by.SessionID
			if in.Scope == ScopeGlobal {
				except = uuid.Nil
			}
			n, err := models.RevokeSessions(ctx, tx, by.Owner, except, now)
			if err != nil {
				return err
			}
			ev.detail["sessions_ended"] = n
		default:
			err := models.RevokeSession(ctx, tx, by.Owner, by.SessionID, now)
			if errors.Is(err, models.ErrNotFound) {
				return fmt.Errorf("logout: session %s: %w", by.SessionID, models.ErrSessionRevoked)
			}
			if err != nil {
				return err
			}
			ev.detail["sessions_ended"] = 1
		}
		return a.audit(ctx, tx, ev)
	})
}

// SessionInfo is one of a user's live sessions as they see it.
type SessionInfo struct {
	models.Session
	Current bool
}

// ListSessions returns the caller's live sessions, newest first, marking
// the one the request came from.
func (a *App) ListSessions(ctx context.Context, by TokenSession) ([]SessionInfo, error) {
	list, err := models.LiveSessions(ctx, a.db, by.Owner, a.Now())
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, len(list))
	for i := range list {
		out[i] = SessionInfo{Session: list[i], Current: list[i].ID == by.SessionID}
	}
	return out, nil
}

// EndSession ends one of the caller's own live sessions; any other id
// (another account's, ended, malformed) is ErrNotFound.
func (a *App) EndSession(ctx context.Context, by TokenSession, id string) error {
	sid, err := uuid.Parse(id)
	if err != nil {
		return fmt.Errorf("session id %q: %w", id, models.ErrNotFound)
	}
	return models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		if err := models.RevokeSession(ctx, tx, by.Owner, sid, a.Now()); err != nil {
			return err
		}
		return a.audit(ctx, tx, auditEvent{
			action: AuditSessionRevoked, actorType: by.Owner.Role, actorID: ptr(by.Owner.ID), targetID: ptr(by.Owner.ID),
			detail: map[string]any{"session_id": sid, "reason": "ended_by_owner"},
		})
	})
}

// sessionCleanupBatch bounds one delete of ended sessions.
const sessionCleanupBatch = 5000

// DeleteEndedSessions removes sessions that ended (expired or revoked),
// in batches over the expiry index, and returns how many went.
func (a *App) DeleteEndedSessions(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := models.DeleteEndedSessions(ctx, a.db, a.Now(), sessionCleanupBatch)
		total += n
		if err != nil || n < sessionCleanupBatch {
			return total, err
		}
	}
}

// clip cuts s to at most n bytes without splitting a character and drops
// bytes that are not UTF-8, so a header can always be stored.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
