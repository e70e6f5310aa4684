// Package models holds the Bun models (User, Product, Admin), the queries that
// own them, the domain errors and Open, which picks PostgreSQL or embedded SQLite.
package models
