package app

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/acme/accounts/models"
)

// The cases below are all refused before the database is used (none is
// configured), so a refused input can never be half-written.

func TestCreateProductValidation(t *testing.T) {
	a := testApp(Deps{})
	price := func(n int64) *int64 { return &n }
	for _, c := range []struct {
		name  string
		in    ProductInput
		field string
		msg   string
	}{
		{"no name", ProductInput{Name: "  ", Price: price(1)}, "name", "is required"},
		{"long name", ProductInput{Name: strings.Repeat("ё", 201), Price: price(1)}, "name", "must be at most 200 characters"},
		{"long description", ProductInput{Name: "a", Description: strings.Repeat("d", 2001), Price: price(1)}, "description", "must be at most 2000 characters"},
		{"no price", ProductInput{Name: "a"}, "price", "is required"},
		{"negative price", ProductInput{Name: "a", Price: price(-1)}, "price", "must be at least 0"},
		{"unknown currency", ProductInput{Name: "a", Price: price(1), Currency: "abc"}, "currency", "must be an ISO 4217 currency code such as UZS or USD"},
	} {
		_, err := a.CreateProduct(context.Background(), &models.User{}, c.in)
		var verr *models.ValidationError
		if !errors.As(err, &verr) || verr.Fields[c.field] != c.msg {
			t.Errorf("%s: %v, want %s: %s", c.name, err, c.field, c.msg)
		}
	}
}

func TestUpdateProductValidation(t *testing.T) {
	a := testApp(Deps{})
	var in ProductPatch
	if err := json.Unmarshal([]byte(`{"name":null,"price":-5,"currency":null,"description":null}`), &in); err != nil {
		t.Fatal(err)
	}
	_, err := a.UpdateProduct(context.Background(), &models.User{}, uuid.New(), in)
	var verr *models.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got %v", err)
	}
	want := map[string]string{"name": "must not be null", "price": "must be at least 0", "currency": "must not be null"}
	for k, v := range want {
		if verr.Fields[k] != v {
			t.Errorf("%s: %q, want %q", k, verr.Fields[k], v)
		}
	}
	if _, ok := verr.Fields["description"]; ok {
		t.Error("a null description (empty it) must be accepted")
	}
}

func TestListProductsValidation(t *testing.T) {
	a := testApp(Deps{})
	for _, in := range []ProductListInput{{Page: 0, PerPage: 20}, {Page: 1, PerPage: 0}, {Page: 1, PerPage: 101}, {Page: -1, PerPage: 10}} {
		var verr *models.ValidationError
		if _, err := a.ListProducts(context.Background(), &models.User{}, in); !errors.As(err, &verr) {
			t.Errorf("%+v: %v, want a validation error", in, err)
		}
	}
}
