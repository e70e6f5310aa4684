package app

import (
	"context"

	"github.com/acme/accounts/models"
)

// AdminLogin is Login for administrators: it checks the password against the
// admins table and mails an admin_login code.
func (a *App) AdminLogin(ctx context.Context, in LoginInput) (*CodeSent, error) {
	return a.admins.start(ctx, a, in)
}

// VerifyAdminLogin consumes the admin_login code and starts an admin session.
// The code's purpose keeps it apart from user sign-in codes, so a user's code
// can never open an admin session for the same email.
func (a *App) VerifyAdminLogin(ctx context.Context, in VerifyInput, c Client) (*Session, error) {
	return a.admins.verify(ctx, a, in, c)
}

// adminSignIn is sign-in for administrators, with codes of purpose admin_login.
func (a *App) adminSignIn() signIn[models.Admin] {
	return signIn[models.Admin]{
		name: "admin login", purpose: PurposeAdminLogin, byEmail: models.AdminByEmail, audited: AuditAdminSignedIn,
		creds:   func(ad *models.Admin) (string, bool) { return ad.PasswordHash, ad.Active },
		account: adminAccount,
		locale:  func(*models.Admin) *string { return nil },
	}
}
