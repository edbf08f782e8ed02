package attribution

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// Referrer is what an install referrer says about the click behind an
// install. Google Play hands the app the referrer its store URL carried:
// ours (link.Redirect) is a query string with af_tranid (our touch id), pid,
// c and clickid; a network redirecting a server-to-server click itself puts
// its af_ref value there (AppsFlyer's attribution-link documentation), alone or as af_ref=.
type Referrer struct {
	TouchID int64
	ClickID string
	Ref     string
}

// Names reports whether the referrer names a click at all. A referrer that
// names none (Google Play's "utm_source=google-play&utm_medium=organic", or
// nothing) does not count as present: it does not keep a launch from being
// matched probabilistically. (AppsFlyer does not say what counts as present;
// this is our choice.)
func (r Referrer) Names() bool { return r.TouchID != 0 || r.ClickID != "" || r.Ref != "" }

// ParseReferrer reads an install referrer string.
func ParseReferrer(s string) Referrer {
	s = strings.TrimSpace(s)
	if s == "" {
		return Referrer{}
	}
	q, err := url.ParseQuery(s)
	if err != nil || !strings.Contains(s, "=") {
		// Not a query string: the whole value is a partner's af_ref.
		return Referrer{Ref: s}
	}
	var r Referrer
	if id, err := strconv.ParseInt(q.Get("af_tranid"), 10, 64); err == nil && id > 0 {
		r.TouchID = id
	}
	r.ClickID = q.Get("clickid")
	r.Ref = q.Get("af_ref")
	if !r.Names() && q.Get("utm_source") == "" && len(q) == 1 {
		// A lone key=value that is not one of ours is a partner referrer
		// that happens to contain '='.
		r.Ref = s
	}
	return r
}

// Keys returns the lookup keys of the touches the referrer names, other
// than by touch id (stores find those by id).
func (r Referrer) Keys(app string) []touchpoint.LookupKey {
	var keys []touchpoint.LookupKey
	if r.TouchID != 0 {
		return nil
	}
	if r.ClickID != "" {
		keys = append(keys, touchpoint.ClickIDKey(app, r.ClickID))
	}
	if r.Ref != "" {
		keys = append(keys, touchpoint.RefKey(app, r.Ref))
	}
	return keys
}

// matches reports whether the referrer names the touch: by our touch id
// when it carries one (the click id beside it is then only informative),
// else by the network's click id or referrer.
func (r Referrer) matches(t *touchpoint.Touch) bool {
	if r.TouchID != 0 {
		return r.TouchID == t.ID
	}
	return r.ClickID != "" && r.ClickID == t.Params.ClickID ||
		r.Ref != "" && r.Ref == t.Params.Ref
}
