package app

import (
	"context"

	"github.com/acme/accounts/models"
)

// LoginInput is the first step of a sign-in.
type LoginInput struct {
	Email    string `json:"email" validate:"required,max=254,email"`
	Password string `json:"password" validate:"required,password_max"`
}

// Login checks the password and mails a sign-in code (see signIn.start).
func (a *App) Login(ctx context.Context, in LoginInput) (*CodeSent, error) {
	return a.users.start(ctx, a, in)
}

// VerifyLogin consumes the sign-in code and starts a user session.
func (a *App) VerifyLogin(ctx context.Context, in VerifyInput, c Client) (*Session, error) {
	return a.users.verify(ctx, a, in, c)
}

// userSignIn is sign-in for users, with codes of purpose login.
func (a *App) userSignIn() signIn[models.User] {
	return signIn[models.User]{
		name: "login", purpose: PurposeLogin, byEmail: models.UserByEmail, audited: AuditSignedIn,
		creds:   func(u *models.User) (string, bool) { return u.PasswordHash, u.Active },
		account: userAccount,
		locale:  func(u *models.User) *string { return u.Locale },
		signedIn: func(ctx context.Context, u *models.User) {
			a.noteSignIn(ctx, u, true)
		},
	}
}
