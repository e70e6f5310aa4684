package storage_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/storage"
)

// TestS3VirtualHostStyleWithoutBucketPolicy: with S3_FORCE_PATH_STYLE=false
// the bucket is addressed as a host name (bucket.endpoint, as on AWS) and
// object URLs follow; with S3_SET_BUCKET_POLICY=false no public-read policy
// is set, so the provider's own access rules stand (an anonymous read is
// refused here). Path style, with the policy, is what every other S3 test
// runs.
func TestS3VirtualHostStyleWithoutBucketPolicy(t *testing.T) {
	m := testenv.StartMinIOWith(t, "MINIO_DOMAIN=localhost")
	_, port, err := net.SplitHostPort(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// bucket.localhost and localhost both mean the private MinIO.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, p, err := net.SplitHostPort(addr)
		if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", p)
		}
		return (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, network, addr)
	}
	bucket := "vh-" + testenv.RandomID()
	o := storage.WithDialer(storage.S3Options{
		Endpoint: "localhost:" + port, AccessKey: os.Getenv(testenv.EnvS3AccessKey), SecretKey: os.Getenv(testenv.EnvS3SecretKey),
		Bucket: bucket, Region: "us-east-1", VirtualHostStyle: true, SkipBucketPolicy: true,
	}, dial)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := storage.NewS3Objects(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "avatars/a.jpg", []byte("jpeg bytes"), "image/jpeg"); err != nil {
		t.Fatalf("put, virtual-host style: %v", err)
	}
	if got, want := s.URL("avatars/a.jpg"), "http://"+bucket+".localhost:"+port+"/avatars/a.jpg"; got != want {
		t.Fatalf("URL %q, want %q", got, want)
	}
	policy, err := s.Client().GetBucketPolicy(ctx, bucket)
	if err != nil || policy != "" {
		t.Fatalf("bucket policy %q (%v), want none", policy, err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}, Timeout: 10 * time.Second}
	resp, err := client.Get(s.URL("avatars/a.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous read without a policy: %d %s", resp.StatusCode, body)
	}
	if err := s.Delete(ctx, "avatars/a.jpg"); err != nil {
		t.Fatalf("delete, virtual-host style: %v", err)
	}
}
