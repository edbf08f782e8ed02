package service

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
	"github.com/touchpointhq/touchpoint/outbound"
	"github.com/touchpointhq/touchpoint/postback"
)

// CheckTemplates checks postback templates as package postback parses
// them, and their hosts by the outbound rule.
func (s *Service) CheckTemplates(ts []touchpoint.PostbackTemplate) error {
	for i, t := range ts {
		c, err := postback.Parse(postback.Template{Method: t.Method, URL: t.URL, Body: t.Body, ContentType: t.ContentType})
		if err != nil {
			return touchpoint.Errorf(touchpoint.EINVALID, "postbacks[%d]: %s", i, touchpoint.ErrorMessage(err))
		}
		// The host holds no macro (Parse): it is checked as written.
		if err := outbound.CheckHost(c.Host(), s.AllowPrivatePostbackHosts); err != nil {
			return touchpoint.Errorf(touchpoint.EINVALID, "postbacks[%d]: url %q: %v", i, t.URL, err)
		}
	}
	return nil
}

// CheckOutboundURL applies the outbound rule (package outbound; lifted by
// AllowPrivatePostbackHosts) to a URL saved in field. Empty is the field
// left to its default, this server: the one way to name it.
func (s *Service) CheckOutboundURL(field, raw string) error {
	if raw == "" {
		return nil
	}
	if err := outbound.CheckURL(raw, s.AllowPrivatePostbackHosts); err != nil {
		return touchpoint.Errorf(touchpoint.EINVALID, "%s %q: %v", field, raw, err)
	}
	return nil
}

// CreatePartner configures a partner of an app, its postback templates
// checked first.
func (s *Service) CreatePartner(ctx context.Context, p *touchpoint.Partner) error {
	if err := s.CheckTemplates(p.Templates); err != nil {
		return err
	}
	if err := s.Store.CreatePartner(ctx, p); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// UpdatePartner changes a partner, new postback templates checked first.
func (s *Service) UpdatePartner(ctx context.Context, app, pid string, upd touchpoint.PartnerUpdate) (*touchpoint.Partner, error) {
	if upd.Templates != nil {
		if err := s.CheckTemplates(*upd.Templates); err != nil {
			return nil, err
		}
	}
	p, err := s.Store.UpdatePartner(ctx, app, pid, upd)
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return p, nil
}

// DeletePartner removes a partner of an app.
func (s *Service) DeletePartner(ctx context.Context, app, pid string) error {
	if err := s.Store.DeletePartner(ctx, app, pid); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// CreateSecret adds a click-signing secret to a partner, valid for ttl.
func (s *Service) CreateSecret(ctx context.Context, app, pid string, ttl time.Duration) (*touchpoint.SigningSecret, error) {
	sec, err := s.Store.CreateSecret(ctx, app, pid, ttl)
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return sec, nil
}

// SecretStatus is a click-signing secret, without the secret itself, and
// whether it is active.
type SecretStatus struct {
	*touchpoint.SigningSecret
	Active bool `json:"active"`
}

// Secrets lists a partner's click-signing secrets, never the secrets
// themselves, each active or not by the app's clock, as clicks are checked
// (a test-mode app's clock may be days ahead).
func (s *Service) Secrets(ctx context.Context, app, pid string) ([]SecretStatus, error) {
	secrets, err := s.Store.ListSecrets(ctx, app, pid)
	if err != nil {
		return nil, err
	}
	now := s.AppNow(app)
	out := []SecretStatus{}
	for _, sec := range secrets {
		c := *sec
		c.Secret = ""
		out = append(out, SecretStatus{&c, c.Active(now)})
	}
	return out, nil
}

// RevokeSecret revokes a click-signing secret of a partner.
func (s *Service) RevokeSecret(ctx context.Context, app, pid, id string) error {
	if err := s.Store.RevokeSecret(ctx, app, pid, id); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// SigningReport is a partner's checked clicks per hour and verdict from
// from to to.
func (s *Service) SigningReport(ctx context.Context, app, pid string, from, to time.Time) ([]touchpoint.SigningCount, error) {
	if _, err := s.Store.FindPartner(ctx, app, pid); err != nil {
		return nil, err
	}
	return s.Store.SigningReport(ctx, app, pid, from, to)
}

// VerifyLink checks the signature of a link's query against the
// partner's secrets active now by the app's clock (as clicks are
// checked), recording nothing.
func (s *Service) VerifyLink(ctx context.Context, app, pid, rawQuery string) (touchpoint.Verdict, error) {
	secrets, err := s.Store.ListSecrets(ctx, app, pid)
	if err != nil {
		return 0, err
	}
	return link.VerifyQuery(rawQuery, secrets, s.AppNow(app)), nil
}

// LinkCheck is the verdict on a link's signature, and whose link it is.
type LinkCheck struct {
	App, PID string
	Verdict  touchpoint.Verdict
}

// CheckLink checks the signature of a link of this server, a click
// (…/c/{app_id}?pid=…) or an impression (…/v/{app_id}?pid=…), as
// VerifyLink does: its app and partner are read from the link.
func (s *Service) CheckLink(ctx context.Context, rawURL string) (*LinkCheck, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "url: %v", err)
	}
	path := strings.TrimSuffix(u.Path, "/")
	if !strings.HasPrefix(path, "/c/") && !strings.HasPrefix(path, "/v/") {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "url: want a link of this server, /c/{app_id}?pid=… or /v/{app_id}?pid=…")
	}
	c := &LinkCheck{App: path[strings.LastIndex(path, "/")+1:], PID: u.Query().Get("pid")}
	if err := touchpoint.ValidatePID(c.PID); err != nil {
		return nil, err
	}
	if c.Verdict, err = s.VerifyLink(ctx, c.App, c.PID, u.RawQuery); err != nil {
		return nil, err
	}
	return c, nil
}
