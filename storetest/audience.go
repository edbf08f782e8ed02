package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// AudienceStore is what the audience cases need: audiences, and the apps
// that hold them.
type AudienceStore interface {
	touchpoint.AppStore
	touchpoint.AudienceStore
}

// RunAudiences runs the audience cases against stores from open.
func RunAudiences(t *testing.T, open func(t *testing.T, now func() time.Time) AudienceStore) {
	runParts(t, audienceTests, open)
}

var audienceTests = []part[AudienceStore]{
	{"Audience/Import", func(t *testing.T, s AudienceStore, c *Clock) {
		const game, other = "com.example.game", "com.example.other"
		MustCreateApp(t, s, game)
		MustCreateApp(t, s, other)
		a := &touchpoint.Audience{App: game, Name: "Buyers", Platform: touchpoint.Android}
		if err := s.CreateAudience(ctxb(), a); err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.ImportKey == "" || a.Size != 0 || !a.CreatedAt.Equal(Start) || !a.UpdatedAt.Equal(Start) {
			t.Fatalf("created %+v", a)
		}
		if err := s.CreateAudience(ctxb(), &touchpoint.Audience{App: game, Name: "Buyers", Platform: touchpoint.Android}); code(err) != touchpoint.ECONFLICT {
			t.Errorf("the same name again: %v, want ECONFLICT", err)
		}
		b := &touchpoint.Audience{App: other, Name: "Buyers", Platform: touchpoint.Android}
		if err := s.CreateAudience(ctxb(), b); err != nil {
			t.Errorf("the name in another app: %v", err)
		}
		a2 := &touchpoint.Audience{App: game, Name: "Churners", Platform: touchpoint.Android}
		if err := s.CreateAudience(ctxb(), a2); err != nil {
			t.Fatal(err)
		}
		if a2.ImportKey == a.ImportKey || b.ImportKey == a.ImportKey {
			t.Fatalf("import keys repeat: %s %s %s", a.ImportKey, a2.ImportKey, b.ImportKey)
		}
		if got, err := s.FindAudience(ctxb(), a.ID); err != nil || got.ID != a.ID || got.App != game || got.Name != "Buyers" ||
			got.Platform != touchpoint.Android || got.ImportKey != a.ImportKey || got.Size != 0 || !got.CreatedAt.Equal(Start) {
			t.Fatalf("FindAudience = %+v, %v", got, err)
		}
		if got, err := s.FindAudienceByImportKey(ctxb(), a.ImportKey); err != nil || got.ID != a.ID || got.Name != "Buyers" {
			t.Fatalf("FindAudienceByImportKey = %+v, %v", got, err)
		}
		if got, err := s.FindAudienceByImportKey(ctxb(), a2.ImportKey); err != nil || got.ID != a2.ID {
			t.Fatalf("FindAudienceByImportKey(a2) = %+v, %v", got, err)
		}
		if _, err := s.FindAudienceByImportKey(ctxb(), "no-such-key"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindAudienceByImportKey(missing): %v", err)
		}
		if _, err := s.FindAudience(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindAudience(999): %v", err)
		}
		if l, err := s.ListAudiences(ctxb(), game); err != nil || len(l) != 2 || l[0].ID != a.ID || l[1].ID != a2.ID {
			t.Errorf("ListAudiences = %+v, %v", l, err)
		}
		if l, err := s.ListAudiences(ctxb(), "com.example.none"); err != nil || len(l) != 0 {
			t.Errorf("ListAudiences(none) = %+v, %v", l, err)
		}

		mem := func(identifier, value string) touchpoint.AudienceMember {
			return touchpoint.AudienceMember{Identifier: identifier, Value: value, AppID: game}
		}
		size := func(id int64) int64 {
			t.Helper()
			a, err := s.FindAudience(ctxb(), id)
			if err != nil {
				t.Fatalf("FindAudience(%d): %v", id, err)
			}
			return a.Size
		}
		list := func(id int64, identifier string, after touchpoint.AudienceMember, limit int) string {
			t.Helper()
			ms, err := s.AudienceMembers(ctxb(), id, identifier, after, limit)
			if err != nil {
				t.Fatalf("AudienceMembers: %v", err)
			}
			l := []string{}
			for _, m := range ms {
				l = append(l, m.Identifier+"="+m.Value)
			}
			return strings.Join(l, ",")
		}
		c.Add(time.Hour)
		t1 := c.Now()
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, []touchpoint.AudienceMember{
			mem("gaid", "g-2"), mem("gaid", "g-1"), mem("cuid", "user-1"), mem("gaid", "g-3"), mem("amplitude_id", "user-1")}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FindAudience(ctxb(), a.ID); got.Size != 5 || !got.UpdatedAt.Equal(t1) || !got.CreatedAt.Equal(Start) {
			t.Errorf("after the first add %+v", got)
		}
		// Adding again counts each member once; a member keeps when it
		// was first added.
		c.Add(time.Hour)
		t2 := c.Now()
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, []touchpoint.AudienceMember{
			mem("gaid", "g-1"), mem("gaid", "g-4"), mem("gaid", "g-4"), mem("cuid", "user-1")}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FindAudience(ctxb(), a.ID); got.Size != 6 || !got.UpdatedAt.Equal(t2) {
			t.Errorf("after adding again %+v, want size 6", got)
		}
		ms, err := s.AudienceMembers(ctxb(), a.ID, "gaid", touchpoint.AudienceMember{}, 10)
		if err != nil || len(ms) != 4 {
			t.Fatalf("gaid members %+v, %v", ms, err)
		}
		for _, m := range ms {
			want := t1
			if m.Value == "g-4" {
				want = t2
			}
			if !m.AddedAt.Equal(want) || m.AppID != game || m.Identifier != "gaid" {
				t.Errorf("member %+v, want added at %s", m, want)
			}
		}
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 100); got != "amplitude_id=user-1,cuid=user-1,gaid=g-1,gaid=g-2,gaid=g-3,gaid=g-4" {
			t.Errorf("members %s", got)
		}
		// Pages, by identifier and value after the cursor.
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 2); got != "amplitude_id=user-1,cuid=user-1" {
			t.Errorf("first page %s", got)
		}
		if got := list(a.ID, "", mem("cuid", "user-1"), 2); got != "gaid=g-1,gaid=g-2" {
			t.Errorf("second page %s", got)
		}
		if got := list(a.ID, "", mem("gaid", "g-2"), 2); got != "gaid=g-3,gaid=g-4" {
			t.Errorf("third page %s", got)
		}
		if got := list(a.ID, "", mem("gaid", "g-4"), 2); got != "" {
			t.Errorf("past the end %s", got)
		}
		if got := list(a.ID, "gaid", touchpoint.AudienceMember{}, 3); got != "gaid=g-1,gaid=g-2,gaid=g-3" {
			t.Errorf("gaid page %s", got)
		}
		if got := list(a.ID, "gaid", mem("gaid", "g-3"), 3); got != "gaid=g-4" {
			t.Errorf("next gaid page %s", got)
		}
		if got := list(a.ID, "cuid", touchpoint.AudienceMember{}, 10); got != "cuid=user-1" {
			t.Errorf("cuid page %s", got)
		}
		if got := list(a.ID, "idfa", touchpoint.AudienceMember{}, 10); got != "" {
			t.Errorf("idfa page %s", got)
		}
		if got := list(a2.ID, "", touchpoint.AudienceMember{}, 10); got != "" || size(a2.ID) != 0 {
			t.Errorf("another audience has %s", got)
		}
		// Remove: members not held are no change.
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceRemove, []touchpoint.AudienceMember{
			mem("gaid", "g-2"), mem("gaid", "g-9"), mem("idfa", "g-1"), mem("amplitude_id", "user-1")}); err != nil {
			t.Fatal(err)
		}
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 100); got != "cuid=user-1,gaid=g-1,gaid=g-3,gaid=g-4" || size(a.ID) != 4 {
			t.Errorf("after remove: %s, size %d", got, size(a.ID))
		}
		// Overwrite replaces every member.
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceOverwrite, []touchpoint.AudienceMember{
			mem("gaid", "g-3"), mem("oaid", "o-1"), mem("oaid", "o-1")}); err != nil {
			t.Fatal(err)
		}
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 100); got != "gaid=g-3,oaid=o-1" || size(a.ID) != 2 {
			t.Errorf("after overwrite: %s, size %d", got, size(a.ID))
		}
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceOverwrite, nil); err != nil {
			t.Fatal(err)
		}
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 100); got != "" || size(a.ID) != 0 {
			t.Errorf("after an empty overwrite: %s, size %d", got, size(a.ID))
		}
		if err := s.ImportAudience(ctxb(), 999, touchpoint.AudienceAdd, []touchpoint.AudienceMember{mem("gaid", "g-1")}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("ImportAudience(999): %v", err)
		}
		if _, err := s.AudienceMembers(ctxb(), 999, "", touchpoint.AudienceMember{}, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("AudienceMembers(999): %v", err)
		}
	}},
	{"Audience/FindMember", func(t *testing.T, s AudienceStore, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		a := mustCreateAudience(t, s, game, "Buyers")
		b := mustCreateAudience(t, s, game, "Churners")
		c.Add(time.Hour)
		t1 := c.Now()
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, []touchpoint.AudienceMember{
			{Identifier: "gaid", Value: "g-1", AppID: game}, {Identifier: "cuid", Value: "user-1", AppID: game}}); err != nil {
			t.Fatal(err)
		}
		// The first add of a member stays: when, and from which app.
		c.Add(time.Hour)
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, []touchpoint.AudienceMember{
			{Identifier: "gaid", Value: "g-1", AppID: "com.example.other"}}); err != nil {
			t.Fatal(err)
		}
		m, err := s.FindAudienceMember(ctxb(), a.ID, "gaid", "g-1")
		if err != nil || m.Identifier != "gaid" || m.Value != "g-1" || m.AppID != game || !m.AddedAt.Equal(t1) {
			t.Fatalf("FindAudienceMember = %+v, %v; want gaid g-1 of %s added at %s", m, err, game, t1)
		}
		for _, miss := range []struct {
			id                int64
			identifier, value string
		}{{b.ID, "gaid", "g-1"}, {a.ID, "idfa", "g-1"}, {a.ID, "gaid", "G-1"}, {a.ID, "gaid", "g-2"}, {999, "gaid", "g-1"}} {
			if m, err := s.FindAudienceMember(ctxb(), miss.id, miss.identifier, miss.value); code(err) != touchpoint.ENOTFOUND {
				t.Errorf("FindAudienceMember(%d, %s, %s) = %+v, %v; want ENOTFOUND", miss.id, miss.identifier, miss.value, m, err)
			}
		}
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceRemove, []touchpoint.AudienceMember{{Identifier: "gaid", Value: "g-1"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindAudienceMember(ctxb(), a.ID, "gaid", "g-1"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("a removed member: %v, want ENOTFOUND", err)
		}
		if m, err := s.FindAudienceMember(ctxb(), a.ID, "cuid", "user-1"); err != nil || m.AppID != game {
			t.Errorf("the member kept: %+v, %v", m, err)
		}
	}},
	{"Audience/ByteOrder", func(t *testing.T, s AudienceStore, c *Clock) {
		// Members are ordered byte by byte, whatever the store's
		// collation: capitals before small letters, accents last.
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		a := mustCreateAudience(t, s, game, "Buyers")
		var in []touchpoint.AudienceMember
		for _, m := range []string{"gaid=b", "gaid=B", "gaid=a", "gaid=é", "gaid=A", "gaid=_", "cuid=Z", "braze_id=x", "cuid=a b", "cuid=a-b"} {
			i, v, _ := strings.Cut(m, "=")
			in = append(in, touchpoint.AudienceMember{Identifier: i, Value: v, AppID: game})
		}
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, in); err != nil {
			t.Fatal(err)
		}
		if got := memberList(allMembers(t, s, a.ID, "", 3)); got != "braze_id=x,cuid=Z,cuid=a b,cuid=a-b,gaid=A,gaid=B,gaid=_,gaid=a,gaid=b,gaid=é" {
			t.Errorf("members %s", got)
		}
		ms, err := s.AudienceMembers(ctxb(), a.ID, "gaid", touchpoint.AudienceMember{Identifier: "gaid", Value: "B"}, 2)
		if err != nil || memberList(ms) != "gaid=_,gaid=a" {
			t.Errorf("the page after gaid=B: %s, %v", memberList(ms), err)
		}
	}},
	{"Audience/LargeImports", func(t *testing.T, s AudienceStore, c *Clock) {
		// A sync sends batches of touchpoint.MaxAudienceDevices rows;
		// imports larger than that, with a member repeated far apart,
		// count each member once.
		const game, n = "com.example.game", 2*touchpoint.MaxAudienceDevices + 5000
		MustCreateApp(t, s, game)
		a := mustCreateAudience(t, s, game, "Buyers")
		gaid := func(i int) touchpoint.AudienceMember {
			return touchpoint.AudienceMember{Identifier: "gaid", Value: fmt.Sprintf("g-%06d", i), AppID: game}
		}
		var in []touchpoint.AudienceMember
		for i := range n {
			in = append(in, gaid(i))
		}
		in = append(in, gaid(0), gaid(n-1))
		c.Add(time.Hour)
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, in); err != nil {
			t.Fatal(err)
		}
		if got := audienceSize(t, s, a.ID); got != n {
			t.Fatalf("size %d, want %d", got, n)
		}
		all := allMembers(t, s, a.ID, "", 1000)
		if len(all) != n || all[0].Value != "g-000000" || all[n-1].Value != fmt.Sprintf("g-%06d", n-1) {
			t.Fatalf("%d members listed, want %d", len(all), n)
		}
		for i, m := range all {
			if m.Value != fmt.Sprintf("g-%06d", i) || !m.AddedAt.Equal(c.Now()) {
				t.Fatalf("member %d is %+v", i, m)
			}
		}
		// The same import again changes no member.
		c.Add(time.Hour)
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, in); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FindAudience(ctxb(), a.ID); err != nil || got.Size != n || !got.UpdatedAt.Equal(c.Now()) {
			t.Fatalf("after the same import again: %+v, %v", got, err)
		}
		// Remove the even members, with some the audience does not hold,
		// twice: the second changes nothing.
		var evens []touchpoint.AudienceMember
		for i := 0; i < n+100; i += 2 {
			evens = append(evens, gaid(i))
		}
		for range 2 {
			if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceRemove, evens); err != nil {
				t.Fatal(err)
			}
			if got := audienceSize(t, s, a.ID); got != n/2 {
				t.Fatalf("size after removing the evens %d, want %d", got, n/2)
			}
		}
		if _, err := s.FindAudienceMember(ctxb(), a.ID, "gaid", gaid(n-2).Value); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("an even member after its removal: %v", err)
		}
		if _, err := s.FindAudienceMember(ctxb(), a.ID, "gaid", gaid(n-1).Value); err != nil {
			t.Errorf("an odd member after the evens' removal: %v", err)
		}
		if got := len(allMembers(t, s, a.ID, "gaid", 5000)); got != n/2 {
			t.Errorf("%d members listed after the removal, want %d", got, n/2)
		}
		// Overwrite with more than a batch of another identifier.
		var oaids []touchpoint.AudienceMember
		for i := range touchpoint.MaxAudienceDevices + 1 {
			oaids = append(oaids, touchpoint.AudienceMember{Identifier: "oaid", Value: fmt.Sprintf("o-%06d", i), AppID: game})
		}
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceOverwrite, oaids); err != nil {
			t.Fatal(err)
		}
		if got := audienceSize(t, s, a.ID); got != int64(len(oaids)) {
			t.Errorf("size after the overwrite %d, want %d", got, len(oaids))
		}
		if got := allMembers(t, s, a.ID, "", 4000); len(got) != len(oaids) || got[0].Identifier != "oaid" {
			t.Errorf("%d members after the overwrite, want %d oaids", len(got), len(oaids))
		}
	}},
	{"Audience/BadAction", func(t *testing.T, s AudienceStore, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		a := mustCreateAudience(t, s, game, "Buyers")
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, []touchpoint.AudienceMember{{Identifier: "gaid", Value: "g-1", AppID: game}}); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Hour)
		for _, action := range []string{"", "replace", "Add", "overwrite "} {
			err := s.ImportAudience(ctxb(), a.ID, action, []touchpoint.AudienceMember{{Identifier: "gaid", Value: "g-2", AppID: game}})
			if code(err) != touchpoint.EINVALID {
				t.Errorf("action %q: %v, want EINVALID", action, err)
			}
		}
		got, err := s.FindAudience(ctxb(), a.ID)
		if err != nil || got.Size != 1 || !got.UpdatedAt.Equal(Start) {
			t.Errorf("after refused imports %+v, %v; want size 1, updated at %s", got, err, Start)
		}
		if got := memberList(allMembers(t, s, a.ID, "", 10)); got != "gaid=g-1" {
			t.Errorf("members after refused imports: %s", got)
		}
	}},
	{"Audience/ConcurrentImports", func(t *testing.T, s AudienceStore, c *Clock) {
		// Imports into one audience at once, overlapping: its size counts
		// each member once.
		const game, writers, each = "com.example.game", 4, 2000
		MustCreateApp(t, s, game)
		a := mustCreateAudience(t, s, game, "Buyers")
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var in []touchpoint.AudienceMember
				for i := range each {
					in = append(in, touchpoint.AudienceMember{Identifier: "gaid", Value: fmt.Sprintf("g-%06d", w*each/2+i), AppID: game})
				}
				if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, in); err != nil {
					t.Errorf("writer %d: %v", w, err)
				}
			}()
		}
		wg.Wait()
		const want = (writers + 1) * each / 2
		if got := audienceSize(t, s, a.ID); got != want {
			t.Errorf("size %d, want %d", got, want)
		}
		if got := len(allMembers(t, s, a.ID, "", 1000)); got != want {
			t.Errorf("%d members, want %d", got, want)
		}
		// Overwrites at once: one of them is what the audience holds at
		// the end, and its size says so.
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var in []touchpoint.AudienceMember
				for i := range each {
					in = append(in, touchpoint.AudienceMember{Identifier: "oaid", Value: fmt.Sprintf("o-%d-%06d", w, i), AppID: game})
				}
				if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceOverwrite, in); err != nil {
					t.Errorf("overwriter %d: %v", w, err)
				}
			}()
		}
		wg.Wait()
		all := allMembers(t, s, a.ID, "", 1000)
		if size := audienceSize(t, s, a.ID); len(all) != each || size != each {
			t.Fatalf("after overwrites at once: %d members, size %d; want one overwrite's %d", len(all), size, each)
		}
		for _, m := range all {
			if m.Value[:4] != all[0].Value[:4] {
				t.Fatalf("after overwrites at once, members of two: %s and %s", all[0].Value, m.Value)
			}
		}
	}},
}

func mustCreateAudience(t *testing.T, s touchpoint.AudienceStore, app, name string) *touchpoint.Audience {
	t.Helper()
	a := &touchpoint.Audience{App: app, Name: name, Platform: touchpoint.Android}
	if err := s.CreateAudience(ctxb(), a); err != nil {
		t.Fatalf("CreateAudience(%s, %s): %v", app, name, err)
	}
	return a
}

func audienceSize(t *testing.T, s touchpoint.AudienceStore, id int64) int64 {
	t.Helper()
	a, err := s.FindAudience(ctxb(), id)
	if err != nil {
		t.Fatalf("FindAudience(%d): %v", id, err)
	}
	return a.Size
}

// allMembers reads an audience's members page by page.
func allMembers(t *testing.T, s touchpoint.AudienceStore, id int64, identifier string, limit int) []touchpoint.AudienceMember {
	t.Helper()
	var all []touchpoint.AudienceMember
	after := touchpoint.AudienceMember{}
	for {
		ms, err := s.AudienceMembers(ctxb(), id, identifier, after, limit)
		if err != nil {
			t.Fatalf("AudienceMembers: %v", err)
		}
		if len(ms) > limit {
			t.Fatalf("AudienceMembers returned %d members, limit %d", len(ms), limit)
		}
		all = append(all, ms...)
		if len(ms) < limit {
			return all
		}
		after = ms[len(ms)-1]
	}
}

func memberList(ms []touchpoint.AudienceMember) string {
	l := []string{}
	for _, m := range ms {
		l = append(l, m.Identifier+"="+m.Value)
	}
	return strings.Join(l, ",")
}
