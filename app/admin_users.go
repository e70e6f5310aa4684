package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/models"
)

const adminUsersPerPage = 20

// AdminUsersMaxOffset is how deep page/per_page may reach: an offset costs
// every row it skips, so deeper pages are read with the cursor instead.
const AdminUsersMaxOffset = 10000

// ListUsersInput is the admin user list's query. Nil Page and PerPage take
// the defaults (1 and 20); both apply to each status group. Cursor, a group's
// next_cursor, continues that group and needs its Status; it replaces Page.
type ListUsersInput struct {
	Status  string `json:"status" validate:"omitempty,oneof=active inactive"`
	Q       string `json:"q" validate:"max=254"`
	Page    *int   `json:"page" validate:"omitempty,gte=1,lte=2147483647"`
	PerPage *int   `json:"per_page" validate:"omitempty,gte=1,lte=100"`
	// A search cursor holds the last user's key: an email of 254
	// characters or a name of 100, up to 4 bytes each, fits.
	Cursor string `json:"cursor" validate:"max=2000"`
}

// UserList is the admin user list with the cursor of each group's next page
// ("" on a group's last page).
type UserList struct {
	*models.UserGroups
	ActiveNext, InactiveNext string
}

// ListUsers returns the users grouped by status, filtered by a prefix of
// their email or names: newest first without a search, in the order of the
// matched text with one. With Status only that group is returned.
func (a *App) ListUsers(ctx context.Context, in ListUsersInput) (*UserList, error) {
	in.Q = strings.TrimSpace(in.Q)
	if err := a.validate(in); err != nil {
		return nil, err
	}
	page, perPage := 1, adminUsersPerPage
	if in.Page != nil {
		page = *in.Page
	}
	if in.PerPage != nil {
		perPage = *in.PerPage
	}
	// int64: page may be near 2^31 on a 32-bit build.
	if int64(page)*int64(perPage) > AdminUsersMaxOffset {
		return nil, models.NewValidationError("page", fmt.Sprintf("page × per_page must not exceed %d; continue with cursor", AdminUsersMaxOffset))
	}
	f := models.UserFilter{Search: in.Q, Limit: perPage, Offset: (page - 1) * perPage}
	if in.Status != "" {
		active := in.Status == "active"
		f.Active = &active
	}
	if in.Cursor != "" {
		switch {
		case f.Active == nil:
			// Each group has its own position; a cursor names one group.
			return nil, models.NewValidationError("status", "is required with cursor")
		case in.Page != nil:
			return nil, models.NewValidationError("page", "cannot be combined with cursor")
		}
		pos, err := a.readUserCursor(in.Cursor, *f.Active, in.Q)
		if err != nil {
			return nil, err
		}
		f.After, f.Offset = pos, 0
	}
	groups, err := models.ListUsers(ctx, a.db, f)
	if err != nil {
		return nil, err
	}
	out := &UserList{UserGroups: groups}
	if g := groups.Active; g != nil && g.Next != nil {
		out.ActiveNext = a.userCursor(true, in.Q, *g.Next)
	}
	if g := groups.Inactive; g != nil && g.Next != nil {
		out.InactiveNext = a.userCursor(false, in.Q, *g.Next)
	}
	return out, nil
}

// A user list cursor is base64url of a version byte, the group (1 active,
// 0 inactive), the last user's place in the list's order, and a MAC over all
// of it and the search. Without q (version 1) the place is created_at in Unix
// nanoseconds and the user id; with q (version 2) it is the user's search key
// (a big-endian uint16 length, then its bytes) and the id. The MAC makes a
// cursor valid only for the query that produced it, so an edited cursor or
// one reused with another status or q is refused instead of listing from an
// arbitrary place; a cursor of one version is refused by a list of the other.
const (
	userCursorVersion       = 1
	userSearchCursorVersion = 2
	userCursorMACLen        = 16
	userCursorLen           = 1 + 1 + 8 + 16 + userCursorMACLen
	// userSearchCursorMin is a search cursor with an empty key.
	userSearchCursorMin = 1 + 1 + 2 + 16 + userCursorMACLen
)

// userCursorLabel derives the cursors' key from JWT_SECRET.
const userCursorLabel = "admin-user-cursors"

func (a *App) userCursor(active bool, q string, pos models.UserPosition) string {
	return signUserCursor(a.cursorKey, active, q, pos)
}

// UserCursor is the next_cursor a server with this JWT secret answers for a
// page ending at pos, so a cursor deep in a large list can be made from a
// position read with SQL instead of paging there (the benchmark's deep page).
// With q, pos.Key must be the search key the database answered for the user.
func UserCursor(jwtSecret []byte, active bool, q string, pos models.UserPosition) string {
	return signUserCursor(derive(jwtSecret, userCursorLabel), active, strings.TrimSpace(q), pos)
}

func signUserCursor(key []byte, active bool, q string, pos models.UserPosition) string {
	group := byte(0)
	if active {
		group = 1
	}
	var b []byte
	if q == "" {
		b = make([]byte, 0, userCursorLen)
		b = append(b, userCursorVersion, group)
		b = binary.BigEndian.AppendUint64(b, uint64(pos.CreatedAt.UnixNano()))
	} else {
		b = make([]byte, 0, userSearchCursorMin+len(pos.Key))
		b = append(b, userSearchCursorVersion, group)
		// Keys are short (an email of 254 characters at most). One too long
		// for the length (only from outside the API) is cut, which makes a
		// cursor far over the cursor field's limit: refused, never misread.
		k := pos.Key[:min(len(pos.Key), 0xffff)]
		b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
	}
	b = append(b, pos.ID[:]...)
	b = append(b, userCursorMAC(key, b, q)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// readUserCursor reads a cursor of the list of this group and q (trimmed).
func (a *App) readUserCursor(s string, active bool, q string) (*models.UserPosition, error) {
	bad := models.NewValidationError("cursor", "is not a cursor of this list; start again without it")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 {
		return nil, bad
	}
	var idAt int
	switch {
	case q == "" && b[0] == userCursorVersion && len(b) == userCursorLen:
		idAt = 10
	case q != "" && b[0] == userSearchCursorVersion && len(b) >= userSearchCursorMin &&
		len(b) == userSearchCursorMin+int(binary.BigEndian.Uint16(b[2:4])):
		idAt = 4 + int(binary.BigEndian.Uint16(b[2:4]))
	default:
		return nil, bad
	}
	body, mac := b[:len(b)-userCursorMACLen], b[len(b)-userCursorMACLen:]
	if !hmac.Equal(mac, userCursorMAC(a.cursorKey, body, q)) {
		return nil, bad
	}
	if (body[1] == 1) != active {
		return nil, models.NewValidationError("cursor", "belongs to the other status group")
	}
	pos := &models.UserPosition{}
	copy(pos.ID[:], body[idAt:idAt+16])
	if q == "" {
		pos.CreatedAt = time.Unix(0, int64(binary.BigEndian.Uint64(body[2:10]))).UTC()
	} else {
		pos.Key = string(body[4:idAt])
	}
	return pos, nil
}

func userCursorMAC(key, body []byte, q string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	// The search ignores case, so q=Ann and q=ann are one list.
	m.Write([]byte(strings.ToLower(q)))
	return m.Sum(nil)[:userCursorMACLen]
}

// ShowUser loads any user with their newest products, for an admin. A
// malformed id is simply an unknown user.
func (a *App) ShowUser(ctx context.Context, id string) (*Profile, error) {
	uid, err := parseUserID(id)
	if err != nil {
		return nil, err
	}
	// The same single query as GET /users/me: user, newest products, count.
	u, products, total, err := models.UserWithProducts(ctx, a.db, uid, MeProductsLimit)
	if err != nil {
		return nil, err
	}
	return &Profile{User: u, Products: products, ProductsTotal: total}, nil
}

// SetUserActiveInput activates or deactivates a user. Email is there only to
// refuse a body that tries to change it.
type SetUserActiveInput struct {
	Active *bool   `json:"active" validate:"required"`
	Email  *string `json:"email"`
}

// SetUserActive deactivates or reactivates a user. Deactivation ends every
// session and bumps the token version, so every token of the user stops
// working at once;
// reactivation lets the user sign in again (old tokens stay revoked). Setting
// the state the user already has changes nothing, so it revokes nothing.
// by is the admin making the change, for the log.
func (a *App) SetUserActive(ctx context.Context, by *models.Admin, id string, in SetUserActiveInput) (*models.User, error) {
	uid, err := parseUserID(id)
	if err != nil {
		return nil, err
	}
	if err := a.validate(in); err != nil {
		return nil, err
	}
	var (
		out     *models.User
		changed bool
	)
	err = models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		u, err := models.UserByID(ctx, tx, uid)
		if err != nil {
			return err
		}
		if in.Email != nil && normEmail(*in.Email) != u.Email {
			return fmt.Errorf("set user %s active: %w", uid, models.ErrEmailImmutable)
		}
		if u.Active == *in.Active {
			// Still an admin's action: recorded, though nothing changed.
			out = u
			return a.audit(ctx, tx, byAdmin(AuditUnchangedByAdmin, by, ptr(uid), map[string]any{"active": u.Active}))
		}
		now := a.Now()
		out, err = models.SetUserActive(ctx, tx, uid, *in.Active, now)
		if err != nil {
			return err
		}
		changed = true
		if out.Active {
			return a.audit(ctx, tx, byAdmin(AuditUserReactivated, by, ptr(uid), map[string]any{"by": "admin"}))
		}
		n, err := models.RevokeSessions(ctx, tx, models.Owner{Role: models.RoleUser, ID: uid}, uuid.Nil, now)
		if err != nil {
			return err
		}
		return a.audit(ctx, tx, byAdmin(AuditUserDeactivated, by, ptr(uid), map[string]any{"by": "admin", "sessions_ended": n}))
	})
	if err != nil {
		return nil, err
	}
	if changed {
		// Who switched an account off (or on) must be traceable afterwards.
		a.log.InfoContext(ctx, "user status changed by an admin", "user_id", out.ID, "active", out.Active, "admin_id", adminID(by))
		if !out.Active {
			a.notify(ctx, out, mail.Notice{Kind: mail.NoticeDeactivated, ByAdmin: true})
		}
	}
	return out, nil
}

// parseUserID reads a user id from a path; anything but a UUID names no
// resource, so it is ErrNotFound rather than a validation error.
func parseUserID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("id %q: %w", s, models.ErrNotFound)
	}
	return id, nil
}

func adminID(by *models.Admin) string {
	if by == nil {
		return ""
	}
	return by.ID.String()
}
