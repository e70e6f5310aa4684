package models_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// The audit log is append-only in the database itself: UPDATE and DELETE
// are refused whoever sends them, on whichever backend the run uses.
func TestAuditEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	target := models.NewID()
	ev := &models.AuditEvent{
		ID: models.NewID(), At: e.App.Now(), ActorType: models.ActorSystem, Action: "user.erased",
		TargetID: &target, Detail: `{"by":"purge"}`,
	}
	if err := models.InsertAuditEvent(ctx, e.DB, ev); err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"update":        "UPDATE audit_events SET action = 'user.signed_in'",
		"update detail": "UPDATE audit_events SET detail = '{}' WHERE id = '" + ev.ID.String() + "'",
		"delete one":    "DELETE FROM audit_events WHERE id = '" + ev.ID.String() + "'",
		"delete all":    "DELETE FROM audit_events",
	}
	if e.DB.Dialect().Name().String() == "pg" {
		refused["truncate"] = "TRUNCATE audit_events"
	}
	for name, stmt := range refused {
		if _, err := e.DB.ExecContext(ctx, stmt); err == nil {
			t.Errorf("%s: the database accepted %q", name, stmt)
		}
	}
	page, err := models.ListAuditEvents(ctx, e.DB, models.AuditFilter{TargetID: &target, Limit: 10})
	if err != nil || page.Total != 1 || page.Items[0].Action != "user.erased" || page.Items[0].Detail != `{"by":"purge"}` {
		t.Fatalf("the event changed: %+v %v", page, err)
	}
	// Filters that match nothing answer an empty page, not nil.
	other := uuid.New()
	page, err = models.ListAuditEvents(ctx, e.DB, models.AuditFilter{ActorID: &other, Limit: 10})
	if err != nil || page.Total != 0 || page.Items == nil {
		t.Fatalf("no match: %+v %v", page, err)
	}
}
