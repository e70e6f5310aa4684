package routes

import (
	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
)

type messageJSON struct {
	Message string `json:"message"`
}

type codeSentJSON struct {
	Message   string `json:"message"`
	Email     string `json:"email"`
	ExpiresIn int64  `json:"expires_in"`
}

type tokenJSON struct {
	Token            string     `json:"token"`
	TokenType        string     `json:"token_type"`
	ExpiresIn        int64      `json:"expires_in"`
	RefreshToken     string     `json:"refresh_token"`
	RefreshExpiresIn int64      `json:"refresh_expires_in"`
	User             *userJSON  `json:"user,omitempty"`
	Admin            *adminJSON `json:"admin,omitempty"`
}

type resendJSON struct {
	Message   string `json:"message"`
	ExpiresIn int64  `json:"expires_in"`
}

// authHandlers serve the flows that need no token.
type authHandlers struct {
	app *app.App
	presenter
	sessions sessionHandlers
}

func (h authHandlers) register(c *fiber.Ctx) error {
	var in app.RegisterInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	sent, err := h.app.Register(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(h.codeSent(sent, h.text(c, "msg.register_code_sent")))
}

func (h authHandlers) verifyRegistration(c *fiber.Ctx) error {
	var in app.VerifyInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	s, err := h.app.VerifyRegistration(c.UserContext(), in, client(c))
	if err != nil {
		return err
	}
	return h.sessions.tokenBody(c, s)
}

func (h authHandlers) login(c *fiber.Ctx) error {
	var in app.LoginInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	sent, err := h.app.Login(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(h.codeSent(sent, h.text(c, "msg.login_code_sent")))
}

func (h authHandlers) verifyLogin(c *fiber.Ctx) error {
	var in app.VerifyInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	s, err := h.app.VerifyLogin(c.UserContext(), in, client(c))
	if err != nil {
		return err
	}
	return h.sessions.tokenBody(c, s)
}

func (h authHandlers) forgotPassword(c *fiber.Ctx) error {
	var in app.ForgotInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if err := h.app.ForgotPassword(c.UserContext(), in); err != nil {
		return err
	}
	return c.JSON(messageJSON{h.text(c, "msg.reset_requested")})
}

func (h authHandlers) verifyPasswordCode(c *fiber.Ctx) error {
	var in app.VerifyInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if err := h.app.VerifyPasswordCode(c.UserContext(), in); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"valid": true})
}

func (h authHandlers) resetPassword(c *fiber.Ctx) error {
	var in app.ResetInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if err := h.app.ResetPassword(c.UserContext(), in); err != nil {
		return err
	}
	return c.JSON(messageJSON{h.text(c, "msg.password_reset_done")})
}

func (h authHandlers) resendCode(c *fiber.Ctx) error {
	var in app.ResendInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	sent, err := h.app.ResendCode(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(resendJSON{Message: h.text(c, "msg.code_resent"), ExpiresIn: seconds(sent.ExpiresIn)})
}
