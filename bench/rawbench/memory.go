package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadResult is what slowbodies and avatars print: the answers they got.
type loadResult struct {
	Requests int            `json:"requests"`
	Statuses map[string]int `json:"statuses"`
	Seconds  float64        `json:"seconds"`
	Bytes    int            `json:"upload_bytes,omitempty"`
}

type statusCounter struct {
	mu sync.Mutex
	m  map[string]int
}

func (s *statusCounter) add(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]int{}
	}
	s.m[status]++
}

// runSlowBodies opens conns connections at once, each declaring a body of
// size bytes to a JSON route and sending it slowly (chunk bytes per tick),
// as an attacker holding memory would. It reports the answers; the server's
// peak RSS is read by the caller.
func runSlowBodies(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	target := fs.String("url", "", "URL of the JSON route (POST)")
	conns := fs.Int("conns", 150, "concurrent connections")
	size := fs.Int("size", 5<<20, "declared body size in bytes")
	chunk := fs.Int("chunk", 64<<10, "bytes sent per tick")
	tick := fs.Duration("tick", 100*time.Millisecond, "pause between chunks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port/path", *target)
	}
	var counts statusCounter
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts.add(slowBody(ctx, u, *size, *chunk, *tick))
		}()
	}
	wg.Wait()
	return json.NewEncoder(stdout).Encode(loadResult{Requests: *conns, Statuses: counts.m, Seconds: time.Since(start).Seconds()})
}

// slowBody sends one slow body and returns the answer's status, or what
// went wrong instead.
func slowBody(ctx context.Context, u *url.URL, size, chunk int, tick time.Duration) string {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return "dial error"
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", u.RequestURI(), u.Host, size)
	if _, err := io.WriteString(conn, head); err != nil {
		return "write error"
	}
	answered := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- "no answer"
			return
		}
		resp.Body.Close()
		answered <- strconv.Itoa(resp.StatusCode)
	}()
	payload := bytes.Repeat([]byte("x"), chunk)
	for sent := 0; sent < size; sent += chunk {
		select {
		case status := <-answered:
			return status
		case <-time.After(tick):
		}
		if _, err := conn.Write(payload[:min(chunk, size-sent)]); err != nil {
			break // the server closed the connection: its answer is waiting
		}
	}
	select {
	case status := <-answered:
		return status
	case <-time.After(30 * time.Second):
		return "no answer"
	}
}

// runAvatars uploads the worst avatar the server still accepts (the most
// pixel memory: 8-bit RGBA at the decode budget) from conns users at once,
// rounds times each.
func runAvatars(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	target := fs.String("url", "", "URL of PUT /api/v1/users/me/avatar")
	tokensFile := fs.String("tokens", "", "file with one user token per line")
	conns := fs.Int("conns", 8, "concurrent uploads")
	rounds := fs.Int("rounds", 2, "uploads per connection")
	// 5792 x 5792 x 4 bytes is just under the server's 128 MiB decode budget.
	side := fs.Int("side", 5792, "width and height of the image")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tokens, err := readLines(*tokensFile, *conns)
	if err != nil {
		return err
	}
	body, contentType, err := worstAvatar(*side)
	if err != nil {
		return err
	}
	var counts statusCounter
	var wg sync.WaitGroup
	start := time.Now()
	client := &http.Client{Timeout: 5 * time.Minute}
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(token string) {
			defer wg.Done()
			for r := 0; r < *rounds; r++ {
				req, err := http.NewRequestWithContext(ctx, http.MethodPut, *target, bytes.NewReader(body))
				if err != nil {
					counts.add("request error")
					continue
				}
				req.Header.Set("Content-Type", contentType)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					counts.add("transport error")
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				counts.add(strconv.Itoa(resp.StatusCode))
			}
		}(tokens[i])
	}
	wg.Wait()
	return json.NewEncoder(stdout).Encode(loadResult{
		Requests: *conns * *rounds, Statuses: counts.m, Seconds: time.Since(start).Seconds(), Bytes: len(body),
	})
}

// worstAvatar is a side x side 8-bit RGBA PNG with see-through pixels (so
// the server keeps the alpha channel end to end), in a multipart body. The
// pattern repeats, so the file stays small while its pixels are not.
func worstAvatar(side int) ([]byte, string, error) {
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	for y := 0; y < side; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+side*4]
		for x := 0; x < side; x++ {
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = uint8(x), uint8(y), uint8(x+y), 200
		}
	}
	var file bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&file, img); err != nil {
		return nil, "", err
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("avatar", "worst.png")
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(file.Bytes()); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return body.Bytes(), w.FormDataContentType(), nil
}

func readLines(path string, n int) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
		if len(out) == n {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: %d lines, want %d", path, len(out), n)
}
