package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeFile is the part of docker-compose.yml the safety rules read.
// Merge keys (<<: *api-service) are resolved by the decoder, so a replica
// that inherits the API's settings is checked like the API.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Ports       []any             `yaml:"ports"`
		Command     any               `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

// exposedServices hold codes, mails or root credentials: reachable only
// from the host itself, never from the network it sits on.
var exposedServices = []string{"minio", "mailpit", "redis"}

// requiredJWTSecret is compose's "fail when unset or empty" form: a default
// would be a published key anyone could sign tokens with.
var requiredJWTSecret = regexp.MustCompile(`^\$\{JWT_SECRET:\?[^}]+\}$`)

// TestComposeIsSafeToRun keeps docker-compose.yml safe to start as it is:
// images that cannot change under a rebuild, services with secrets not
// published beyond the host, Redis behind a password, and no way to start
// the API without its own JWT_SECRET.
func TestComposeIsSafeToRun(t *testing.T) {
	data, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range exposedServices {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("service %s is gone: update exposedServices", name)
		}
	}
	for name, s := range f.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: no image", name)
		} else if s.Image != "" && !pinnedImage(s.Image) {
			t.Errorf("%s: image %q is not pinned to a version tag or digest", name, s.Image)
		}
		if slices.Contains(exposedServices, name) {
			for _, p := range s.Ports {
				if ps, ok := p.(string); !ok || !strings.HasPrefix(ps, "127.0.0.1:") {
					t.Errorf("%s: port %v is published beyond 127.0.0.1", name, p)
				}
			}
		}
		if v, ok := s.Environment["JWT_SECRET"]; ok && !requiredJWTSecret.MatchString(v) {
			t.Errorf("%s: JWT_SECRET is %q, want the required form ${JWT_SECRET:?message}", name, v)
		}
	}
	if !redisRequiresPassword(f.Services["redis"].Command) {
		t.Errorf("redis: its command does not set a non-empty --requirepass")
	}
	if _, ok := f.Services["api"].Environment["JWT_SECRET"]; !ok {
		t.Errorf("api: no JWT_SECRET in its environment")
	}
}

// pinnedImage: a digest, or a tag other than latest. A registry host with
// a port (host:5000/image) is no tag.
func pinnedImage(image string) bool {
	if _, digest, ok := strings.Cut(image, "@sha256:"); ok {
		return digest != ""
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "" && tag != "latest"
}

// redisRequiresPassword: redis-server is started with --requirepass and a
// value that is not empty (an empty one turns authentication off).
func redisRequiresPassword(command any) bool {
	var args []string
	switch c := command.(type) {
	case string:
		args = strings.Fields(c)
	case []any:
		for _, a := range c {
			s, _ := a.(string)
			args = append(args, s)
		}
	}
	i := slices.Index(args, "--requirepass")
	if i < 0 || i+1 >= len(args) {
		return false
	}
	// ${REDIS_PASSWORD} or ${REDIS_PASSWORD:-} may expand to nothing.
	return !emptyable.MatchString(strings.Trim(args[i+1], `"'`))
}

// emptyable is a value that can end up empty: nothing, or an expansion
// without a non-empty default or a required (:?) form.
var emptyable = regexp.MustCompile(`^$|^\$\{\w+(:?-)?\}$|^\$\w+$`)

func TestPinnedImage(t *testing.T) {
	for image, want := range map[string]bool{
		"redis:7.4.7-alpine":             true,
		"minio/minio:RELEASE.2025-09-07": true,
		"nginx@sha256:abc":               true,
		"redis":                          false,
		"redis:latest":                   false,
		"registry:5000/redis":            false,
		"registry:5000/redis:7":          true,
	} {
		if got := pinnedImage(image); got != want {
			t.Errorf("%s: pinned %v, want %v", image, got, want)
		}
	}
}

func TestRedisRequiresPassword(t *testing.T) {
	for _, c := range []struct {
		command any
		want    bool
	}{
		{[]any{"redis-server", "--requirepass", "${REDIS_PASSWORD:-x}"}, true},
		{[]any{"redis-server", "--requirepass", "${REDIS_PASSWORD:?set it}"}, true},
		{"redis-server --requirepass s3cret", true},
		{[]any{"redis-server"}, false},
		{[]any{"redis-server", "--requirepass"}, false},
		{[]any{"redis-server", "--requirepass", ""}, false},
		{[]any{"redis-server", "--requirepass", "${REDIS_PASSWORD}"}, false},
		{[]any{"redis-server", "--requirepass", "${REDIS_PASSWORD:-}"}, false},
		{nil, false},
	} {
		if got := redisRequiresPassword(c.command); got != c.want {
			t.Errorf("%v: %v, want %v", c.command, got, c.want)
		}
	}
}
