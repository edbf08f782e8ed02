package geo

import (
	"bytes"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
)

// Enricher fills the fields of analytics events that Amplitude fills on
// its servers: the location from the IP address (when DB is set) and,
// on web events, the device from the User-Agent. A nil *Enricher, or
// one with no DB and UA false, changes nothing.
type Enricher struct {
	DB *DB
	// UA turns on the User-Agent fields.
	UA bool
}

// Enabled reports whether Upload can change anything.
func (en *Enricher) Enabled() bool { return en != nil && (en.DB != nil || en.UA) }

// Upload fills the missing fields of an upload's events: remoteIP and
// userAgent are the request's (the client address after trusted-proxy
// handling, and the User-Agent header); an event's own ip (with
// "$remote" already made the request's) and user_agent members win
// over them. The request's address and agent are looked up once for
// all the events that use them.
//
// Precedence, field by field, is the event's first: a member the event
// carries, even empty, is never replaced, and an ip member that is no
// address locates nothing (the sender named the device's address, not
// its own). Location goes as a whole: an event that carries any of
// country, region and city keeps its location as it came, as a
// looked-up city under a country the sender chose could contradict it.
// Device fields (os_name, os_version, device_family, device_type,
// platform) are filled one by one, and only on web events: those
// without a platform, or with platform "Web".
//
// Only track and identify events are filled (group identifies and MMP
// attribution events describe no device). Upload sets e.Country and
// e.Platform, the fields the user keeps, when it fills them.
func (en *Enricher) Upload(events []*touchpoint.IncomingEvent, remoteIP, userAgent string) {
	if !en.Enabled() {
		return
	}
	req := request{ip: remoteIP, ua: userAgent}
	for _, e := range events {
		en.event(&req, e)
	}
}

// Event is Upload of one event.
func (en *Enricher) Event(e *touchpoint.IncomingEvent, remoteIP, userAgent string) {
	en.Upload([]*touchpoint.IncomingEvent{e}, remoteIP, userAgent)
}

// request holds what the request's address and agent gave, once looked
// up.
type request struct {
	ip, ua           string
	loc              Location
	dev              Device
	locDone, devDone bool
}

func (r *request) location(db *DB, ip string) Location {
	if ip != r.ip {
		return db.Lookup(ip)
	}
	if !r.locDone {
		r.loc, r.locDone = db.Lookup(ip), true
	}
	return r.loc
}

func (r *request) device(ua string) Device {
	if ua != r.ua {
		return ParseUA(ua)
	}
	if !r.devDone {
		r.dev, r.devDone = ParseUA(ua), true
	}
	return r.dev
}

func (en *Enricher) event(req *request, e *touchpoint.IncomingEvent) {
	if (e.Kind != touchpoint.TrackEvent && e.Kind != touchpoint.IdentifyEvent) || len(e.Data) < 2 {
		return
	}
	var has present
	ip, ua, platform := req.ip, req.ua, ""
	ok := members(e.Data, func(name, v []byte) {
		f := fieldBit(name)
		has |= f
		if f == 0 || len(v) == 0 || v[0] != '"' {
			return
		}
		switch f {
		case fIP:
			ip = touchpoint.UnquoteJSON(v)
		case fUA:
			if s := touchpoint.UnquoteJSON(v); s != "" {
				ua = s
			}
		case fPlatform:
			platform = touchpoint.UnquoteJSON(v)
		}
	})
	if !ok || e.Data[len(e.Data)-1] != '}' {
		return // not an object as the decoder writes them: left alone
	}
	add := e.Data[:len(e.Data)-1] // the object without its '}'
	n := len(add)
	empty := len(bytes.TrimSpace(e.Data[1:len(e.Data)-1])) == 0
	member := func(name, value string) {
		if value == "" {
			return
		}
		if len(add) == n {
			// The first member: a copy with room for all of them, so
			// that the event's bytes are never written over.
			add = append(make([]byte, 0, n+256), add...)
		}
		if !empty {
			add = append(add, ',')
		}
		empty = false
		add, _ = jsontext.AppendQuote(add, name)
		add = append(add, ':')
		add, _ = jsontext.AppendQuote(add, value)
	}
	if en.DB != nil && has&(fCountry|fRegion|fCity) == 0 {
		if l := req.location(en.DB, ip); !l.IsZero() {
			member("country", l.Country)
			member("region", l.Region)
			member("city", l.City)
			e.Country = l.Country
		}
	}
	// A browser's agent describes a web event only: an event whose
	// platform is another (a native SDK's, a server's) keeps its device
	// fields as they came.
	if en.UA && has&fDevice != fDevice && (has&fPlatform == 0 || strings.EqualFold(platform, "Web")) {
		if d := req.device(ua); !d.IsZero() {
			for _, m := range [...]struct {
				f           present
				name, value string
			}{{fOSName, "os_name", d.OSName}, {fOSVersion, "os_version", d.OSVersion}, {fDeviceFamily, "device_family", d.DeviceFamily},
				{fDeviceType, "device_type", d.DeviceType}, {fPlatform, "platform", d.Platform}} {
				if has&m.f == 0 {
					member(m.name, m.value)
				}
			}
			if has&fPlatform == 0 {
				e.Platform = d.Platform
			}
		}
	}
	if len(add) == n {
		return
	}
	e.Data = append(add, '}')
}

// present is a set of the members an event carries.
type present uint16

const (
	fIP present = 1 << iota
	fUA
	fCountry
	fRegion
	fCity
	fOSName
	fOSVersion
	fDeviceFamily
	fDeviceType
	fPlatform
	fDevice = fOSName | fOSVersion | fDeviceFamily | fDeviceType | fPlatform
)

// fieldBit returns the member a quoted name is, or 0. The stored form's
// names have no escapes (the decoder wrote them), so the quoted text is
// compared as it is, without unquoting.
func fieldBit(quoted []byte) present {
	switch string(quoted) {
	case `"ip"`:
		return fIP
	case `"user_agent"`:
		return fUA
	case `"country"`:
		return fCountry
	case `"region"`:
		return fRegion
	case `"city"`:
		return fCity
	case `"os_name"`:
		return fOSName
	case `"os_version"`:
		return fOSVersion
	case `"device_family"`:
		return fDeviceFamily
	case `"device_type"`:
		return fDeviceType
	case `"platform"`:
		return fPlatform
	}
	return 0
}
