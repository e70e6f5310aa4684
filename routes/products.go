package routes

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
)

// productHandlers serve the signed-in user's products.
type productHandlers struct {
	app *app.App
	presenter
}

type productEnvelopeJSON struct {
	Product productJSON `json:"product"`
}

type productPageJSON struct {
	Total int           `json:"total"`
	Items []productJSON `json:"items"`
}

func (h productHandlers) list(c *fiber.Ctx) error {
	in := app.ProductListInput{Page: 1, PerPage: app.DefaultProductsPerPage}
	verr := &models.ValidationError{}
	for name, dst := range map[string]*int{"page": &in.Page, "per_page": &in.PerPage} {
		raw := c.Query(name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			verr.Add(name, "must be an integer")
			continue
		}
		*dst = n
	}
	if err := verr.OrNil(); err != nil {
		return err
	}
	page, err := h.app.ListProducts(c.UserContext(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(productPageJSON{Total: page.Total, Items: h.products(page.Items)})
}

func (h productHandlers) create(c *fiber.Ctx) error {
	var in app.ProductInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, err := h.app.CreateProduct(c.UserContext(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(productEnvelopeJSON{Product: h.product(p)})
}

func (h productHandlers) get(c *fiber.Ctx) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	p, err := h.app.Product(c.UserContext(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(productEnvelopeJSON{Product: h.product(p)})
}

func (h productHandlers) update(c *fiber.Ctx) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	var in app.ProductPatch
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, err := h.app.UpdateProduct(c.UserContext(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(productEnvelopeJSON{Product: h.product(p)})
}

func (h productHandlers) delete(c *fiber.Ctx) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	if err := h.app.DeleteProduct(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	return c.JSON(messageJSON{h.text(c, "msg.product_deleted")})
}

// productID parses the {id} of the path. A malformed id answers 404 like an
// unknown one: to the client it simply names no product of theirs.
func productID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, models.ErrNotFound
	}
	return id, nil
}
