package touchpoint

// LinkParams are the known parameters of an attribution link (AppsFlyer's
// attribution-link documentation), each in a typed field. The JSON names
// are the link parameter names.
// Device ids, af_ip, af_ua, af_lang and pid live on the Touch itself.
type LinkParams struct {
	Campaign      string `json:"c,omitempty"`
	CampaignID    string `json:"af_c_id,omitempty"`
	Prt           string `json:"af_prt,omitempty"`
	ClickID       string `json:"clickid,omitempty"`
	SiteID        string `json:"af_siteid,omitempty"`
	SubSiteID     string `json:"af_sub_siteid,omitempty"`
	Adset         string `json:"af_adset,omitempty"`
	AdsetID       string `json:"af_adset_id,omitempty"`
	Ad            string `json:"af_ad,omitempty"`
	AdID          string `json:"af_ad_id,omitempty"`
	AdType        string `json:"af_ad_type,omitempty"`
	Channel       string `json:"af_channel,omitempty"`
	Keywords      string `json:"af_keywords,omitempty"`
	Sub1          string `json:"af_sub1,omitempty"`
	Sub2          string `json:"af_sub2,omitempty"`
	Sub3          string `json:"af_sub3,omitempty"`
	Sub4          string `json:"af_sub4,omitempty"`
	Sub5          string `json:"af_sub5,omitempty"`
	CostModel     string `json:"af_cost_model,omitempty"`    // CPC, CPI, CPM, CPA, CPE, Other
	CostValue     string `json:"af_cost_value,omitempty"`    // decimal, at most 4 decimals
	CostCurrency  string `json:"af_cost_currency,omitempty"` // ISO-4217; USD when a cost is given without one
	RedirectURL   string `json:"af_r,omitempty"`             // absolute http(s) URL
	DeepLink      string `json:"af_dp,omitempty"`
	WebDeepLink   string `json:"af_web_dp,omitempty"`
	ForceDeeplink string `json:"af_force_deeplink,omitempty"`
	DeepLinkValue string `json:"deep_link_value,omitempty"`
	Ref           string `json:"af_ref,omitempty"` // the partner's unique referrer (S2S clicks)
	Signature     string `json:"signature,omitempty"`

	Incentivized        *bool  `json:"is_incentivized,omitempty"`
	Retargeting         bool   `json:"is_retargeting,omitempty"`
	ReengagementWindow  Window `json:"af_reengagement_window,omitempty"`
	ClickLookback       Window `json:"af_click_lookback,omitempty"`
	ViewThroughLookback Window `json:"af_viewthrough_lookback,omitempty"`
	Expires             int64  `json:"expires,omitempty"` // epoch seconds
	// Redirect is false for server-to-server clicks (redirect=false).
	Redirect *bool `json:"redirect,omitempty"`
}

// MaxParamLength bounds every free-text parameter that AppsFlyer gives no
// length for (UNCONFIRMED; ours). Longer values are dropped with a note.
const MaxParamLength = 1000

// StringParam describes one string-valued link parameter.
type StringParam struct {
	Name  string
	Max   int // characters; 0 means MaxParamLength
	Field func(*LinkParams) *string
}

// StringParams lists the string parameters. The order is part of the stored
// form of a touch: append only, never reorder.
var StringParams = []StringParam{
	{"c", 100, func(p *LinkParams) *string { return &p.Campaign }},
	{"af_c_id", 24, func(p *LinkParams) *string { return &p.CampaignID }},
	{"af_prt", 50, func(p *LinkParams) *string { return &p.Prt }},
	{"clickid", 0, func(p *LinkParams) *string { return &p.ClickID }},
	{"af_siteid", 24, func(p *LinkParams) *string { return &p.SiteID }},
	{"af_sub_siteid", 50, func(p *LinkParams) *string { return &p.SubSiteID }},
	{"af_adset", 0, func(p *LinkParams) *string { return &p.Adset }},
	{"af_adset_id", 0, func(p *LinkParams) *string { return &p.AdsetID }},
	{"af_ad", 0, func(p *LinkParams) *string { return &p.Ad }},
	{"af_ad_id", 0, func(p *LinkParams) *string { return &p.AdID }},
	{"af_ad_type", 0, func(p *LinkParams) *string { return &p.AdType }},
	{"af_channel", 0, func(p *LinkParams) *string { return &p.Channel }},
	{"af_keywords", 0, func(p *LinkParams) *string { return &p.Keywords }},
	{"af_sub1", 0, func(p *LinkParams) *string { return &p.Sub1 }},
	{"af_sub2", 0, func(p *LinkParams) *string { return &p.Sub2 }},
	{"af_sub3", 0, func(p *LinkParams) *string { return &p.Sub3 }},
	{"af_sub4", 0, func(p *LinkParams) *string { return &p.Sub4 }},
	{"af_sub5", 0, func(p *LinkParams) *string { return &p.Sub5 }},
	{"af_cost_model", 0, func(p *LinkParams) *string { return &p.CostModel }},
	{"af_cost_value", 0, func(p *LinkParams) *string { return &p.CostValue }},
	{"af_cost_currency", 0, func(p *LinkParams) *string { return &p.CostCurrency }},
	{"af_r", 0, func(p *LinkParams) *string { return &p.RedirectURL }},
	{"af_dp", 0, func(p *LinkParams) *string { return &p.DeepLink }},
	{"af_web_dp", 0, func(p *LinkParams) *string { return &p.WebDeepLink }},
	{"af_force_deeplink", 0, func(p *LinkParams) *string { return &p.ForceDeeplink }},
	{"deep_link_value", 0, func(p *LinkParams) *string { return &p.DeepLinkValue }},
	{"af_ref", 0, func(p *LinkParams) *string { return &p.Ref }},
	{"signature", 0, func(p *LinkParams) *string { return &p.Signature }},
}

// MaxLen returns the parameter's length limit in characters.
func (s StringParam) MaxLen() int {
	if s.Max == 0 {
		return MaxParamLength
	}
	return s.Max
}
