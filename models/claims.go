package models

import "github.com/golang-jwt/jwt/v5"

// Roles a token can carry. The role names the table the subject is looked up
// in, so a forged role finds no account.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// Claims are the JWT claims of an access token: sub, email, role, sid (the
// session it belongs to), ver (the account's token version at issue time),
// iat and exp.
type Claims struct {
	Email     string `json:"email"`
	Role      string `json:"role"`
	SessionID string `json:"sid"`
	Version   int64  `json:"ver"`
	jwt.RegisteredClaims
}
