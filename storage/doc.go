// Package storage keeps the two kinds of state that live outside the
// database: one-time codes (Codes, over Redis or process memory) and uploaded
// objects such as avatars (S3Objects over MinIO/S3, or LocalObjects on disk).
//
// Both translate their driver errors into the domain errors of package models
// at this boundary, so callers only ever see models.ErrInvalidCode,
// *models.RateLimitError or models.Unavailable(...).
package storage
