package routes_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/models"
)

const (
	pathRegister         = "/api/v1/auth/register"
	pathRegisterVerify   = "/api/v1/auth/register/verify"
	pathLogin            = "/api/v1/auth/login"
	pathLoginVerify      = "/api/v1/auth/login/verify"
	pathForgot           = "/api/v1/auth/password/forgot"
	pathPasswordVerify   = "/api/v1/auth/password/verify"
	pathReset            = "/api/v1/auth/password/reset"
	pathResend           = "/api/v1/auth/code/resend"
	pathReactivate       = "/api/v1/auth/reactivate"
	pathReactivateVerify = "/api/v1/auth/reactivate/verify"
	pathMe               = "/api/v1/users/me"
)

func TestMain(m *testing.M) {
	fmt.Println("backends:", testenv.Backends())
	m.Run()
}

func registerBody(email string) map[string]any {
	return map[string]any{"first_name": "Ali", "last_name": "Valiyev", "email": email, "password": testenv.Password}
}

// wrong returns a different 6-digit code.
func wrong(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1000000)
}

const (
	pathAdminLogin       = "/api/v1/admin/auth/login"
	pathAdminLoginVerify = "/api/v1/admin/auth/login/verify"
	pathAdmins           = "/api/v1/admin/admins"
	pathAdminUsers       = "/api/v1/admin/users"
)

// withAdmin creates an admin in the database and signs it in through the API.
func withAdmin(t *testing.T, e *testenv.Env) {
	e.Vars()[varAdminEmail], e.Vars()[varAdminToken] = e.NewAdmin()
}

func adminTok(e *testenv.Env) string { return e.Vars()[varAdminToken] }

const (
	pathRefresh      = "/api/v1/auth/token/refresh"
	pathLogout       = "/api/v1/auth/logout"
	pathSessions     = "/api/v1/users/me/sessions"
	pathAdminRefresh = "/api/v1/admin/auth/token/refresh"
	pathAdminLogout  = "/api/v1/admin/auth/logout"
)

// refresh posts a refresh token and returns the answer.
func refresh(e *testenv.Env, path, rt string) *testenv.Response {
	e.T.Helper()
	return e.Do(http.MethodPost, path, map[string]any{"refresh_token": rt}, "")
}

func mustRefresh(t *testing.T, e *testenv.Env, rt string) tokenBody {
	t.Helper()
	r := refresh(e, pathRefresh, rt)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	var out tokenBody
	r.Decode(t, &out)
	if out.Token == "" || out.RefreshToken == "" || out.RefreshToken == rt {
		t.Fatalf("refresh answered no new pair: %s", r.Body)
	}
	return out
}

const pathChangePassword = "/api/v1/users/me/password"

// race runs f n times at once and counts the statuses it returned.
func race(n int, f func() int) map[int]int {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := f()
			mu.Lock()
			counts[s]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return counts
}

const productsPath = "/api/v1/products"

func body(v map[string]any) func(*testenv.Env) any { return func(*testenv.Env) any { return v } }

// signedIn registers a user in Setup and keeps its email and token in Vars.
func signedIn(t *testing.T, e *testenv.Env) {
	t.Helper()
	addr := e.Email("me")
	e.Vars()["email"] = addr
	e.Vars()["token"] = e.RegisterUser(addr)
}

func userToken(e *testenv.Env) string { return e.Vars()["token"] }

// adminTokenFor creates an admin and returns a valid admin token, to check
// that admin tokens are refused on the user's routes.
func adminTokenFor(e *testenv.Env) string {
	addr := e.Email("admin")
	e.CreateAdmin(addr)
	return e.SignAdminToken(e.T, addr, models.RoleAdmin, 1, time.Hour)
}

// storedUser reads the user straight from the database.
func storedUser(t *testing.T, e *testenv.Env) *models.User {
	t.Helper()
	u, err := models.UserByEmail(context.Background(), e.DB, e.Vars()["email"])
	if err != nil {
		t.Fatalf("load user: %v", err)
	}
	return u
}

func getMe(t *testing.T, e *testenv.Env, token string) meBody {
	t.Helper()
	r := e.Do(http.MethodGet, pathMe, nil, token)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /users/me: %d %s", r.Status, r.Body)
	}
	var out meBody
	r.Decode(t, &out)
	return out
}

const day = 24 * time.Hour

func userID(t *testing.T, e *testenv.Env, email string) uuid.UUID {
	t.Helper()
	u, err := models.UserByEmail(context.Background(), e.DB, email)
	if err != nil {
		t.Fatalf("load %s: %v", email, err)
	}
	return u.ID
}

func mustStatus(t *testing.T, r *testenv.Response, status int, code string) {
	t.Helper()
	if r.Status != status || (code != "" && r.ErrorCode() != code) {
		t.Fatalf("status %d code %q, want %d %q\n%s", r.Status, r.ErrorCode(), status, code, r.Body)
	}
}

func creds(email string) map[string]any {
	return map[string]any{"email": email, "password": testenv.Password}
}

// solidImage is a w x h image of one colour.
func solidImage(w, h int, c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func uploadAvatar(t *testing.T, e *testenv.Env, token, filename string, data []byte) *testenv.Response {
	t.Helper()
	return e.Do(http.MethodPut, avatarPath, testenv.NewMultipart(t, "avatar", filename, data), token)
}

// mustUploadAvatar uploads and returns the new avatar URL.
func mustUploadAvatar(t *testing.T, e *testenv.Env, token string, data []byte) string {
	t.Helper()
	r := uploadAvatar(t, e, token, "me.jpg", data)
	if r.Status != http.StatusOK {
		t.Fatalf("upload avatar: %d %s", r.Status, r.Body)
	}
	var out struct {
		AvatarURL string `json:"avatar_url"`
	}
	r.Decode(t, &out)
	if out.AvatarURL == "" {
		t.Fatalf("no avatar_url: %s", r.Body)
	}
	return out.AvatarURL
}

// objectKey turns an avatar URL back into its object key.
func objectKey(t *testing.T, e *testenv.Env, url string) string {
	t.Helper()
	prefix := "/uploads/"
	if e.S3 != nil {
		prefix = e.S3.URL("")
	}
	key, ok := strings.CutPrefix(url, prefix)
	if !ok {
		t.Fatalf("avatar URL %q is not under %q", url, prefix)
	}
	return key
}

// storedKeys lists every object in the Env's bucket or uploads folder.
func storedKeys(t *testing.T, e *testenv.Env) []string {
	t.Helper()
	var keys []string
	if e.S3 != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for obj := range e.S3.Client().ListObjects(ctx, e.S3.Bucket(), minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatalf("list bucket: %v", obj.Err)
			}
			keys = append(keys, obj.Key)
		}
	} else {
		err := filepath.WalkDir(e.Uploads, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(e.Uploads, p)
			keys = append(keys, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			t.Fatalf("walk uploads: %v", err)
		}
	}
	slices.Sort(keys)
	return keys
}

// notices returns the subjects of the security notices mailed to email (the
// mails without a code).
func notices(t *testing.T, e *testenv.Env, email string) []string {
	t.Helper()
	var out []string
	for _, m := range e.Mails(email) {
		if mail.ExtractCode(m.Text) == "" {
			out = append(out, m.Subject)
			if strings.Contains(m.HTML, "href=") {
				t.Errorf("notice %q has a link", m.Subject)
			}
		}
	}
	return out
}

const avatarPath = "/api/v1/users/me/avatar"

type meBody struct {
	User struct {
		ID            string  `json:"id"`
		Email         string  `json:"email"`
		FirstName     string  `json:"first_name"`
		LastName      string  `json:"last_name"`
		Phone         *string `json:"phone"`
		AvatarURL     *string `json:"avatar_url"`
		Active        bool    `json:"active"`
		Products      []struct{ ID, Name string }
		ProductsTotal int `json:"products_total"`
	} `json:"user"`
}

type tokenBody struct {
	Token            string `json:"token"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

// Vars keys of the admin scenarios.
const (
	varAdminEmail = "admin_email"
	varAdminToken = "admin_token"
	varUserEmail  = "user_email"
	varUserToken  = "user_token"
)

// memberID is the id of the user withAdminAndUser stores, so scenario rows
// can name the user in their static Path.
const memberID = "01936b2e-8f3a-7c4d-9e2b-5a6f7d8c9b0a"

const pathMember = pathAdminUsers + "/" + memberID

// withAdminAndUser adds to withAdmin a user stored with the id memberID and
// signed in through the API.
func withAdminAndUser(t *testing.T, e *testenv.Env) {
	withAdmin(t, e)
	addr := e.Email("member")
	e.StoreUser(uuid.MustParse(memberID), addr)
	e.Vars()[varUserEmail] = addr
	e.Vars()[varUserToken] = e.Login(addr, testenv.Password)
}

func userTok(e *testenv.Env) string { return e.Vars()[varUserToken] }
