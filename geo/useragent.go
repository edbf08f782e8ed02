package geo

import (
	"github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"
)

// Device is what a browser's User-Agent says of the device, in the shape
// of Amplitude's web events: os_name and os_version are the browser and
// its major version (as Amplitude's browser SDKs have always reported
// them on the web), device_family is the operating system, device_type
// the form factor, and platform "Web".
type Device struct {
	OSName       string // "Chrome"
	OSVersion    string // "120"
	DeviceFamily string // "Windows", "MacOS", "iOS", "Android", "Linux", "ChromeOS"
	DeviceType   string // "Desktop", "Mobile", "Tablet", "TV"
	Platform     string // "Web"
}

// IsZero reports whether nothing was recognised.
func (d Device) IsZero() bool { return d == Device{} }

// parser is medama-io/go-useragent's: a trie of tokens built once from
// the definitions the module embeds, read-only after, so one serves
// every request.
var parser = useragent.NewParser()

// ParseUA reads a User-Agent. Only browsers are recognised: a bot, or a
// client that names no browser (an HTTP library, a server-side SDK, a
// native app's own agent), gives nothing, so that a server forwarding
// events does not stamp them with its own description.
func ParseUA(ua string) Device {
	if ua == "" {
		return Device{}
	}
	p := parser.Parse(ua)
	// A browser without a version is a native app's HTTP stack
	// (Android's Dalvik names itself Android Browser).
	if p.IsBot() || p.Browser() == "" || p.BrowserVersionMajor() == "" {
		return Device{}
	}
	d := Device{OSName: string(p.Browser()), OSVersion: p.BrowserVersionMajor(), DeviceType: string(p.Device()), Platform: "Web"}
	if os := p.OS(); os != "" {
		d.DeviceFamily = string(os)
	}
	if d.DeviceType == string(agents.DeviceBot) {
		return Device{}
	}
	return d
}
