package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var audienceTests = []subtest{
	{"Audience/Import", func(t *testing.T, s touchpoint.Store, c *Clock) {
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
}
