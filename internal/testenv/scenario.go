package testenv

import (
	"strings"
	"testing"
)

// Scenario is one request through the real router and what must come back.
// Fields that are functions run against the scenario's own Env, so each row
// can prepare accounts and tokens of its own.
type Scenario struct {
	Name   string
	Config Config                     // tunes the Env built for this row
	Setup  func(t *testing.T, e *Env) // runs before the request; may fill Vars
	Method string
	Path   string
	Body   func(e *Env) any // nil: no body
	Token  func(e *Env) string
	Status int
	Code   string   // expected error code ("" for success answers)
	Has    []string // fragments the body must contain
	HasNot []string // fragments the body must not contain
	After  func(t *testing.T, e *Env, r *Response)
}

// Vars lets a scenario's Setup hand values to its Body, Token and After.
func (e *Env) Vars() map[string]string {
	if e.vars == nil {
		e.vars = map[string]string{}
	}
	return e.vars
}

// Run runs each scenario in parallel on a fresh Env.
func Run(t *testing.T, scenarios []Scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			e := New(t, sc.Config)
			if sc.Setup != nil {
				sc.Setup(t, e)
			}
			var body any
			if sc.Body != nil {
				body = sc.Body(e)
			}
			token := ""
			if sc.Token != nil {
				token = sc.Token(e)
			}
			r := e.Do(sc.Method, sc.Path, body, token)
			if r.Status != sc.Status {
				t.Fatalf("%s %s: status %d, want %d\n%s", sc.Method, sc.Path, r.Status, sc.Status, r.Body)
			}
			if sc.Code != "" && r.ErrorCode() != sc.Code {
				t.Fatalf("error code %q, want %q\n%s", r.ErrorCode(), sc.Code, r.Body)
			}
			for _, s := range sc.Has {
				if !strings.Contains(string(r.Body), s) {
					t.Errorf("body lacks %q\n%s", s, r.Body)
				}
			}
			for _, s := range sc.HasNot {
				if strings.Contains(string(r.Body), s) {
					t.Errorf("body contains %q\n%s", s, r.Body)
				}
			}
			if sc.After != nil {
				sc.After(t, e, r)
			}
		})
	}
}
