package models

// Code purposes, as named in the API: the flows that mail a one-time code.
// The app's flows, the resend route's validation and the mail templates all
// read them from here.
const (
	PurposeRegister   = "register"
	PurposeLogin      = "login"
	PurposePassword   = "password"
	PurposeAdminLogin = "admin_login"
	PurposeReactivate = "reactivate"
)

// CodePurposes lists every purpose, in the API's order.
func CodePurposes() []string {
	return []string{PurposeRegister, PurposeLogin, PurposePassword, PurposeAdminLogin, PurposeReactivate}
}
