package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
)

// runJPEG writes a photo-like JPEG (smooth gradients plus sensor-like noise)
// whose size is as close to -target as the quality setting allows, so the
// avatar workload uploads what a phone would.
func runJPEG(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	out := fs.String("out", "avatar.jpg", "file to write")
	width := fs.Int("width", 1200, "width in pixels")
	height := fs.Int("height", 900, "height in pixels")
	target := fs.Int("target", 300<<10, "wanted size in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	img := photoLike(*width, *height)
	best, bestQ := []byte(nil), 0
	lo, hi := 1, 100
	for lo <= hi {
		q := (lo + hi) / 2
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		if best == nil || abs(buf.Len()-*target) < abs(len(best)-*target) {
			best, bestQ = buf.Bytes(), q
		}
		if buf.Len() < *target {
			lo = q + 1
		} else {
			hi = q - 1
		}
	}
	if err := os.WriteFile(*out, best, 0o644); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "%s: %dx%d, quality %d, %d bytes\n", *out, *width, *height, bestQ, len(best))
	return err
}

func photoLike(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same file every run
	for y := range h {
		for x := range w {
			n := rng.IntN(48) - 24
			img.SetRGBA(x, y, color.RGBA{
				R: clamp(x*255/w + n), G: clamp(y*255/h + n), B: clamp((x+y)*128/(w+h) + 64 + n), A: 255,
			})
		}
	}
	return img
}

func clamp(v int) uint8 { return uint8(max(0, min(255, v))) }

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
