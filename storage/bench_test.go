package storage_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	redisstore "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"

	"github.com/acme/accounts/storage"
)

// benchCodes returns the code stores to measure: memory always, Redis when
// TEST_REDIS_URL points at one (under a key prefix of its own, removed after).
func benchCodes(b *testing.B) map[string]*storage.Codes {
	b.Helper()
	raw := make([]byte, 6)
	_, _ = rand.Read(raw)
	opts := storage.CodeOptions{Secret: []byte("bench-code-secret"), Prefix: "bench" + hex.EncodeToString(raw) + ":"}
	stores := map[string]*storage.Codes{"memory": storage.NewMemoryCodes(opts)}
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		return stores
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		b.Fatalf("TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(o)
	if err := client.Ping(context.Background()).Err(); err != nil {
		b.Fatalf("ping %s: %v", url, err)
	}
	b.Cleanup(func() {
		// Only this benchmark's keys: the Redis is shared, never flush it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, opts.Prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		_ = client.Close()
	})
	stores["redis"] = storage.NewRedisCodes(redisstore.NewFromConnection(client), opts)
	return stores
}

// BenchmarkCodeIssueConsume is one sign-in code's life on the server: issued
// (and hashed) at login, then consumed by the right code at verify.
func BenchmarkCodeIssueConsume(b *testing.B) {
	ctx := context.Background()
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			codes, ok := benchCodes(b)[name]
			if !ok {
				b.Skip("TEST_REDIS_URL is not set; skipping the Redis code store")
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				email := fmt.Sprintf("user%d@example.com", i%1024)
				code, err := codes.Issue(ctx, "login", email, nil)
				if err != nil {
					b.Fatalf("issue: %v", err)
				}
				if _, err := codes.Consume(ctx, "login", email, code); err != nil {
					b.Fatalf("consume: %v", err)
				}
			}
		})
	}
}

// BenchmarkCodeIssueParallel issues codes for many addresses at once, as a
// burst of logins does.
func BenchmarkCodeIssueParallel(b *testing.B) {
	ctx := context.Background()
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			codes, ok := benchCodes(b)[name]
			if !ok {
				b.Skip("TEST_REDIS_URL is not set; skipping the Redis code store")
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				raw := make([]byte, 4)
				_, _ = rand.Read(raw)
				prefix := hex.EncodeToString(raw)
				for i := 0; pb.Next(); i++ {
					if _, err := codes.Issue(ctx, "login", fmt.Sprintf("%s-%d@example.com", prefix, i%1024), nil); err != nil {
						b.Errorf("issue: %v", err) // FailNow is not allowed off the benchmark's goroutine
						return
					}
				}
			})
		})
	}
}
