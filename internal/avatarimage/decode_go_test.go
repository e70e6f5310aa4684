//go:build !vips

package avatarimage

import (
	"image"
	"image/color"
	"testing"
)

// TestAvatarCropsTheCentre: the square is cut from the middle of the image.
func TestAvatarCropsTheCentre(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 900, 300))
	for x := 0; x < 900; x++ {
		c := color.NRGBA{R: 255, A: 255}
		if x >= 300 && x < 600 {
			c = color.NRGBA{G: 255, A: 255}
		}
		for y := 0; y < 300; y++ {
			src.SetNRGBA(x, y, c)
		}
	}
	out := squareThumbnail(src.SubImage(image.Rect(0, 0, 900, 300)), 512)
	if out.Bounds().Dx() != 300 || out.Bounds().Dy() != 300 {
		t.Fatalf("size %v, want 300x300 (never scaled up)", out.Bounds())
	}
	for _, x := range []int{0, 150, 299} {
		if c := out.NRGBAAt(x, 150); c.G < 200 || c.R > 50 {
			t.Errorf("pixel %d: %v, want the green centre only", x, c)
		}
	}
}
