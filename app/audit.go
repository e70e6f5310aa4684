package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

// Audit actions. The list is part of the API (the action filter and the
// enum in docs/openapi.yaml): add to it, never rename.
const (
	AuditSignedUp         = "user.signed_up"
	AuditSignedIn         = "user.signed_in"
	AuditAdminSignedIn    = "admin.signed_in"
	AuditBudgetExhausted  = "auth.budget_exhausted"
	AuditPasswordChanged  = "user.password_changed"
	AuditPasswordReset    = "user.password_reset"
	AuditLoggedOut        = "session.logged_out"
	AuditSessionRevoked   = "session.revoked"
	AuditUserDeactivated  = "user.deactivated"
	AuditUserReactivated  = "user.reactivated"
	AuditUserErased       = "user.erased"
	AuditAdminCreated     = "admin.created"
	AuditUnchangedByAdmin = "user.unchanged"
)

// AuditActions lists every action, for validating the filter.
var AuditActions = []string{
	AuditSignedUp, AuditSignedIn, AuditAdminSignedIn, AuditBudgetExhausted,
	AuditPasswordChanged, AuditPasswordReset, AuditLoggedOut, AuditSessionRevoked,
	AuditUserDeactivated, AuditUserReactivated, AuditUserErased, AuditAdminCreated,
	AuditUnchangedByAdmin,
}

// auditEvent is what a flow knows of an event; the address, client and
// time come from the request and the clock.
type auditEvent struct {
	action    string
	actorType string
	actorID   *uuid.UUID
	targetID  *uuid.UUID
	// detail never holds an email or a name: the log outlives erasure.
	detail map[string]any
}

func ptr(id uuid.UUID) *uuid.UUID { return &id }

// byUser is an event the user did to their own account.
func byUser(action string, id uuid.UUID, detail map[string]any) auditEvent {
	return auditEvent{action: action, actorType: models.ActorUser, actorID: ptr(id), targetID: ptr(id), detail: detail}
}

// byAdmin is an event an administrator did to target (nil: none).
func byAdmin(action string, by *models.Admin, target *uuid.UUID, detail map[string]any) auditEvent {
	ev := auditEvent{action: action, actorType: models.ActorSystem, targetID: target, detail: detail}
	if by != nil {
		ev.actorType, ev.actorID = models.ActorAdmin, ptr(by.ID)
	}
	return ev
}

// ErrAuditRefused wraps a refused audit write; it is an outage of the
// database (503), never a silent success.
var ErrAuditRefused = errors.New("the audit log refused the event")

// audit appends ev through db, which is the transaction of the state
// change it records whenever there is one, so both happen or neither.
//
// Decision: a state change whose event cannot be written does not happen.
// The error is an outage of the database (503 unavailable) and, inside a
// transaction, rolls the change back; outside one (nothing to roll back)
// the request still fails rather than succeed unaudited. Refusals are the
// exception, see auditRefusal.
func (a *App) audit(ctx context.Context, db bun.IDB, ev auditEvent) error {
	row, err := a.auditRow(ctx, ev)
	if err != nil {
		return err
	}
	if err := models.InsertAuditEvent(ctx, db, row); err != nil {
		a.log.ErrorContext(ctx, "audit event refused", "action", ev.action, "err", err)
		return models.Unavailable("database", fmt.Errorf("%w: %s: %w", ErrAuditRefused, ev.action, err))
	}
	return nil
}

// auditRefusal records an event whose request is refused anyway (a failure
// budget spent): the refusal must stand even when the log cannot take the
// event, or an outage of the log would open the lock. A failed write is
// logged at ERROR with the event, so the operator still has it.
func (a *App) auditRefusal(ctx context.Context, ev auditEvent) {
	row, err := a.auditRow(ctx, ev)
	if err == nil {
		err = models.InsertAuditEvent(context.WithoutCancel(ctx), a.db, row)
	}
	if err != nil {
		a.log.ErrorContext(ctx, "audit event not written", "action", ev.action,
			"actor_type", ev.actorType, "actor_id", ev.actorID, "target_id", ev.targetID, "detail", ev.detail, "err", err)
	}
}

func (a *App) auditRow(ctx context.Context, ev auditEvent) (*models.AuditEvent, error) {
	detail := []byte("{}")
	if len(ev.detail) > 0 {
		var err error
		if detail, err = json.Marshal(ev.detail); err != nil {
			return nil, fmt.Errorf("audit %s: encode detail: %w", ev.action, err)
		}
	}
	c := clientOf(ctx)
	return &models.AuditEvent{
		ID: models.NewID(), At: a.Now(),
		ActorType: ev.actorType, ActorID: ev.actorID, Action: ev.action, TargetID: ev.targetID,
		IP: clip(c.ip, 64), UserAgent: clip(c.userAgent, maxUserAgent), Detail: string(detail),
	}, nil
}

// AuditInput is the audit log's query: actor and target are account ids,
// action one of AuditActions. Nil Page and PerPage take the defaults (1
// and 20).
type AuditInput struct {
	Actor   string `json:"actor"`
	Target  string `json:"target"`
	Action  string `json:"action"`
	Page    *int   `json:"page" validate:"omitempty,gte=1,lte=2147483647"`
	PerPage *int   `json:"per_page" validate:"omitempty,gte=1,lte=100"`
}

// maxAuditOffset bounds how deep offset paging goes (an offset costs a scan
// of everything before it); past it the filters narrow the log instead.
const maxAuditOffset = 100_000

// AuditLog lists audit events, newest first.
func (a *App) AuditLog(ctx context.Context, in AuditInput) (*models.AuditPage, error) {
	verr := &models.ValidationError{}
	if err := a.validate(in); err != nil {
		if !errors.As(err, &verr) {
			return nil, err
		}
	}
	f := models.AuditFilter{Action: in.Action}
	f.ActorID = auditID(in.Actor, "actor", verr)
	f.TargetID = auditID(in.Target, "target", verr)
	if in.Action != "" && !slices.Contains(AuditActions, in.Action) {
		verr.Add("action", "must be one of: "+strings.Join(AuditActions, ", "))
	}
	if err := verr.OrNil(); err != nil {
		return nil, err
	}
	page, perPage := 1, adminUsersPerPage
	if in.Page != nil {
		page = *in.Page
	}
	if in.PerPage != nil {
		perPage = *in.PerPage
	}
	if (page-1)*perPage > maxAuditOffset {
		return nil, models.NewValidationError("page", fmt.Sprintf("page × per_page may not pass %d: filter instead", maxAuditOffset))
	}
	f.Limit, f.Offset = perPage, (page-1)*perPage
	return models.ListAuditEvents(ctx, a.db, f)
}

// auditID reads an optional account id of the query.
func auditID(s, field string, verr *models.ValidationError) *uuid.UUID {
	if s == "" {
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		verr.Add(field, "must be a UUID")
		return nil
	}
	return &id
}
