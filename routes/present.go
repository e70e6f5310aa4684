package routes

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
)

// userJSON is a user as the API shows it: never the hash, avatar as a URL.
type userJSON struct {
	ID        uuid.UUID `json:"id"`
	Email     string    `json:"email"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Phone     *string   `json:"phone"`
	Locale    *string   `json:"locale"`
	AvatarURL *string   `json:"avatar_url"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type userWithProductsJSON struct {
	userJSON
	Products      []productJSON `json:"products"`
	ProductsTotal int           `json:"products_total"`
}

type productJSON struct {
	ID          uuid.UUID `json:"id"`
	UserID      uuid.UUID `json:"user_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type adminJSON struct {
	ID        uuid.UUID `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// auditEventJSON is one line of the audit log; detail is the stored JSON
// object as it is.
type auditEventJSON struct {
	ID        uuid.UUID       `json:"id"`
	At        time.Time       `json:"at"`
	ActorType string          `json:"actor_type"`
	ActorID   *uuid.UUID      `json:"actor_id"`
	Action    string          `json:"action"`
	TargetID  *uuid.UUID      `json:"target_id"`
	IP        string          `json:"ip"`
	UserAgent string          `json:"user_agent"`
	Detail    json.RawMessage `json:"detail"`
}

type auditPageJSON struct {
	Total int              `json:"total"`
	Items []auditEventJSON `json:"items"`
}

// presenter turns models into API objects; it needs the app for avatar URLs.
type presenter struct{ app *app.App }

func (p presenter) user(u *models.User) userJSON {
	return userJSON{
		ID:        u.ID,
		Email:     u.Email,
		FirstName: u.FirstName,
		LastName:  u.LastName,
		Phone:     u.Phone,
		Locale:    u.Locale,
		AvatarURL: p.app.AvatarURL(u.AvatarKey),
		Active:    u.Active,
		CreatedAt: u.CreatedAt.UTC(),
		UpdatedAt: u.UpdatedAt.UTC(),
	}
}

func (p presenter) users(us []models.User) []userJSON {
	out := make([]userJSON, len(us))
	for i := range us {
		out[i] = p.user(&us[i])
	}
	return out
}

func (p presenter) profile(pr *app.Profile) userWithProductsJSON {
	return userWithProductsJSON{userJSON: p.user(pr.User), Products: p.products(pr.Products), ProductsTotal: pr.ProductsTotal}
}

func (p presenter) product(m *models.Product) productJSON {
	return productJSON{
		ID: m.ID, UserID: m.UserID, Name: m.Name, Description: m.Description, Price: m.Price, Currency: m.Currency,
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
}

func (p presenter) products(ms []models.Product) []productJSON {
	out := make([]productJSON, len(ms))
	for i := range ms {
		out[i] = p.product(&ms[i])
	}
	return out
}

func (p presenter) admin(a *models.Admin) adminJSON {
	return adminJSON{ID: a.ID, Email: a.Email, Name: a.Name, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
}

func (p presenter) auditEvents(evs []models.AuditEvent) []auditEventJSON {
	out := make([]auditEventJSON, len(evs))
	for i, ev := range evs {
		detail := json.RawMessage(ev.Detail)
		if !json.Valid(detail) {
			detail = json.RawMessage("{}") // written by the app as JSON; never answer a broken body
		}
		out[i] = auditEventJSON{
			ID: ev.ID, At: ev.At.UTC(), ActorType: ev.ActorType, ActorID: ev.ActorID, Action: ev.Action,
			TargetID: ev.TargetID, IP: ev.IP, UserAgent: ev.UserAgent, Detail: detail,
		}
	}
	return out
}

// seconds renders a duration as the API's whole seconds.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (p presenter) codeSent(s *app.CodeSent, message string) codeSentJSON {
	return codeSentJSON{Message: message, Email: s.Email, ExpiresIn: seconds(s.ExpiresIn)}
}

// session is the token body of every sign-in: "user" or "admin" by role.
func (p presenter) session(s *app.Session) tokenJSON {
	out := tokenJSON{
		Token: s.Token, TokenType: "Bearer", ExpiresIn: seconds(s.ExpiresIn),
		RefreshToken: s.RefreshToken, RefreshExpiresIn: seconds(s.RefreshExpiresIn),
	}
	if s.User != nil {
		u := p.user(s.User)
		out.User = &u
	}
	if s.Admin != nil {
		a := p.admin(s.Admin)
		out.Admin = &a
	}
	return out
}
