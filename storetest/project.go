package storetest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// ProjectStore is what the project cases need: projects, and apps for
// them to link.
type ProjectStore interface {
	touchpoint.AppStore
	touchpoint.ProjectStore
}

// RunProjects runs the project cases against stores from open.
func RunProjects(t *testing.T, open func(t *testing.T, now func() time.Time) ProjectStore) {
	runParts(t, projectTests, open)
}

var projectTests = []part[ProjectStore]{
	{"Project/CreateFindUpdate", func(t *testing.T, s ProjectStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		p := &touchpoint.Project{Name: "Game", Apps: []string{"com.example.game"},
			Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctxb(), p); err != nil {
			t.Fatal(err)
		}
		hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
		if p.ID == 0 || !hex32.MatchString(p.APIKey) || !hex32.MatchString(p.SecretKey) || p.APIKey == p.SecretKey ||
			!p.APIKeyHash.Matches(p.APIKey) || !p.SecretKeyHash.Matches(p.SecretKey) || p.APIKeyLast4 != p.APIKey[28:] || p.SecretKeyLast4 != p.SecretKey[28:] {
			t.Fatalf("project %+v", p)
		}
		got, err := s.FindProject(ctxb(), p.ID)
		if err != nil || got.Name != "Game" || props(got.Apps) != `["com.example.game"]` || got.Stats == nil {
			t.Fatalf("FindProject = %+v, %v", got, err)
		}
		// Only the hashes and last four characters are kept.
		if got.APIKey != "" || got.SecretKey != "" || got.APIKeyHash != p.APIKeyHash || got.SecretKeyHash != p.SecretKeyHash ||
			got.APIKeyLast4 != p.APIKeyLast4 || got.SecretKeyLast4 != p.SecretKeyLast4 {
			t.Fatalf("FindProject's keys = %+v, want only the hashes and hints of %+v", got, p)
		}
		if k, err := s.ProjectByAPIKey(p.APIKey); err != nil || k.ID != p.ID || k.APIKey != "" || k.SecretKey != "" {
			t.Fatalf("ProjectByAPIKey = %+v, %v", k, err)
		}
		if _, err := s.ProjectByAPIKey(p.SecretKey); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("the secret key found a project: %v", err)
		}
		if _, err := s.ProjectByAPIKey("nope"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("unknown key: %v", err)
		}
		name, apps := "Game 2", []string{}
		upd := touchpoint.ProjectUpdate{Name: &name, Apps: &apps}
		upd.Limits.HTTPEPS = ptr(5)
		up, err := s.UpdateProject(ctxb(), p.ID, upd)
		if err != nil || up.Name != name || len(up.Apps) != 0 || up.Limits.HTTPEPS != 5 || up.Limits.BatchEPS != 1000 {
			t.Fatalf("UpdateProject = %+v, %v", up, err)
		}
		if k, _ := s.ProjectByAPIKey(p.APIKey); k.Limits.HTTPEPS != 5 {
			t.Fatalf("the key's project still has limits %+v", k.Limits)
		}
		if l, err := s.ListProjects(ctxb()); err != nil || len(l) != 1 {
			t.Fatalf("ListProjects = %v, %v", l, err)
		}
		// Bad changes change nothing.
		bad := []string{"com.example.missing"}
		if _, err := s.UpdateProject(ctxb(), p.ID, touchpoint.ProjectUpdate{Apps: &bad}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("linking a missing app: %v", err)
		}
		zero := touchpoint.ProjectUpdate{}
		zero.Limits.BatchEPS = ptr(0)
		if _, err := s.UpdateProject(ctxb(), p.ID, zero); code(err) != touchpoint.EINVALID {
			t.Fatalf("zero limits: %v", err)
		}
		if err := s.CreateProject(ctxb(), &touchpoint.Project{Name: "", Limits: touchpoint.IngestLimits{HTTPEPS: 1, BatchEPS: 1}}); code(err) != touchpoint.EINVALID {
			t.Fatalf("nameless project: %v", err)
		}
		if got, _ := s.FindProject(ctxb(), p.ID); got.Name != name || got.Limits.HTTPEPS != 5 {
			t.Fatalf("after refused updates %+v", got)
		}
		if _, err := s.FindProject(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindProject(999): %v", err)
		}
	}},
	{"Project/RotateKey", func(t *testing.T, s ProjectStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		other := MustCreateProject(t, s, "Other")
		c.Add(time.Hour)
		got, err := s.RotateProjectKey(ctxb(), p.ID, touchpoint.APIKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.APIKey) != 32 || got.APIKey == p.APIKey || got.SecretKey != "" || !got.APIKeyHash.Matches(got.APIKey) ||
			got.APIKeyLast4 != got.APIKey[28:] || !got.UpdatedAt.Equal(c.Now()) {
			t.Fatalf("RotateProjectKey(api_key) = %+v: want a new key, only it shown, updated now", got)
		}
		// The old key finds nothing at once; the new one finds the project.
		if _, err := s.ProjectByAPIKey(p.APIKey); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("the rotated-out key still finds a project: %v", err)
		}
		if k, err := s.ProjectByAPIKey(got.APIKey); err != nil || k.ID != p.ID {
			t.Fatalf("ProjectByAPIKey(new key) = %+v, %v", k, err)
		}
		if k, err := s.ProjectByAPIKey(other.APIKey); err != nil || k.ID != other.ID {
			t.Fatalf("another project's key: %+v, %v", k, err)
		}
		sec, err := s.RotateProjectKey(ctxb(), p.ID, touchpoint.SecretKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(sec.SecretKey) != 32 || sec.SecretKey == p.SecretKey || sec.APIKey != "" || !sec.SecretKeyHash.Matches(sec.SecretKey) {
			t.Fatalf("RotateProjectKey(secret_key) = %+v", sec)
		}
		found, err := s.FindProject(ctxb(), p.ID)
		if err != nil || !found.APIKeyHash.Matches(got.APIKey) || !found.SecretKeyHash.Matches(sec.SecretKey) ||
			found.SecretKeyHash.Matches(p.SecretKey) || found.SecretKeyLast4 != sec.SecretKey[28:] || found.APIKey != "" || found.SecretKey != "" {
			t.Fatalf("FindProject after rotations = %+v, %v", found, err)
		}
		if k, err := s.ProjectByAPIKey(got.APIKey); err != nil || k.ID != p.ID {
			t.Fatalf("rotating the secret key lost the API key: %+v, %v", k, err)
		}
		for _, kind := range []touchpoint.KeyKind{"", "dev_key", "api_token", "API_KEY"} {
			if _, err := s.RotateProjectKey(ctxb(), p.ID, kind); code(err) != touchpoint.EINVALID {
				t.Errorf("RotateProjectKey(%q): err = %v, want invalid", kind, err)
			}
		}
		if again, _ := s.FindProject(ctxb(), p.ID); again.APIKeyHash != found.APIKeyHash || again.SecretKeyHash != found.SecretKeyHash {
			t.Fatalf("a refused rotation changed the project's keys")
		}
		if _, err := s.RotateProjectKey(ctxb(), 999, touchpoint.APIKey); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("RotateProjectKey(999): err = %v, want not found", err)
		}
	}},
	{"Project/TestClock", func(t *testing.T, s ProjectStore, c *Clock) {
		ctx := ctxb()
		start := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
		p := &touchpoint.Project{Name: "Rehearsal", TestMode: true, TestClock: &start,
			Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		if got := p.Now(c.Now); !got.Equal(start) {
			t.Fatalf("a new test project's time is %v, want %v", got, start)
		}
		found, err := s.FindProject(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !found.TestMode || found.TestClock == nil || !found.TestClock.Equal(start) {
			t.Fatalf("found test mode %v, clock %v; want %v", found.TestMode, found.TestClock, start)
		}
		// The clock stands still while the server's moves.
		c.Add(time.Hour)
		byKey, err := s.ProjectByAPIKey(p.APIKey)
		if err != nil {
			t.Fatal(err)
		}
		if got := byKey.Now(c.Now); !got.Equal(start) {
			t.Errorf("after an hour of the server's clock the project's reads %v, want %v", got, start)
		}
		later := start.Add(73 * time.Hour)
		moved, err := s.SetProjectTestClock(ctx, p.ID, later)
		if err != nil {
			t.Fatal(err)
		}
		if !moved.TestClock.Equal(later) {
			t.Errorf("moved clock %v, want %v", moved.TestClock, later)
		}
		if byKey, _ = s.ProjectByAPIKey(p.APIKey); !byKey.Now(c.Now).Equal(later) {
			t.Errorf("ProjectByAPIKey after the move reads %v, want %v", byKey.Now(c.Now), later)
		}
		// Backwards, too far, and on a production project: refused, and
		// nothing changes.
		for _, to := range []time.Time{start, later.Add(touchpoint.MaxTestClockStep + time.Hour)} {
			if _, err := s.SetProjectTestClock(ctx, p.ID, to); code(err) != touchpoint.EINVALID {
				t.Errorf("SetProjectTestClock(%v): %v, want EINVALID", to, err)
			}
		}
		if found, _ = s.FindProject(ctx, p.ID); !found.TestClock.Equal(later) {
			t.Errorf("after refused moves the clock reads %v, want %v", found.TestClock, later)
		}
		prod := &touchpoint.Project{Name: "Production", Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctx, prod); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetProjectTestClock(ctx, prod.ID, later); code(err) != touchpoint.EINVALID {
			t.Errorf("moving a production project's clock: %v, want EINVALID", err)
		}
		if got := prod.Now(c.Now); !got.Equal(c.Now()) {
			t.Errorf("a production project's time is %v, want the server's %v", got, c.Now())
		}
		if _, err := s.SetProjectTestClock(ctx, 999999, later); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("moving an unknown project's clock: %v, want ENOTFOUND", err)
		}
	}},
	{"Project/TestClockDefaultsToNow", func(t *testing.T, s ProjectStore, c *Clock) {
		p := &touchpoint.Project{Name: "Rehearsal", TestMode: true, Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctxb(), p); err != nil {
			t.Fatal(err)
		}
		if p.TestClock == nil || !p.TestClock.Equal(c.Now()) {
			t.Errorf("test clock %v, want the server's now %v", p.TestClock, c.Now())
		}
		bad := &touchpoint.Project{Name: "Bad", TestClock: p.TestClock, Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctxb(), bad); code(err) != touchpoint.EINVALID {
			t.Errorf("a test clock without test mode: %v, want EINVALID", err)
		}
	}},
	{"Project/Defaults", func(t *testing.T, s ProjectStore, c *Clock) {
		p := touchpoint.ProjectCreate{Name: "Game"}.Project()
		if err := s.CreateProject(ctxb(), p); err != nil {
			t.Fatal(err)
		}
		want := touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}
		for what, got := range map[string]*touchpoint.Project{"created": p, "found": mustFindProject(t, s, p.ID)} {
			if got.Limits != want || got.TimeZone != "UTC" || got.Location() != time.UTC || props(got.Apps) != `[]` ||
				got.Stats == nil || got.Stats.AttributionsDropped != 0 || got.TestMode || got.TestClock != nil ||
				!got.CreatedAt.Equal(Start) || !got.UpdatedAt.Equal(Start) {
				t.Errorf("%s project %+v: want default limits, UTC, no apps, zero stats, production, made at %v", what, got, Start)
			}
		}
		if got := p.Now(c.Now); !got.Equal(Start) {
			t.Errorf("a production project's time is %v, want the server's %v", got, Start)
		}
	}},
	{"Project/Refused", func(t *testing.T, s ProjectStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		limits := touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}
		for name, p := range map[string]touchpoint.Project{
			"201 characters": {Name: strings.Repeat("é", 201), Limits: limits},
			"zero http_eps":  {Name: "G", Limits: touchpoint.IngestLimits{HTTPEPS: 0, BatchEPS: 1000}},
			"huge batch_eps": {Name: "G", Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: touchpoint.MaxEPS + 1}},
			"bad time zone":  {Name: "G", Limits: limits, TimeZone: "Mars/Olympus"},
			"Local zone":     {Name: "G", Limits: limits, TimeZone: "Local"},
			"app twice":      {Name: "G", Limits: limits, Apps: []string{"com.example.game", "com.example.game"}},
			"clock in 1900": {Name: "G", Limits: limits, TestMode: true,
				TestClock: ptr(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))},
		} {
			if err := s.CreateProject(ctxb(), &p); code(err) != touchpoint.EINVALID {
				t.Errorf("%s: err = %v, want EINVALID", name, err)
			}
		}
		missing := &touchpoint.Project{Name: "G", Limits: limits, Apps: []string{"com.example.game", "com.example.missing"}}
		if err := s.CreateProject(ctxb(), missing); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("linking a missing app: err = %v, want ENOTFOUND", err)
		}
		if l, err := s.ListProjects(ctxb()); err != nil || len(l) != 0 {
			t.Fatalf("after refused creations ListProjects = %v, %v; want none", l, err)
		}
		if _, err := s.ProjectByAPIKey(missing.APIKey); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("the key of a project refused for its apps finds one: %v", err)
		}
		long := &touchpoint.Project{Name: strings.Repeat("é", 200), Limits: touchpoint.IngestLimits{HTTPEPS: 1, BatchEPS: touchpoint.MaxEPS}}
		if err := s.CreateProject(ctxb(), long); err != nil {
			t.Fatalf("a 200-character name and the limits' bounds: %v", err)
		}
		if got := mustFindProject(t, s, long.ID); got.Name != long.Name || got.Limits != long.Limits {
			t.Errorf("found %q %+v, want %q %+v", got.Name, got.Limits, long.Name, long.Limits)
		}
	}},
	{"Project/ListAndApps", func(t *testing.T, s ProjectStore, c *Clock) {
		if l, err := s.ListProjects(ctxb()); err != nil || len(l) != 0 {
			t.Fatalf("ListProjects of an empty store = %v, %v", l, err)
		}
		for _, id := range []string{"com.example.b", "com.example.a", "com.example.C"} {
			MustCreateApp(t, s, id)
		}
		first := &touchpoint.Project{Name: "First", Apps: []string{"com.example.b", "com.example.a", "com.example.C"},
			Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctxb(), first); err != nil {
			t.Fatal(err)
		}
		second := MustCreateProject(t, s, "Second")
		// Two projects may link one app.
		shared := []string{"com.example.a"}
		if _, err := s.UpdateProject(ctxb(), second.ID, touchpoint.ProjectUpdate{Apps: &shared}); err != nil {
			t.Fatal(err)
		}
		l, err := s.ListProjects(ctxb())
		if err != nil || len(l) != 2 {
			t.Fatalf("ListProjects = %v, %v; want 2", l, err)
		}
		if l[0].ID != first.ID || l[1].ID != second.ID || l[0].ID >= l[1].ID {
			t.Fatalf("ListProjects ids %d, %d; want %d, %d in order", l[0].ID, l[1].ID, first.ID, second.ID)
		}
		// Apps by id, in byte order.
		if props(l[0].Apps) != `["com.example.C","com.example.a","com.example.b"]` || props(l[1].Apps) != `["com.example.a"]` {
			t.Errorf("listed apps %v and %v", l[0].Apps, l[1].Apps)
		}
		for _, p := range l {
			if p.Stats == nil || p.APIKey != "" || p.SecretKey != "" || p.APIKeyHash.IsZero() || p.SecretKeyHash.IsZero() {
				t.Errorf("listed project %+v: want stats, and only the keys' hashes", p)
			}
		}
		if !l[0].APIKeyHash.Matches(first.APIKey) || !l[1].APIKeyHash.Matches(second.APIKey) || l[0].Name != "First" {
			t.Errorf("listed projects do not match the ones created: %+v", l)
		}
		// A change that names no apps keeps them; its time is the update's.
		c.Add(time.Minute)
		up, err := s.UpdateProject(ctxb(), first.ID, touchpoint.ProjectUpdate{Name: ptr("First, renamed")})
		if err != nil {
			t.Fatal(err)
		}
		found := mustFindProject(t, s, first.ID)
		if props(found.Apps) != `["com.example.C","com.example.a","com.example.b"]` || found.Name != "First, renamed" ||
			!found.UpdatedAt.Equal(c.Now()) || !found.CreatedAt.Equal(Start) || !up.UpdatedAt.Equal(c.Now()) {
			t.Errorf("after renaming: %+v", found)
		}
		// A refused link changes no link.
		bad := []string{"com.example.a", "com.example.missing"}
		if _, err := s.UpdateProject(ctxb(), first.ID, touchpoint.ProjectUpdate{Apps: &bad}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("linking a missing app: %v", err)
		}
		if found = mustFindProject(t, s, first.ID); props(found.Apps) != `["com.example.C","com.example.a","com.example.b"]` {
			t.Errorf("after a refused link the apps are %v", found.Apps)
		}
		none := []string{}
		if _, err := s.UpdateProject(ctxb(), first.ID, touchpoint.ProjectUpdate{Apps: &none}); err != nil {
			t.Fatal(err)
		}
		if found = mustFindProject(t, s, first.ID); props(found.Apps) != `[]` {
			t.Errorf("after unlinking every app: %v", found.Apps)
		}
		if found = mustFindProject(t, s, second.ID); props(found.Apps) != `["com.example.a"]` {
			t.Errorf("the other project's apps changed: %v", found.Apps)
		}
		if _, err := s.UpdateProject(ctxb(), 999, touchpoint.ProjectUpdate{Name: ptr("x")}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("UpdateProject(999): %v, want ENOTFOUND", err)
		}
	}},
	{"Project/TimeZone", func(t *testing.T, s ProjectStore, c *Clock) {
		p := touchpoint.ProjectCreate{Name: "Game", TimeZone: "America/Santiago"}.Project()
		if err := s.CreateProject(ctxb(), p); err != nil {
			t.Fatal(err)
		}
		if found := mustFindProject(t, s, p.ID); found.TimeZone != "America/Santiago" || found.Location().String() != "America/Santiago" {
			t.Fatalf("found time zone %q", found.TimeZone)
		}
		got, err := s.UpdateProject(ctxb(), p.ID, touchpoint.ProjectUpdate{TimeZone: ptr("Europe/Berlin")})
		if err != nil || got.TimeZone != "Europe/Berlin" {
			t.Fatalf("UpdateProject(time zone) = %+v, %v", got, err)
		}
		if k, err := s.ProjectByAPIKey(p.APIKey); err != nil || k.TimeZone != "Europe/Berlin" {
			t.Fatalf("ProjectByAPIKey after the change = %+v, %v", k, err)
		}
		for _, tz := range []string{"Europe/Nowhere", "Local"} {
			if _, err := s.UpdateProject(ctxb(), p.ID, touchpoint.ProjectUpdate{TimeZone: ptr(tz), Name: ptr("Changed")}); code(err) != touchpoint.EINVALID {
				t.Errorf("time zone %q: %v, want EINVALID", tz, err)
			}
		}
		if found := mustFindProject(t, s, p.ID); found.TimeZone != "Europe/Berlin" || found.Name != "Game" {
			t.Fatalf("after refused changes: time zone %q, name %q", found.TimeZone, found.Name)
		}
		if got, err := s.UpdateProject(ctxb(), p.ID, touchpoint.ProjectUpdate{TimeZone: ptr("")}); err != nil || got.TimeZone != "UTC" {
			t.Fatalf("an empty time zone: %+v, %v; want UTC", got, err)
		}
		if found := mustFindProject(t, s, p.ID); found.TimeZone != "UTC" || found.Location() != time.UTC {
			t.Fatalf("found time zone %q, want UTC", found.TimeZone)
		}
	}},
}

func mustFindProject(tb testing.TB, s touchpoint.ProjectStore, id int64) *touchpoint.Project {
	tb.Helper()
	p, err := s.FindProject(ctxb(), id)
	if err != nil {
		tb.Fatalf("FindProject(%d): %v", id, err)
	}
	return p
}
