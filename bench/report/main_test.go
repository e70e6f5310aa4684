package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// summary is a wrk summary as bench/lua/common.lua writes it.
func summary(rps float64, p99 int64, statusErrors int) string {
	return fmt.Sprintf(`{"requests":1000,"duration_us":20000000,"rps":%g,`+
		`"latency_us":{"mean":1,"p50":1000,"p90":2000,"p99":%d,"max":9000},`+
		`"errors":{"connect":0,"read":0,"write":0,"status":%d,"timeout":0},`+
		`"statuses":{"200":1000},"sample":null}`, rps, p99, statusErrors)
}

func TestReportJudgesTargets(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ceiling.json":      summary(10000, 10000, 0),
		"ceiling.meta":      "conns=64\nrss_kb=20000\n",
		"me.json":           summary(8500, 15000, 0),
		"me.meta":           "conns=64\nrss_kb=81920\n",
		"login.json":        summary(20, 900000, 0),
		"login.meta":        "conns=16\nrss_kb=40000\n",
		"register.json":     summary(10, 900000, 3),
		"register.meta":     "conns=16\nrss_kb=40000\n",
		"avatar.meta":       "conns=8\nskipped=route missing (PUT /api/v1/users/me/avatar answered 404)\n",
		"me_login.json":     summary(3000, 90000, 0),
		"me_login.meta":     "conns=64\nrss_kb=90000\nrss_note=same server as login\n",
		"bcrypt.json":       `{"cost":10,"workers":2,"ops":100,"seconds":5,"ops_per_sec":20}`,
		"bcrypt-after.json": `{"cost":10,"workers":2,"ops":120,"seconds":5,"ops_per_sec":24}`,
		"notes.txt":         "- a note\n",
		"mem_bodies.json":   `{"requests":150,"statuses":{"413":150},"seconds":1.2}`,
		"mem_bodies.meta":   "rss_kb=40960\nidle_rss_kb=20480\n",
		"mem_avatars.json":  `{"requests":16,"statuses":{"200":16},"seconds":30,"upload_bytes":900000}`,
		"mem_avatars.meta":  "rss_kb=307200\nidle_rss_kb=20480\n",
	})
	var out strings.Builder
	if err := run([]string{"-dir", dir, "-out", filepath.Join(dir, "latest.md"), "-go", "go1.99"}, &out); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{
		"| me req/s >= 0.8 x ceiling | 0.85 x (8500 / 10000) | pass |",
		"| me p99 <= 2 x ceiling p99 | 1.50 x (15.00 ms / 10.00 ms) | pass |",
		"| login req/s >= 0.9 x raw bcrypt | 0.91 x (20.0 / 22.0) | pass |",
		"| register req/s >= 0.9 x raw bcrypt | 0.45 x (10.0 / 22.0) | FAIL |",
		"| me p99 under login <= 5 x unloaded me p99 | 6.00 x (90.00 ms / 15.00 ms) | FAIL |",
		"| server peak RSS during me (64 conns) <= 100 MB | 80.0 MB | pass |",
		"skipped: route missing (PUT /api/v1/users/me/avatar answered 404)",
		"mean of 20.0 and 24.0",
		"| register: POST /auth/register | 16 | 1000 | 10.0 | 1.00 ms | 900.00 ms | 9.00 ms | 3 | 39.1 MB |",
		"- Go: go1.99",
		"- a note",
		"| 150 slow 5 MiB bodies at once to POST /auth/login | 413 x 150 | 40.0 MB | 20.0 MB | 2.00 x | 250 MB | pass |",
		"| 8 uploads at once of the costliest accepted avatar, twice each | 200 x 16 | 300.0 MB | 20.0 MB | 15.00 x | 250 MB | FAIL |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	written, err := os.ReadFile(filepath.Join(dir, "latest.md"))
	if err != nil || string(written) != md {
		t.Fatalf("written file differs from the printed report (err %v)", err)
	}
}

func TestReportWithoutResults(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-dir", t.TempDir()}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| me vs ceiling | not measured | - |") {
		t.Fatalf("an empty run should say what was not measured:\n%s", out.String())
	}
}

// The million section judges each admin list p99 against 50 ms and GET me
// on a million users against the 10,000-user runs of the same report.
func TestReportJudgesTheMillionWorkload(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"million.meta":         "users=1000000\ninactive=200000\nproducts=2000000\nsample=8000\nref_users=10000\nseed_seconds=60\ndb_size=1 GB\nrounds=2\n",
		"admin_first.json":     summary(300, 20000, 0),
		"admin_first.meta":     "conns=4\npath=/api/v1/admin/users\n",
		"admin_first_10k.json": summary(400, 15000, 0),
		"admin_first_10k.meta": "conns=4\n",
		"admin_search.json":    summary(5, 900000, 0),
		"admin_search.meta":    "conns=4\n",
		"admin_inactive.json":  summary(300, 20000, 0),
		"admin_inactive.meta":  "conns=4\n",
		"admin_active.json":    summary(300, 20000, 2),
		"admin_active.meta":    "conns=4\n",
		"me_10k_1.json":        summary(1000, 10000, 0),
		"me_10k_1.meta":        "conns=64\n",
		"me_1m_1.json":         summary(950, 10000, 0),
		"me_1m_1.meta":         "conns=64\n",
		"me_10k_2.json":        summary(1000, 10000, 0),
		"me_10k_2.meta":        "conns=64\n",
		"me_1m_2.json":         summary(850, 10000, 0),
		"me_1m_2.meta":         "conns=64\n",
	})
	var out strings.Builder
	if err := run([]string{"-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"| first page, both groups (`/api/v1/admin/users`) | 4 | 1000 | 300.0 | 1.00 ms | 20.00 ms | 9.00 ms | 0 | 15.00 ms | p99 <= 50 ms | pass |",
		"| search matching a tenth of the users, half-way down | 4 | 1000 | 5.0 | 1.00 ms | 900.00 ms | 9.00 ms | 0 | n/a | p99 <= 50 ms | FAIL |",
		// Errors fail a request whatever its latency.
		"| status=active | 4 | 1000 | 300.0 | 1.00 ms | 20.00 ms | 9.00 ms | 2 | n/a | p99 <= 50 ms | FAIL |",
		"| status=active, cursor deep in the list | | not run: not run |",
		"| req/s on 1M vs 10k users (mean of 2 alternated rounds) | 0.90 x (900 / 1000) | >= 0.9 x | pass |",
		"the same requests on the 10000-user reference seed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

// Both avatar builds are judged against one raw PutObject rate; only the
// vips build (the one the Docker image ships) has the 0.3 x target, and a
// run without libvips says so.
func TestReportJudgesBothAvatarBuilds(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"avatar.json":      summary(2, 9000000, 0),
		"avatar.meta":      "conns=8\nrss_kb=204800\n",
		"avatar_vips.json": summary(40, 900000, 0),
		"avatar_vips.meta": "conns=8\nrss_kb=102400\n",
		"put.json":         `{"size":50000,"size_from":"bucket b","workers":8,"ops_per_sec":1000,"p50_us":5000,"p99_us":9000}`,
		"mem_avatars.json": `{"requests":16,"statuses":{"200":16},"seconds":30,"upload_bytes":900000}`,
		"mem_avatars.meta": "rss_kb=102400\nidle_rss_kb=20480\nbuild=vips (libvips 8.14.1), as the Docker image\n",
	})
	var out strings.Builder
	if err := run([]string{"-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"| avatar (pure Go) req/s vs raw PutObject (no target; 0.3 x is the vips build's) | 0.002 x (2.0 / 1000.0) | - |",
		"| avatar (vips) req/s >= 0.3 x raw PutObject | 0.040 x (40.0 / 1000.0) | FAIL |",
		"| server peak RSS during 8 avatar uploads (vips) <= 250 MB | 100.0 MB | pass |",
		"| avatar (vips): PUT /users/me/avatar | 8 | 1000 | 40.0 |",
		"twice each; server build: vips (libvips 8.14.1), as the Docker image | 200 x 16 | 100.0 MB |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}

	writeFiles(t, dir, map[string]string{"avatar_vips.meta": "conns=8\nskipped=libvips missing\n"})
	out.Reset()
	if err := run([]string{"-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "| avatar (vips) | skipped: libvips missing | - |") {
		t.Errorf("a run without libvips should say so:\n%s", got)
	}
}
