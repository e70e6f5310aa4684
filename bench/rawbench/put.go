package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// putResult is the PutObject rate of one object size.
type putResult struct {
	Size      int64   `json:"size"`
	SizeFrom  string  `json:"size_from"`
	Workers   int     `json:"workers"`
	Ops       int     `json:"ops"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50us     int64   `json:"p50_us"`
	P99us     int64   `json:"p99_us"`
}

// runPut uploads objects of one size from several goroutines into a bucket of
// its own, then removes them: the storage ceiling of the avatar workload.
func runPut(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer) error {
	endpoint := fs.String("endpoint", getenv("S3_ENDPOINT"), "MinIO host:port (default $S3_ENDPOINT)")
	access := fs.String("access-key", getenv("S3_ACCESS_KEY"), "access key (default $S3_ACCESS_KEY)")
	secret := fs.String("secret-key", getenv("S3_SECRET_KEY"), "secret key (default $S3_SECRET_KEY)")
	bucket := fs.String("bucket", "bench-raw-put", "bucket to upload into (created, emptied and removed)")
	size := fs.Int64("size", 300<<10, "object size in bytes when -size-from finds nothing")
	sizeFrom := fs.String("size-from", "", "a bucket whose first object's size is used instead of -size (the stored avatar)")
	workers := fs.Int("workers", 8, "concurrent uploads")
	duration := fs.Duration("duration", 5*time.Second, "how long to measure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *endpoint == "" {
		return errors.New("no endpoint: set S3_ENDPOINT or -endpoint")
	}
	client, err := minio.New(*endpoint, &minio.Options{Creds: credentials.NewStaticV4(*access, *secret, "")})
	if err != nil {
		return fmt.Errorf("minio client: %w", err)
	}
	res := putResult{Size: *size, SizeFrom: "flag", Workers: *workers}
	if *sizeFrom != "" {
		if n, ok := firstObjectSize(ctx, client, *sizeFrom); ok {
			res.Size, res.SizeFrom = n, "bucket "+*sizeFrom
		}
	}
	if err := client.MakeBucket(ctx, *bucket, minio.MakeBucketOptions{}); err != nil {
		if exists, eerr := client.BucketExists(ctx, *bucket); eerr != nil || !exists {
			return fmt.Errorf("make bucket %s: %w", *bucket, err)
		}
	}
	defer cleanBucket(client, *bucket)

	body := make([]byte, res.Size)
	_, _ = rand.Read(body) // incompressible, like JPEG data
	mctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var (
		mu    sync.Mutex
		lat   []time.Duration
		first error
		wg    sync.WaitGroup
	)
	start := time.Now()
	for w := range *workers {
		wg.Go(func() {
			var mine []time.Duration
			for i := 0; mctx.Err() == nil; i++ {
				t := time.Now()
				_, err := client.PutObject(ctx, *bucket, fmt.Sprintf("w%d/%d.jpg", w, i), bytes.NewReader(body), int64(len(body)),
					minio.PutObjectOptions{ContentType: "image/jpeg"})
				if err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
					break
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	if first != nil {
		return fmt.Errorf("put: %w", first)
	}
	slices.Sort(lat)
	res.Ops = len(lat)
	res.OpsPerSec = float64(res.Ops) / res.Seconds
	if len(lat) > 0 {
		res.P50us = lat[len(lat)/2].Microseconds()
		res.P99us = lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()
	}
	return json.NewEncoder(stdout).Encode(res)
}

func firstObjectSize(ctx context.Context, c *minio.Client, bucket string) (int64, bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return 0, false
		}
		if obj.Size > 0 {
			return obj.Size, true
		}
	}
	return 0, false
}

// cleanBucket removes what the run uploaded, with its own deadline because
// the measuring context has run out by then.
func cleanBucket(c *minio.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objects := c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true})
	for rerr := range c.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
		_ = rerr // best effort: a leftover object only costs disk
	}
	_ = c.RemoveBucket(ctx, bucket)
}

// runEmpty removes every object of a bucket and keeps the bucket (and its
// policy), so repeated runs do not pile up avatars of dropped databases.
func runEmpty(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string) error {
	endpoint := fs.String("endpoint", getenv("S3_ENDPOINT"), "MinIO host:port (default $S3_ENDPOINT)")
	access := fs.String("access-key", getenv("S3_ACCESS_KEY"), "access key (default $S3_ACCESS_KEY)")
	secret := fs.String("secret-key", getenv("S3_SECRET_KEY"), "secret key (default $S3_SECRET_KEY)")
	bucket := fs.String("bucket", "", "bucket to empty")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *endpoint == "" || *bucket == "" {
		return errors.New("-endpoint (or S3_ENDPOINT) and -bucket are required")
	}
	client, err := minio.New(*endpoint, &minio.Options{Creds: credentials.NewStaticV4(*access, *secret, "")})
	if err != nil {
		return fmt.Errorf("minio client: %w", err)
	}
	if ok, err := client.BucketExists(ctx, *bucket); err != nil || !ok {
		return err // nothing to empty
	}
	objects := client.ListObjects(ctx, *bucket, minio.ListObjectsOptions{Recursive: true})
	for rerr := range client.RemoveObjects(ctx, *bucket, objects, minio.RemoveObjectsOptions{}) {
		if rerr.Err != nil {
			return fmt.Errorf("remove %s: %w", rerr.ObjectName, rerr.Err)
		}
	}
	return nil
}
