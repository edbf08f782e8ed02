// Package link reads attribution links: it parses the AppsFlyer parameters of
// a click or impression URL into a Touch, checks click signatures, and picks
// where the user is redirected.
package link

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
)

// MaxExtraParams bounds how many unknown parameters a touch keeps.
const MaxExtraParams = 100

// Request is what a link request carries besides its query string.
type Request struct {
	Kind           touchpoint.TouchKind
	RawQuery       string
	Time           time.Time
	ClientIP       string // the connection's address, after trusted-proxy handling
	UserAgent      string
	AcceptLanguage string
}

// Partner is what the click path knows of a configured partner.
type Partner struct {
	*touchpoint.Partner
	Secrets []*touchpoint.SigningSecret // may include expired or revoked ones
}

// NewTouch reads a link request into a touch of app. partner returns the
// configured partner of the pid, or nil for a custom media source. A
// malformed value never fails the request: the touch is made without it and
// notes say what was dropped and why. Only a missing or over-long pid is an
// error (EINVALID).
func NewTouch(req Request, app *touchpoint.App, partner func(pid string) *Partner) (*touchpoint.Touch, error) {
	t := &touchpoint.Touch{App: app.ID, Kind: req.Kind, Time: req.Time}
	var o overrides
	if err := parseQuery(req.RawQuery, t, &o); err != nil {
		return nil, err
	}
	p := partner(t.PID)
	if p == nil {
		t.CustomSource = true
	}
	allowed := p != nil && p.AllowIPUA

	t.IP = req.ClientIP
	t.UA = req.UserAgent
	if !utf8.ValidString(t.UA) {
		// A header may carry any byte; a touch holds text.
		t.UA = strings.ToValidUTF8(t.UA, "\uFFFD")
		t.Note("user agent: invalid UTF-8 replaced")
	}
	t.Language = acceptLanguage(req.AcceptLanguage)
	for _, v := range []struct {
		name, value string
		dst         *string
	}{{"af_ip", o.ip, &t.IP}, {"af_ua", o.ua, &t.UA}, {"af_lang", o.lang, &t.Language}} {
		if v.value == "" {
			continue
		}
		if !allowed {
			t.Note(v.name + " ignored: the partner is not allowed to send it")
			continue
		}
		*v.dst = v.value
	}
	if p != nil && p.ClickSigning != touchpoint.SigningDisabled {
		t.Verdict = Verify(req.RawQuery, t.Params.Expires, t.Params.Signature, p.Secrets, req.Time)
		t.Rejected = p.ClickSigning == touchpoint.SigningEnabled && t.Verdict != touchpoint.VerdictValid
	}
	return t, nil
}

// overrides are af_ip, af_ua and af_lang as sent, already validated.
type overrides struct{ ip, ua, lang string }

// param describes a known parameter: how to read it, and its slot in the
// bitset that catches repeats.
type param struct {
	kind  paramKind
	slot  int
	index int // StringParams index, or device id type
	form  int // device id form: 0 raw, 1 sha1, 2 md5
}

type paramKind uint8

const (
	pString paramKind = iota
	pDevice
	pPID
	pCostValue
	pCostCurrency
	pIncentivized
	pRetargeting
	pRedirect
	pClickLookback
	pViewLookback
	pReengagement
	pExpires
	pIP
	pUA
	pLang
)

// params maps every known parameter name to how it is read: one lookup per
// parameter on the click path.
var params = func() map[string]param {
	m := make(map[string]param)
	add := func(name string, p param) {
		if _, ok := m[name]; !ok {
			p.slot = len(m)
			m[name] = p
		}
	}
	// Special forms first: these names are also string parameters (kept in
	// StringParams for the stored form) but are validated as a pair.
	add("pid", param{kind: pPID})
	add("af_cost_value", param{kind: pCostValue})
	add("af_cost_currency", param{kind: pCostCurrency})
	for i, p := range touchpoint.StringParams {
		add(p.Name, param{kind: pString, index: i})
	}
	for i, name := range touchpoint.DeviceIDParams {
		add(name, param{kind: pDevice, index: i, form: 0})
		add("sha1_"+name, param{kind: pDevice, index: i, form: 1})
		add("md5_"+name, param{kind: pDevice, index: i, form: 2})
	}
	for name, kind := range map[string]paramKind{
		"is_incentivized": pIncentivized, "is_retargeting": pRetargeting, "redirect": pRedirect,
		"af_click_lookback": pClickLookback, "af_viewthrough_lookback": pViewLookback,
		"af_reengagement_window": pReengagement, "expires": pExpires, "af_ip": pIP, "af_ua": pUA, "af_lang": pLang,
	} {
		add(name, param{kind: kind})
	}
	if len(m) > 128 {
		panic("link: too many known parameters for the repeat bitset")
	}
	return m
}()

// parseQuery reads a raw query string into t. The first occurrence of a known
// parameter wins; later ones are noted and ignored.
func parseQuery(raw string, t *touchpoint.Touch, o *overrides) error {
	var seen [2]uint64 // bitset of the known parameters already read
	costValue, currency := "", ""
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		rk, rv, _ := strings.Cut(pair, "=")
		k, ok := unescape(rk)
		if !ok {
			t.Note("parameter " + strconv.Quote(rk) + " dropped: bad percent-encoding in its name")
			continue
		}
		p, known := params[k]
		v, ok := unescape(rv)
		if !ok {
			if known {
				t.Note(k + " dropped: bad percent-encoding")
				continue
			}
			v = rv // unknown parameters are kept as they came
		}
		if !utf8.ValidString(v) {
			t.Note(k + ": invalid UTF-8 replaced")
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		if !known {
			if !utf8.ValidString(k) {
				k = strings.ToValidUTF8(k, "\uFFFD")
				t.Note("parameter " + strconv.Quote(k) + ": invalid UTF-8 in its name replaced")
			}
			if len(t.Extra) >= MaxExtraParams {
				t.Note("parameter " + strconv.Quote(k) + " dropped: more than " + strconv.Itoa(MaxExtraParams) + " unknown parameters")
				continue
			}
			t.Extra = append(t.Extra, touchpoint.Param{Key: k, Value: v})
			continue
		}
		if seen[p.slot/64]&(1<<(p.slot%64)) != 0 {
			t.Note(k + ": repeated; the first value was kept")
			continue
		}
		seen[p.slot/64] |= 1 << (p.slot % 64)
		switch p.kind {
		case pString:
			setString(t, p.index, k, v)
		case pDevice:
			setDevice(t, p.index, p.form, k, v)
		case pPID:
			t.PID = v
		case pCostValue:
			costValue = v
		case pCostCurrency:
			currency = v
		case pIncentivized, pRetargeting, pRedirect:
			b, ok := parseBool(v)
			if !ok {
				t.Note(k + " dropped: " + strconv.Quote(v) + " is not true or false")
				continue
			}
			switch p.kind {
			case pIncentivized:
				t.Params.Incentivized = &b
			case pRetargeting:
				t.Params.Retargeting = b
			default:
				t.Params.Redirect = &b
			}
		case pClickLookback:
			t.Params.ClickLookback = window(t, k, v, touchpoint.MinClickLookback, touchpoint.MaxClickLookback)
		case pViewLookback:
			t.Params.ViewThroughLookback = window(t, k, v, touchpoint.MinViewThroughLookback, touchpoint.MaxViewThroughLookback)
		case pReengagement:
			t.Params.ReengagementWindow = window(t, k, v, touchpoint.MinReengagement, touchpoint.MaxReengagement)
		case pExpires:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				t.Note("expires dropped: " + strconv.Quote(v) + " is not a Unix time in seconds")
				continue
			}
			if n > 1e11 { // milliseconds, as some signing code sends
				n /= 1000
			}
			t.Params.Expires = n
		case pIP:
			a, err := netip.ParseAddr(v)
			if err != nil {
				t.Note("af_ip dropped: " + strconv.Quote(v) + " is not an IP address")
				continue
			}
			o.ip = a.Unmap().String()
		case pUA:
			if utf8.RuneCountInString(v) > touchpoint.MaxParamLength {
				t.Note("af_ua dropped: longer than " + strconv.Itoa(touchpoint.MaxParamLength) + " characters")
				continue
			}
			o.ua = v
		case pLang:
			if !isLanguageTag(v) {
				t.Note("af_lang dropped: " + strconv.Quote(v) + " is not a language code")
				continue
			}
			o.lang = v
		}
	}
	if err := touchpoint.ValidatePID(t.PID); err != nil {
		return err
	}
	setCost(t, costValue, currency)
	return nil
}

func setString(t *touchpoint.Touch, i int, k, v string) {
	p := touchpoint.StringParams[i]
	if utf8.RuneCountInString(v) > p.MaxLen() {
		if k == "c" {
			// AppsFlyer shows over-long campaign names as this marker.
			t.Params.Campaign = "c_name_exceeded_max_length"
		}
		t.Note(k + " dropped: longer than " + strconv.Itoa(p.MaxLen()) + " characters")
		return
	}
	switch k {
	case "af_cost_model":
		m, ok := costModel(v)
		if !ok {
			t.Note("af_cost_model dropped: " + strconv.Quote(v) + " is not a cost model (CPC, CPI, CPM, CPA, CPE, CPV, Other)")
			return
		}
		v = m
	case "af_r":
		if !isHTTPURL(v) {
			t.Note("af_r dropped: not an absolute http(s) URL")
			return
		}
	}
	*p.Field(&t.Params) = v
}

var costModels = []string{"CPC", "CPI", "CPM", "CPA", "CPE", "CPV", "Other"}

func costModel(v string) (string, bool) {
	for _, m := range costModels {
		if strings.EqualFold(v, m) {
			return m, true
		}
	}
	return "", false
}

// setCost validates af_cost_value and af_cost_currency together: a value
// needs a valid currency (USD when none is sent); a value in a currency we do
// not know is dropped with it, since a cost in the wrong currency is worse
// than none.
func setCost(t *touchpoint.Touch, value, currency string) {
	if currency != "" {
		c := strings.ToUpper(currency)
		if !IsCurrency(c) {
			t.Note("af_cost_currency dropped: " + strconv.Quote(currency) + " is not an ISO-4217 currency code")
			if value != "" {
				t.Note("af_cost_value dropped: its currency was dropped")
			}
			return
		}
		t.Params.CostCurrency = c
	}
	if value == "" {
		return
	}
	if why := checkDecimal(value); why != "" {
		t.Note("af_cost_value dropped: " + strconv.Quote(value) + " " + why)
		return
	}
	t.Params.CostValue = value
	if t.Params.CostCurrency == "" {
		t.Params.CostCurrency = "USD"
	}
}

// checkDecimal says what is wrong with a cost value, or "" when it is a
// non-negative decimal with at most 4 decimals.
func checkDecimal(v string) string {
	intPart, frac, hasDot := strings.Cut(v, ".")
	if intPart == "" || len(intPart) > 15 || !allDigits(intPart) || (hasDot && (frac == "" || !allDigits(frac))) {
		return "is not a decimal number"
	}
	if len(frac) > 4 {
		return "has more than 4 decimals"
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func setDevice(t *touchpoint.Touch, typ, form int, k, v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	id := &t.Device[typ]
	switch form {
	case 0:
		switch {
		case isUnreplacedMacro(v):
			t.Note(k + " dropped: " + strconv.Quote(v) + " looks like a macro the network did not fill in")
		case isZeroID(v):
			t.Note(k + " dropped: an all-zero id (limited ad tracking) names no device")
		case len(v) > 128:
			t.Note(k + " dropped: longer than 128 characters")
		default:
			id.Raw = v
		}
	case 1, 2:
		want := 40
		if form == 2 {
			want = 32
		}
		if len(v) != want || !touchpoint.IsHex(v) {
			t.Note(k + " dropped: not a " + strconv.Itoa(want) + "-digit hex hash")
			return
		}
		if form == 1 {
			id.SHA1 = strings.ToLower(v)
		} else {
			id.MD5 = strings.ToLower(v)
		}
	}
}

// isUnreplacedMacro spots placeholders such as {gaid}, __IDFA__, ${gaid},
// [GAID] or %%IDFA%% left in a link by a network that did not fill them in.
func isUnreplacedMacro(v string) bool {
	if strings.ContainsAny(v, "{}[]$") {
		return true
	}
	return len(v) > 4 && (strings.HasPrefix(v, "__") && strings.HasSuffix(v, "__") || strings.HasPrefix(v, "%%"))
}

func isZeroID(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] != '0' && v[i] != '-' {
			return false
		}
	}
	return true
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

func window(t *touchpoint.Touch, k, v string, min, max touchpoint.Window) touchpoint.Window {
	w, err := touchpoint.ParseWindow(v)
	if err != nil {
		t.Note(k + " dropped: " + strconv.Quote(v) + " is not a window like 24h or 7d")
		return 0
	}
	if w < min || w > max {
		t.Note(k + " dropped: " + v + " is outside " + min.String() + " to " + max.String())
		return 0
	}
	return w
}

func isHTTPURL(v string) bool {
	return touchpoint.ValidateHTTPURL("af_r", v) == nil
}

// isLanguageTag accepts ISO-639 codes with optional subtags: en, en-US, zh_Hant_TW.
func isLanguageTag(v string) bool {
	if len(v) < 2 || len(v) > 35 {
		return false
	}
	for i, part := range strings.FieldsFunc(v, func(r rune) bool { return r == '-' || r == '_' }) {
		if (i == 0 && (len(part) < 2 || len(part) > 3)) || len(part) > 8 {
			return false
		}
		for _, c := range part {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
				return false
			}
		}
	}
	return true
}

// acceptLanguage returns the first language of an Accept-Language header.
func acceptLanguage(h string) string {
	if h == "" {
		return ""
	}
	first, _, _ := strings.Cut(h, ",")
	first, _, _ = strings.Cut(first, ";")
	first = strings.TrimSpace(first)
	if !isLanguageTag(first) {
		return ""
	}
	return first
}

// unescape decodes a query component (%XX and '+' for space). It returns s
// itself, without allocating, when there is nothing to decode.
func unescape(s string) (string, bool) {
	n := 0
	plus := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return "", false
			}
			n++
			i += 2
		case '+':
			plus = true
		}
	}
	if n == 0 && !plus {
		return s, true
	}
	b := make([]byte, 0, len(s)-2*n)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			b = append(b, ' ')
		default:
			b = append(b, s[i])
		}
	}
	return string(b), true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
