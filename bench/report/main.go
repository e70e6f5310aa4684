// Command report turns one benchmark run's raw results (wrk summaries from
// bench/lua/common.lua, the baselines from rawbench, peak RSS samples) into
// the Markdown table of bench/results/latest.md: each workload, its
// baseline, the ratio and whether the target holds.
//
// A workload's files in -dir: NAME.json (wrk summary), NAME.meta (key=value
// lines: conns, rss_kb, skipped). Baselines: bcrypt.json, put.json. Optional
// text blocks appended verbatim: cpu-top.txt, alloc-top.txt, notes.txt.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// wrkResult is what common.lua's done() writes.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	RPS        float64 `json:"rps"`
	Latency    struct {
		Mean float64 `json:"mean"`
		P50  int64   `json:"p50"`
		P90  int64   `json:"p90"`
		P99  int64   `json:"p99"`
		Max  int64   `json:"max"`
	} `json:"latency_us"`
	Errors struct {
		Connect int64 `json:"connect"`
		Read    int64 `json:"read"`
		Write   int64 `json:"write"`
		Status  int64 `json:"status"`
		Timeout int64 `json:"timeout"`
	} `json:"errors"`
	Statuses map[string]int64 `json:"statuses"`
	Sample   *string          `json:"sample"`
}

func (w *wrkResult) errorCount() int64 {
	e := w.Errors
	return e.Connect + e.Read + e.Write + e.Status + e.Timeout
}

// workload is one wrk run with its server's peak memory.
type workload struct {
	name, title string
	res         *wrkResult
	meta        map[string]string
}

func (w *workload) ok() bool { return w.res != nil && w.meta["skipped"] == "" }

func (w *workload) rssMB() (float64, bool) {
	kb, err := strconv.ParseFloat(w.meta["rss_kb"], 64)
	if err != nil || kb <= 0 {
		return 0, false
	}
	return kb / 1024, true
}

type bcryptResult struct {
	Cost      int     `json:"cost"`
	Workers   int     `json:"workers"`
	OpsPerSec float64 `json:"ops_per_sec"`
	// Runs are the single measurements (before login, after register) whose
	// mean OpsPerSec is; other load on the machine moves each of them.
	Runs []float64 `json:"-"`
}

// readBcrypt averages the bcrypt baselines of the run (bcrypt.json and
// bcrypt-after.json); nil when there is none.
func readBcrypt(dir string) (*bcryptResult, error) {
	var mean *bcryptResult
	for _, name := range []string{"bcrypt.json", "bcrypt-after.json"} {
		var r *bcryptResult
		if err := readJSON(filepath.Join(dir, name), &r); err != nil {
			return nil, err
		}
		if r == nil {
			continue
		}
		if mean == nil {
			mean = &bcryptResult{Cost: r.Cost, Workers: r.Workers}
		}
		mean.Runs = append(mean.Runs, r.OpsPerSec)
	}
	if mean != nil {
		for _, v := range mean.Runs {
			mean.OpsPerSec += v / float64(len(mean.Runs))
		}
	}
	return mean, nil
}

type putResult struct {
	Size      int64   `json:"size"`
	SizeFrom  string  `json:"size_from"`
	Workers   int     `json:"workers"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50us     int64   `json:"p50_us"`
	P99us     int64   `json:"p99_us"`
}

// order and titles of the workloads in the table.
var workloads = []struct{ name, title string }{
	{"ceiling", "ceiling: GET me (bench/ceiling)"},
	{"me", "me: GET /users/me"},
	{"refresh_ceiling", "ceiling: refresh, one indexed UPDATE (bench/ceiling)"},
	{"refresh", "refresh: POST /auth/token/refresh"},
	{"login", "login: POST /auth/login"},
	{"register", "register: POST /auth/register"},
	{"avatar", "avatar (pure Go): PUT /users/me/avatar"},
	{"avatar_vips", "avatar (vips): PUT /users/me/avatar"},
	{"me_login", "me while login runs"},
	{"login_me", "login while me runs"},
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory holding the run's raw results")
	out := fs.String("out", "", "Markdown file to write (also printed)")
	goVersion := fs.String("go", runtime.Version(), "Go version the server was built with")
	settings := fs.String("settings", "", "one line describing durations, sizes and costs of the run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	ws := map[string]*workload{}
	for _, d := range workloads {
		w, err := loadWorkload(*dir, d.name, d.title)
		if err != nil {
			return err
		}
		ws[d.name] = w
	}
	bc, err := readBcrypt(*dir)
	if err != nil {
		return err
	}
	var put *putResult
	if err := readJSON(filepath.Join(*dir, "put.json"), &put); err != nil {
		return err
	}

	var b strings.Builder
	writeHeader(&b, *goVersion, *settings)
	writeWorkloads(&b, ws)
	writeBaselines(&b, ws, bc, put)
	writeTargets(&b, ws, bc, put)
	if err := writeMemoryBounds(&b, *dir); err != nil {
		return err
	}
	if err := writeMillion(&b, *dir); err != nil {
		return err
	}
	writeStatuses(&b, ws)
	for _, f := range []struct{ file, title string }{
		{"notes.txt", "Notes"},
		{"cpu-top.txt", "CPU profile under `me` (go tool pprof -top)"},
		{"alloc-top.txt", "Allocations under `me` (go tool pprof -sample_index=alloc_space -top)"},
	} {
		text, err := os.ReadFile(filepath.Join(*dir, f.file))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if f.file == "notes.txt" {
			fmt.Fprintf(&b, "\n## %s\n\n%s\n", f.title, strings.TrimSpace(string(text)))
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n```\n%s\n```\n", f.title, strings.TrimSpace(string(text)))
	}

	if *out != "" {
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

func loadWorkload(dir, name, title string) (*workload, error) {
	w := &workload{name: name, title: title, meta: map[string]string{}}
	meta, err := readMeta(filepath.Join(dir, name+".meta"))
	if err != nil {
		return nil, err
	}
	if meta != nil {
		w.meta = meta
	} else {
		w.meta["skipped"] = "not run"
	}
	if w.meta["skipped"] != "" {
		return w, nil
	}
	if err := readJSON(filepath.Join(dir, name+".json"), &w.res); err != nil {
		return nil, err
	}
	if w.res == nil {
		w.meta["skipped"] = "no wrk summary (see the run's logs)"
	}
	return w, nil
}

// readJSON leaves *into nil when the file does not exist.
func readJSON[T any](path string, into **T) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	*into = v
	return nil
}

func readMeta(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m, sc.Err()
}

func writeHeader(b *strings.Builder, goVersion, settings string) {
	fmt.Fprintf(b, "# Benchmark results\n\n")
	fmt.Fprintf(b, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(b, "- machine: %d cores (%s), load generator (wrk) on the same machine\n", runtime.NumCPU(), cpuModel())
	fmt.Fprintf(b, "- Go: %s\n", goVersion)
	if settings != "" {
		fmt.Fprintf(b, "- settings: %s\n", settings)
	}
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func ms(us int64) string { return fmt.Sprintf("%.2f ms", float64(us)/1000) }

func writeWorkloads(b *strings.Builder, ws map[string]*workload) {
	b.WriteString("\n## Workloads\n\n")
	b.WriteString("| workload | conns | requests | req/s | p50 | p99 | max | errors | server peak RSS |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, d := range workloads {
		w := ws[d.name]
		if !w.ok() {
			fmt.Fprintf(b, "| %s | %s | skipped: %s | | | | | | |\n", w.title, w.meta["conns"], w.meta["skipped"])
			continue
		}
		r := w.res
		rss := "n/a"
		if mb, ok := w.rssMB(); ok {
			rss = fmt.Sprintf("%.1f MB", mb)
			if w.meta["rss_note"] != "" {
				rss += " (" + w.meta["rss_note"] + ")"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %d | %.1f | %s | %s | %s | %d | %s |\n",
			w.title, w.meta["conns"], r.Requests, r.RPS, ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max),
			r.errorCount(), rss)
	}
}

func writeBaselines(b *strings.Builder, ws map[string]*workload, bc *bcryptResult, put *putResult) {
	b.WriteString("\n## Baselines (same run)\n\n")
	b.WriteString("| baseline | value |\n|---|---|\n")
	if c := ws["ceiling"]; c.ok() {
		fmt.Fprintf(b, "| stack ceiling, GET me (Fiber + pgx + HS256, one query) | %.1f req/s, p99 %s |\n", c.res.RPS, ms(c.res.Latency.P99))
	} else {
		fmt.Fprintf(b, "| stack ceiling | missing: %s |\n", c.meta["skipped"])
	}
	if bc != nil {
		runs := make([]string, len(bc.Runs))
		for i, v := range bc.Runs {
			runs[i] = fmt.Sprintf("%.1f", v)
		}
		how := "one run"
		if len(runs) > 1 {
			how = "mean of " + strings.Join(runs, " and ") + ", before login and after register"
		}
		fmt.Fprintf(b, "| raw bcrypt compare, cost %d, %d goroutines (%s) | %.1f /s |\n", bc.Cost, bc.Workers, how, bc.OpsPerSec)
	} else {
		b.WriteString("| raw bcrypt compare | missing |\n")
	}
	if put != nil {
		fmt.Fprintf(b, "| raw MinIO PutObject, %d bytes (size from %s), %d workers | %.1f /s, p50 %s, p99 %s |\n",
			put.Size, put.SizeFrom, put.Workers, put.OpsPerSec, ms(put.P50us), ms(put.P99us))
	} else {
		b.WriteString("| raw MinIO PutObject | missing |\n")
	}
}

// check is one performance target, judged on this run's numbers.
type check struct {
	target, measured string
	pass             *bool // nil: could not be judged
}

func judged(ok bool) *bool { return &ok }

func writeTargets(b *strings.Builder, ws map[string]*workload, bc *bcryptResult, put *putResult) {
	var cs []check
	me, ceil := ws["me"], ws["ceiling"]
	if me.ok() && ceil.ok() && ceil.res.RPS > 0 && ceil.res.Latency.P99 > 0 {
		r := me.res.RPS / ceil.res.RPS
		cs = append(cs, check{"me req/s >= 0.8 x ceiling", fmt.Sprintf("%.2f x (%.0f / %.0f)", r, me.res.RPS, ceil.res.RPS), judged(r >= 0.8)})
		p := float64(me.res.Latency.P99) / float64(ceil.res.Latency.P99)
		cs = append(cs, check{"me p99 <= 2 x ceiling p99", fmt.Sprintf("%.2f x (%s / %s)", p, ms(me.res.Latency.P99), ms(ceil.res.Latency.P99)), judged(p <= 2)})
	} else {
		cs = append(cs, check{"me vs ceiling", "not measured", nil})
	}
	if rf, rc := ws["refresh"], ws["refresh_ceiling"]; rf.ok() && rc.ok() && rc.res.RPS > 0 {
		r := rf.res.RPS / rc.res.RPS
		cs = append(cs, check{"refresh req/s vs one indexed UPDATE (no target)", fmt.Sprintf("%.2f x (%.0f / %.0f), errors %d", r, rf.res.RPS, rc.res.RPS, rf.res.errorCount()), nil})
	}
	if me.ok() {
		cs = append(cs, check{"me errors = 0", strconv.FormatInt(me.res.errorCount(), 10), judged(me.res.errorCount() == 0)})
	}
	for _, name := range []string{"login", "register"} {
		w := ws[name]
		if w.ok() && bc != nil && bc.OpsPerSec > 0 {
			r := w.res.RPS / bc.OpsPerSec
			cs = append(cs, check{name + " req/s >= 0.9 x raw bcrypt", fmt.Sprintf("%.2f x (%.1f / %.1f)", r, w.res.RPS, bc.OpsPerSec), judged(r >= 0.9)})
		} else {
			cs = append(cs, check{name + " vs raw bcrypt", "not measured", nil})
		}
	}
	if ml := ws["me_login"]; ml.ok() && me.ok() && me.res.Latency.P99 > 0 {
		r := float64(ml.res.Latency.P99) / float64(me.res.Latency.P99)
		cs = append(cs, check{"me p99 under login <= 5 x unloaded me p99", fmt.Sprintf("%.2f x (%s / %s)", r, ms(ml.res.Latency.P99), ms(me.res.Latency.P99)), judged(r <= 5)})
	} else {
		cs = append(cs, check{"me p99 under login", "not measured", nil})
	}
	if mb, ok := me.rssMB(); ok && me.ok() {
		cs = append(cs, check{"server peak RSS during me (64 conns) <= 100 MB", fmt.Sprintf("%.1f MB", mb), judged(mb <= 100)})
	}
	cs = append(cs, avatarChecks(ws["avatar"], "pure Go", false, put)...)
	cs = append(cs, avatarChecks(ws["avatar_vips"], "vips", true, put)...)

	b.WriteString("\n## Targets\n\n| target | measured | result |\n|---|---|---|\n")
	for _, c := range cs {
		res := "-"
		if c.pass != nil {
			res = "FAIL"
			if *c.pass {
				res = "pass"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", c.target, c.measured, res)
	}
}

// avatarRatio is the least share of the raw PutObject rate (of the stored
// size) that avatar uploads must reach; it is the vips build's target, the
// build the Docker image ships. The pure-Go build's ratio is shown beside it.
const avatarRatio = 0.3

// avatarChecks judges one build's avatar workload: peak RSS, and req/s
// against the raw PutObject rate (a target only when targeted).
func avatarChecks(av *workload, build string, targeted bool, put *putResult) []check {
	if !av.ok() {
		return []check{{"avatar (" + build + ")", "skipped: " + av.meta["skipped"], nil}}
	}
	var cs []check
	if mb, ok := av.rssMB(); ok {
		cs = append(cs, check{"server peak RSS during 8 avatar uploads (" + build + ") <= 250 MB", fmt.Sprintf("%.1f MB", mb), judged(mb <= 250)})
	}
	if put == nil || put.OpsPerSec <= 0 {
		return append(cs, check{"avatar (" + build + ") vs raw PutObject", "no PutObject baseline", nil})
	}
	r := av.res.RPS / put.OpsPerSec
	measured := fmt.Sprintf("%.3f x (%.1f / %.1f)", r, av.res.RPS, put.OpsPerSec)
	if !targeted {
		return append(cs, check{fmt.Sprintf("avatar (%s) req/s vs raw PutObject (no target; %.1f x is the vips build's)", build, avatarRatio), measured, nil})
	}
	return append(cs, check{fmt.Sprintf("avatar (%s) req/s >= %.1f x raw PutObject", build, avatarRatio), measured, judged(r >= avatarRatio)})
}

// writeStatuses lists the status codes the slow workloads got, with the first
// error body, so a failing workload explains itself.
func writeStatuses(b *strings.Builder, ws map[string]*workload) {
	var lines []string
	for _, d := range workloads {
		w := ws[d.name]
		if !w.ok() || len(w.res.Statuses) == 0 {
			continue
		}
		codes := make([]string, 0, len(w.res.Statuses))
		for code := range w.res.Statuses {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		parts := make([]string, len(codes))
		for i, code := range codes {
			parts[i] = fmt.Sprintf("%s x %d", code, w.res.Statuses[code])
		}
		line := fmt.Sprintf("- %s: %s", d.name, strings.Join(parts, ", "))
		if w.res.Sample != nil {
			line += fmt.Sprintf("; first non-2xx: `%s`", strings.ReplaceAll(*w.res.Sample, "`", "'"))
		}
		lines = append(lines, line)
	}
	if len(lines) > 0 {
		fmt.Fprintf(b, "\n## Status codes\n\n%s\n", strings.Join(lines, "\n"))
	}
}

// memoryLoad is what rawbench slowbodies and avatars print.
type memoryLoad struct {
	Requests int            `json:"requests"`
	Statuses map[string]int `json:"statuses"`
	Seconds  float64        `json:"seconds"`
	Bytes    int            `json:"upload_bytes"`
}

// memoryBoundMB is the peak RSS the server must stay under in both memory
// workloads.
const memoryBoundMB = 250

// writeMemoryBounds reports the two memory workloads: the server's peak RSS
// against the bound, and against the same server idle just before the load.
func writeMemoryBounds(b *strings.Builder, dir string) error {
	b.WriteString("\n## Memory bounds\n\n| workload | answers | peak RSS | idle RSS | peak / idle | bound | result |\n|---|---|---|---|---|---|---|\n")
	for _, m := range []struct{ name, title string }{
		{"mem_bodies", "150 slow 5 MiB bodies at once to POST /auth/login"},
		{"mem_avatars", "8 uploads at once of the costliest accepted avatar, twice each"},
	} {
		var load *memoryLoad
		if err := readJSON(filepath.Join(dir, m.name+".json"), &load); err != nil {
			return err
		}
		meta, err := readMeta(filepath.Join(dir, m.name+".meta"))
		if err != nil {
			return err
		}
		peak, perr := strconv.ParseFloat(meta["rss_kb"], 64)
		idle, ierr := strconv.ParseFloat(meta["idle_rss_kb"], 64)
		if load == nil || perr != nil || ierr != nil || idle <= 0 {
			fmt.Fprintf(b, "| %s | not measured | | | | %d MB | - |\n", m.title, memoryBoundMB)
			continue
		}
		codes := make([]string, 0, len(load.Statuses))
		for code, n := range load.Statuses {
			codes = append(codes, fmt.Sprintf("%s x %d", code, n))
		}
		sort.Strings(codes)
		result := "FAIL"
		if peak/1024 <= memoryBoundMB {
			result = "pass"
		}
		title := m.title
		if build := meta["build"]; build != "" {
			title += "; server build: " + build
		}
		fmt.Fprintf(b, "| %s | %s | %.1f MB | %.1f MB | %.2f x | %d MB | %s |\n",
			title, strings.Join(codes, ", "), peak/1024, idle/1024, peak/idle, memoryBoundMB, result)
	}
	return nil
}

// adminListP99MS is the p99 every admin list request must stay under on the
// million-user seed; meMillionRatio is the least share of its 10,000-user
// req/s that GET me keeps there.
const (
	adminListP99MS = 50
	meMillionRatio = 0.9
)

// adminRequests are the admin list requests of the million workload, in
// the report's order.
var adminRequests = []struct{ name, title string }{
	{"admin_first", "first page, both groups"},
	{"admin_search", "search matching a tenth of the users, half-way down"},
	{"admin_inactive", "status=inactive"},
	{"admin_active", "status=active"},
	{"admin_cursor", "status=active, cursor deep in the list"},
}

// writeMillion reports the million workload (million.meta and its runs):
// each admin list request's p99 against the bound, and GET me's req/s on
// the million seed against the 10,000-user seed, runs alternated.
func writeMillion(b *strings.Builder, dir string) error {
	meta, err := readMeta(filepath.Join(dir, "million.meta"))
	if err != nil || meta == nil {
		return err
	}
	fmt.Fprintf(b, "\n## A million users (BENCH_MILLION=1)\n\n")
	fmt.Fprintf(b, "- seed: %s users (%s inactive), %s products, sessions and tokens for %s of them, "+
		"seeded by COPY in %s s; database %s\n",
		meta["users"], meta["inactive"], meta["products"], meta["sample"], meta["seed_seconds"], meta["db_size"])
	if sb := meta["shared_buffers"]; sb != "" {
		fmt.Fprintf(b, "- PostgreSQL shared_buffers: %s (the sample's users, sessions and products are spread over the "+
			"whole database: with too small a cache, GET me reads its pages from the OS on the million and not on 10k)\n", sb)
	}
	fmt.Fprintf(b, "- the same requests on the %s-user reference seed, measured just before, show what the machine's "+
		"other load alone does to the tail (p99 on 10k)\n", meta["ref_users"])
	b.WriteString("\n| admin list request | conns | requests | req/s | p50 | p99 | max | errors | p99 on 10k | target | result |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range adminRequests {
		w, err := loadWorkload(dir, r.name, r.title)
		if err != nil {
			return err
		}
		ref, err := loadWorkload(dir, r.name+"_10k", r.title)
		if err != nil {
			return err
		}
		refP99 := "n/a"
		if ref.ok() {
			refP99 = ms(ref.res.Latency.P99)
		}
		title := r.title
		if p := w.meta["path"]; p != "" {
			title += " (`" + p + "`)"
		}
		if !w.ok() {
			fmt.Fprintf(b, "| %s | | not run: %s | | | | | | %s | p99 <= %d ms | - |\n", title, w.meta["skipped"], refP99, adminListP99MS)
			continue
		}
		res := w.res
		pass := res.Latency.P99 <= adminListP99MS*1000 && res.errorCount() == 0
		fmt.Fprintf(b, "| %s | %s | %d | %.1f | %s | %s | %s | %d | %s | p99 <= %d ms | %s |\n",
			title, w.meta["conns"], res.Requests, res.RPS, ms(res.Latency.P50), ms(res.Latency.P99), ms(res.Latency.Max),
			res.errorCount(), refP99, adminListP99MS, verdict(pass))
	}

	rounds, _ := strconv.Atoi(meta["rounds"])
	var small, large []float64
	var runs []string
	for i := 1; i <= rounds; i++ {
		s, err := loadWorkload(dir, fmt.Sprintf("me_10k_%d", i), "")
		if err != nil {
			return err
		}
		l, err := loadWorkload(dir, fmt.Sprintf("me_1m_%d", i), "")
		if err != nil {
			return err
		}
		if !s.ok() || !l.ok() {
			continue
		}
		small, large = append(small, s.res.RPS), append(large, l.res.RPS)
		runs = append(runs, fmt.Sprintf("round %d: 10k %.0f req/s (p99 %s), 1M %.0f req/s (p99 %s), errors %d",
			i, s.res.RPS, ms(s.res.Latency.P99), l.res.RPS, ms(l.res.Latency.P99), s.res.errorCount()+l.res.errorCount()))
	}
	b.WriteString("\n| GET /users/me | measured | target | result |\n|---|---|---|---|\n")
	if len(small) == 0 {
		fmt.Fprintf(b, "| req/s on 1M vs 10k users | not measured | >= %.1f x | - |\n", meMillionRatio)
		return nil
	}
	ms10k, ms1m := mean(small), mean(large)
	r := ms1m / ms10k
	fmt.Fprintf(b, "| req/s on 1M vs 10k users (mean of %d alternated rounds) | %.2f x (%.0f / %.0f) | >= %.1f x | %s |\n",
		len(small), r, ms1m, ms10k, meMillionRatio, verdict(r >= meMillionRatio))
	for _, line := range runs {
		fmt.Fprintf(b, "\n- %s", line)
	}
	b.WriteString("\n")
	return nil
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func verdict(pass bool) string {
	if pass {
		return "pass"
	}
	return "FAIL"
}
