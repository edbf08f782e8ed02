package web

import (
	"net/http"
	"strings"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
	"github.com/touchpointhq/touchpoint/service"
)

// The links page: a builder of an app's attribution links (the parameters
// package link reads, see linkparams.go) and a tester of signed links
// (service.CheckLink, as POST /api/v1/links/test).

func (h *Handler) registerLinkRoutes(r *routes) {
	r.page("GET /apps/{app}/links", h.handleLinks)
	r.page("POST /apps/{app}/links/test", h.handleLinkTest)
}

// linkParam is a parameter of the builder: its link name, and what the
// form says of it.
type linkParam struct {
	Name, Label, Hint string
}

// linkGroup is a fieldset of the builder.
type linkGroup struct {
	Legend string
	Params []linkParam
}

// linkGroups are the parameters the builder offers, in the order they
// are written into the link.
var linkGroups = []linkGroup{
	{"Campaign", []linkParam{
		{"c", "Campaign", "up to 100 characters"},
		{"af_c_id", "Campaign id", "up to 24 characters"},
		{"af_adset", "Ad set", ""},
		{"af_adset_id", "Ad set id", ""},
		{"af_ad", "Ad", ""},
		{"af_ad_id", "Ad id", ""},
		{"af_ad_type", "Ad type", "text, banner, video…"},
		{"af_channel", "Channel", ""},
		{"af_keywords", "Keywords", ""},
		{"af_siteid", "Site id", "the publisher, up to 24 characters"},
		{"af_sub_siteid", "Sub-site id", "up to 50 characters"},
		{"af_prt", "Agency", ""},
	}},
	{"Click and device", []linkParam{
		{"clickid", "Network click id", "e.g. {click_id}: returned in postbacks as (clickid)"},
		{"advertising_id", "GAID", "e.g. {advertising_id}"},
		{"idfa", "IDFA", "e.g. {idfa}"},
		{"oaid", "OAID", ""},
		{"android_id", "Android id", ""},
		{"af_sub1", "Sub 1", ""},
		{"af_sub2", "Sub 2", ""},
		{"af_sub3", "Sub 3", ""},
		{"af_sub4", "Sub 4", ""},
		{"af_sub5", "Sub 5", ""},
	}},
	{"Cost", []linkParam{
		{"af_cost_model", "Cost model", "CPC, CPI, CPM, CPA, CPE, CPV or Other"},
		{"af_cost_value", "Cost value", "a decimal, at most 4 decimals"},
		{"af_cost_currency", "Cost currency", "ISO-4217; USD when empty"},
	}},
	{"Redirect and deep link", []linkParam{
		{"af_r", "Redirect URL", "an absolute http(s) URL instead of the store"},
		{"af_dp", "Deep link", "e.g. mygame://level/3"},
		{"af_web_dp", "Web fallback", ""},
		{"deep_link_value", "Deep link value", ""},
		{"redirect", "Redirect", "false for server-to-server clicks"},
	}},
	{"Attribution", []linkParam{
		{"af_click_lookback", "Click lookback", "overrides the partner's, 1d to 30d"},
		{"af_viewthrough_lookback", "View-through lookback", "1h to 7d"},
		{"is_retargeting", "Retargeting", "true for a retargeting campaign"},
		{"af_reengagement_window", "Re-engagement window", "retargeting only, e.g. 30d"},
		{"is_incentivized", "Incentivized", "true or false"},
	}},
}

// linkField is a builder field with the value the form sent.
type linkField struct {
	linkParam
	Value string
}

// linkFieldGroup is a fieldset of the builder with its values.
type linkFieldGroup struct {
	Legend string
	Fields []linkField
}

// linksPage is the builder, its link, and the tester.
type linksPage struct {
	Partners []*touchpoint.Partner
	PID      string
	Partner  *touchpoint.Partner // the chosen one, when configured
	Kind     string
	Base     string
	Groups   []linkFieldGroup
	Extra    string
	Link     string // the built link
	// The tester: the link sent, and the verdict in words.
	TestURL     string
	Check       *service.LinkCheck
	Passed      bool
	Verdict     string
	OtherApp    bool
	PartnerPath string
}

// GET /apps/{app}/links?pid=…&kind=…&c=…: the builder fills its form from
// the query, so a built link's page can be bookmarked and shared.
func (h *Handler) handleLinks(w http.ResponseWriter, r *http.Request, v *View) error {
	page, err := h.linksPage(r, v)
	if err != nil {
		return err
	}
	if err := page.build(v.App.ID); err != nil {
		v.Fail(err)
	}
	return v.Render("links", page)
}

func (h *Handler) linksPage(r *http.Request, v *View) (*linksPage, error) {
	v.Title, v.Section = "Links", "links"
	ps, err := h.Store.ListPartners(r.Context(), v.App.ID)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	page := &linksPage{Partners: ps, PID: q.Get("pid"), Kind: q.Get("kind"), Base: q.Get("base"), Extra: q.Get("extra")}
	if page.PID == "" && len(ps) > 0 {
		page.PID = ps[0].PID
	}
	if page.Kind == "" {
		page.Kind = "click"
	}
	if page.Base == "" {
		page.Base = h.baseURL(r)
	}
	for _, p := range ps {
		if p.PID == page.PID {
			page.Partner = p
			page.PartnerPath = partnerPath(v.App.ID, p.PID)
		}
	}
	for _, g := range linkGroups {
		fg := linkFieldGroup{Legend: g.Legend}
		for _, p := range g.Params {
			fg.Fields = append(fg.Fields, linkField{p, q.Get(p.Name)})
		}
		page.Groups = append(page.Groups, fg)
	}
	return page, nil
}

// build writes the link of the form's values with link.Build, which keeps
// a network's {macro} placeholders as they are. Nothing is built without
// a pid (an app with no partner).
func (page *linksPage) build(app string) error {
	if page.PID == "" {
		return nil
	}
	if err := touchpoint.ValidatePID(page.PID); err != nil {
		return err
	}
	kind, err := touchpoint.ParseTouchKind(page.Kind)
	if err != nil {
		return err
	}
	var params []touchpoint.Param
	for _, g := range page.Groups {
		for _, f := range g.Fields {
			if f.Value != "" {
				params = append(params, touchpoint.Param{Key: f.Name, Value: f.Value})
			}
		}
	}
	for _, line := range strings.Split(page.Extra, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return touchpoint.Errorf(touchpoint.EINVALID, "other parameters: %q is not key=value", line)
		}
		params = append(params, touchpoint.Param{Key: k, Value: v})
	}
	page.Link = link.Build(page.Base, kind, app, page.PID, params)
	return nil
}

// POST /apps/{app}/links/test: the verdict on a link's signature.
func (h *Handler) handleLinkTest(w http.ResponseWriter, r *http.Request, v *View) error {
	page, err := h.linksPage(r, v)
	if err != nil {
		return err
	}
	if err := page.build(v.App.ID); err != nil {
		return err
	}
	page.TestURL = strings.TrimSpace(r.PostForm.Get("url"))
	if page.TestURL == "" {
		v.Fail(touchpoint.Errorf(touchpoint.EINVALID, "paste a link to test: …/c/%s?pid=…&expires=…&signature=…", v.App.ID))
		return v.Render("links", page)
	}
	c, err := h.Service().CheckLink(r.Context(), page.TestURL)
	if err != nil {
		v.Fail(err)
		return v.Render("links", page)
	}
	page.Check, page.OtherApp = c, c.App != v.App.ID
	page.Passed, page.Verdict = c.Verdict == touchpoint.VerdictValid, verdictWords(c)
	return v.Render("links", page)
}

// verdictWords says what a link test found, and what to do about it.
func verdictWords(c *service.LinkCheck) string {
	switch c.Verdict {
	case touchpoint.VerdictValid:
		return "Passed: the signature matches an active secret of " + c.PID + ", and the link has not expired."
	case touchpoint.VerdictMissingSignature:
		return "Failed (missing_signature): the link has no signature parameter. " + c.PID + " must sign each link's query with one of its secrets and append &signature=…."
	case touchpoint.VerdictClickExpired:
		return "Failed (click_expired): the link has expired, or carries no expires parameter. A signed link carries expires, a Unix time in the future, inside the signed query."
	case touchpoint.VerdictInvalidSignature:
		return "Failed (invalid_signature): the signature matches none of " + c.PID + "'s active secrets: the link was changed after it was signed, or signed with another secret."
	case touchpoint.VerdictNoActiveSecrets:
		return "Failed (no_active_secrets): " + c.PID + " has no active signing secret on app " + c.App + ": create one on its partner page, then sign the link with it."
	}
	return "Failed (" + c.Verdict.String() + ")."
}
