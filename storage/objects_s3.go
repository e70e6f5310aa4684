package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/acme/accounts/models"
)

// ImmutableCacheControl is set on every uploaded object: keys are new and
// random per upload, so an object never changes and may be cached for a year.
const ImmutableCacheControl = "public, max-age=31536000, immutable"

// Timeouts that keep a dead or unreachable server from holding a request for
// minutes (minio-go retries 10 times and dials for 30s by default).
const (
	s3MaxRetries     = 3
	s3DialTimeout    = 3 * time.Second
	s3HeaderTimeout  = 15 * time.Second
	s3SetupTimeout   = 20 * time.Second
	s3PingTimeout    = 5 * time.Second
	s3OpTimeout      = 30 * time.Second
	s3DefaultRegion  = "us-east-1"
	s3PublicReadJSON = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`
)

// S3Options configures S3Objects. Endpoint is host[:port]; UseSSL chooses
// https. PublicURL is
// the base of object URLs; empty means "http(s)://<Endpoint>/<Bucket>", or
// "http(s)://<Bucket>.<Endpoint>" with VirtualHostStyle.
type S3Options struct {
	Endpoint, AccessKey, SecretKey, Bucket, Region string
	UseSSL                                         bool
	PublicURL                                      string
	// VirtualHostStyle addresses the bucket as a host name
	// (bucket.endpoint), as AWS S3 wants; the default is path style
	// (endpoint/bucket), which MinIO and most self-hosted stores expect.
	VirtualHostStyle bool
	// SkipBucketPolicy leaves the bucket's access to the provider (AWS with
	// Block Public Access behind a CDN, Cloudflare R2): no public-read
	// policy is set at start.
	SkipBucketPolicy bool

	// dial replaces the network dialer (tests reach bucket.localhost).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// S3Objects keeps objects in one publicly readable bucket of an S3-compatible
// store (MinIO).
type S3Objects struct {
	client    *minio.Client
	bucket    string
	publicURL string
	setPolicy bool
}

// NewS3Objects connects, creates the bucket when missing and sets a policy
// that lets anyone read (only read) its objects, since avatar URLs are
// handed out as-is. Any failure is a models.Unavailable("storage") error that
// names the endpoint and bucket.
func NewS3Objects(ctx context.Context, o S3Options) (*S3Objects, error) {
	s, endpoint, err := newS3Objects(o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx, s3SetupTimeout)
	defer cancel()
	if err := s.ensureBucket(ctx, o.Region); err != nil {
		return nil, models.Unavailable("storage", fmt.Errorf("s3 bucket %q at %s: %w", o.Bucket, endpoint, err))
	}
	return s, nil
}

// newS3Objects builds the client with short timeouts and few retries,
// without any network call.
func newS3Objects(o S3Options) (*S3Objects, string, error) {
	secure := o.UseSSL
	endpoint, err := parseEndpoint(o.Endpoint)
	if err != nil {
		return nil, "", fmt.Errorf("s3 endpoint %q: %w", o.Endpoint, err)
	}
	if err := s3utils.CheckValidBucketNameStrict(o.Bucket); err != nil {
		return nil, "", fmt.Errorf("s3 bucket %q: %w", o.Bucket, err)
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, "", fmt.Errorf("s3 transport: %w", err)
	}
	tr.DialContext = (&net.Dialer{Timeout: s3DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	if o.dial != nil {
		tr.DialContext = o.dial
	}
	lookup := minio.BucketLookupPath
	if o.VirtualHostStyle {
		lookup = minio.BucketLookupDNS
	}
	tr.ResponseHeaderTimeout = s3HeaderTimeout
	client, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       secure,
		Region:       o.Region,
		Transport:    tr,
		MaxRetries:   s3MaxRetries,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, "", fmt.Errorf("s3 client for %s: %w", endpoint, err)
	}
	publicURL := o.PublicURL
	if publicURL == "" {
		scheme := "http"
		if secure {
			scheme = "https"
		}
		publicURL = scheme + "://" + endpoint + "/" + o.Bucket
		if o.VirtualHostStyle {
			publicURL = scheme + "://" + o.Bucket + "." + endpoint
		}
	}
	return &S3Objects{client: client, bucket: o.Bucket, publicURL: strings.TrimRight(publicURL, "/"), setPolicy: !o.SkipBucketPolicy}, endpoint, nil
}

func (s *S3Objects) ensureBucket(ctx context.Context, region string) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("check bucket: %w", err)
	}
	if !exists {
		if region == "" {
			region = s3DefaultRegion
		}
		err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
		if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
			return fmt.Errorf("create bucket: %w", err)
		}
	}
	if !s.setPolicy {
		return nil
	}
	if err := s.client.SetBucketPolicy(ctx, s.bucket, fmt.Sprintf(s3PublicReadJSON, s.bucket)); err != nil {
		return fmt.Errorf("set public-read policy: %w", err)
	}
	return nil
}

// Put uploads body under key with its content type (from the key's extension
// when empty) and a year-long, immutable cache lifetime. Without a deadline
// on ctx it gives up after 30s.
func (s *S3Objects) Put(ctx context.Context, key string, body []byte, contentType string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = contentTypeOf(key)
	}
	ctx, cancel := withDefaultTimeout(ctx, s3OpTimeout)
	defer cancel()
	_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		ContentType:  contentType,
		CacheControl: ImmutableCacheControl,
	})
	if err != nil {
		return models.Unavailable("storage", fmt.Errorf("put %s: %w", key, err))
	}
	return nil
}

// Delete removes the object under key; a missing object is not an error.
// Without a deadline on ctx it gives up after 30s.
func (s *S3Objects) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return err
	}
	ctx, cancel := withDefaultTimeout(ctx, s3OpTimeout)
	defer cancel()
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return models.Unavailable("storage", fmt.Errorf("delete %s: %w", key, err))
	}
	return nil
}

// URL returns the public URL of key.
func (s *S3Objects) URL(key string) string {
	return joinURL(s.publicURL, key)
}

// Ping reports whether the bucket answers. Without a deadline on ctx it
// gives up after a few seconds, so a readiness probe never hangs.
func (s *S3Objects) Ping(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, s3PingTimeout)
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return models.Unavailable("storage", fmt.Errorf("ping bucket %q: %w", s.bucket, err))
	}
	if !ok {
		return models.Unavailable("storage", fmt.Errorf("bucket %q is gone", s.bucket))
	}
	return nil
}

// Client returns the underlying minio client.
func (s *S3Objects) Client() *minio.Client { return s.client }

// Bucket returns the bucket name.
func (s *S3Objects) Bucket() string { return s.bucket }

// parseEndpoint checks that raw is host[:port]: the configuration refuses a
// scheme (S3_USE_SSL says https), so a URL here is a caller's mistake.
func parseEndpoint(raw string) (string, error) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	switch {
	case raw == "":
		return "", errors.New("empty")
	case strings.Contains(raw, "://") || strings.Contains(raw, "/"):
		return "", errors.New("want host[:port] without a scheme or path (S3_USE_SSL chooses https)")
	}
	return raw, nil
}

// withDefaultTimeout adds d to ctx unless it already has a deadline.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
