package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/service"
)

// upload decodes an HTTP V2 upload of n events of one device.
func upload(t *testing.T, f *fixture, key, device string, n int) []*touchpoint.IncomingEvent {
	t.Helper()
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"device_id":%q,"event_type":"level_up","insert_id":"%s-%d"}`, device, device, i))
	}
	body := fmt.Sprintf(`{"api_key":%q,"events":[%s]}`, key, strings.Join(evs, ","))
	up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: *f.now.Load(),
		KnownKey: func(k string) (time.Time, bool) {
			p, err := f.svc.ProjectByAPIKey(k)
			return f.svc.ProjectNow(p), err == nil
		}})
	if rej != nil {
		t.Fatalf("upload refused: %+v", rej)
	}
	return up.Events
}

func TestIngest(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	p := &touchpoint.Project{Name: "Game", Limits: touchpoint.IngestLimits{HTTPEPS: 1, BatchEPS: 1000}}
	if err := f.db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.ProjectByAPIKey(p.APIKey)
	if err != nil || got.ID != p.ID {
		t.Fatalf("project of the key: %v, %v", got, err)
	}
	// Over the device's HTTP rate: refused whole, nothing stored.
	thr, err := f.svc.Ingest(ctx, &service.Upload{Project: p, Received: *f.now.Load(), Events: upload(t, f, p.APIKey, "dev-a", 40), Rate: service.HTTPRate})
	if err != nil || thr == nil || thr.Code != 429 {
		t.Fatalf("over the rate: %+v, %v; want a 429", thr, err)
	}
	if _, err := f.db.LookupUser(ctx, p.ID, "", "dev-a"); touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
		t.Fatalf("a refused upload's device is a user: %v", err)
	}
	// Within the project's batch rate: stored before Ingest returns.
	thr, err = f.svc.Ingest(ctx, &service.Upload{Project: p, Received: *f.now.Load(), Events: upload(t, f, p.APIKey, "dev-b", 40), Rate: service.BatchRate})
	if err != nil || thr != nil {
		t.Fatalf("within the rate: %+v, %v", thr, err)
	}
	u, err := f.db.LookupUser(ctx, p.ID, "", "dev-b")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.DeviceIDs) != 1 || u.DeviceIDs[0] != "dev-b" {
		t.Fatalf("user %+v", u)
	}
	// Not rate limited: a large upload of one device is stored.
	thr, err = f.svc.Ingest(ctx, &service.Upload{Project: p, Received: *f.now.Load(), Events: upload(t, f, p.APIKey, "dev-c", 40)})
	if err != nil || thr != nil {
		t.Fatalf("unlimited: %+v, %v", thr, err)
	}
	if _, err := f.db.LookupUser(ctx, p.ID, "", "dev-c"); err != nil {
		t.Fatal(err)
	}
}

func TestCatalogFollowsChanges(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if f.app(t).Partner("othernet_int") != nil {
		t.Fatal("an unconfigured partner is in the catalog")
	}
	if err := f.svc.CreatePartner(ctx, &touchpoint.Partner{AppID: appID, PID: "othernet_int", Restricted: true}); err != nil {
		t.Fatal(err)
	}
	if !f.app(t).Restricted("othernet_int") {
		t.Fatal("a partner created through the service is not in the catalog at once")
	}
	// Postbacks to private hosts are refused unless allowed.
	bad := []touchpoint.PostbackTemplate{{Method: "GET", URL: "http://10.0.0.1/install"}}
	err := f.svc.CreatePartner(ctx, &touchpoint.Partner{AppID: appID, PID: "private_int", Postbacks: touchpoint.Postbacks{Templates: bad}})
	if touchpoint.ErrorCode(err) != touchpoint.EINVALID {
		t.Fatalf("a postback to a private host: %v, want invalid", err)
	}
	if f.app(t).Partner("private_int") != nil {
		t.Fatal("a refused partner is in the catalog")
	}
}
