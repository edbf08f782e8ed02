package attribution

import (
	"regexp"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// fingerprint is what probabilistic matching compares: the platform, OS
// version, device model and language, as far as they are known.
type fingerprint struct {
	platform touchpoint.Platform
	os       string // "13", "16.5"
	model    string // "SM-G991B", "iPhone"
	lang     string // primary subtag: "en"
}

var (
	androidRE   = regexp.MustCompile(`Android ([0-9]+(?:\.[0-9]+)*)(?:; ([^;)]+?))?(?: Build/[^;)]*)?[;)]`)
	iosRE       = regexp.MustCompile(`\((iPhone|iPad|iPod)[^)]*? OS ([0-9]+(?:_[0-9]+)*)`)
	modelSuffix = regexp.MustCompile(`\s*Build/.*$`)
)

// parseUA reads a fingerprint from a user agent: a browser's on a click,
// or an app's (Dalvik, CFNetwork) on a launch.
func parseUA(ua string) fingerprint {
	var f fingerprint
	if m := iosRE.FindStringSubmatch(ua); m != nil {
		f.platform, f.model, f.os = touchpoint.IOS, m[1], strings.ReplaceAll(m[2], "_", ".")
		return f
	}
	if m := androidRE.FindStringSubmatch(ua); m != nil {
		f.platform, f.os = touchpoint.Android, m[1]
		model := strings.TrimSpace(modelSuffix.ReplaceAllString(m[2], ""))
		// Browsers that reduce their UA report the model as "K".
		if model != "" && model != "K" && !strings.EqualFold(model, "U") && !strings.Contains(model, "wv") {
			f.model = model
		}
	}
	return f
}

// launchFingerprint is the launch's: its reported fields, completed from
// its user agent.
func launchFingerprint(app *touchpoint.App, l *touchpoint.Launch) fingerprint {
	f := parseUA(l.UA)
	f.platform = app.Platform
	if l.OSVersion != "" {
		f.os = l.OSVersion
	}
	if l.DeviceModel != "" {
		f.model = l.DeviceModel
	}
	f.lang = primaryLanguage(l.Language)
	return f
}

func primaryLanguage(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// sameOS compares OS versions on the components both give: "16.5" and
// "16.5.1" agree, "13" and "13.0" agree, "13" and "14" do not.
func sameOS(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	n := min(len(as), len(bs))
	for i := 0; i < n; i++ {
		if strings.TrimLeft(as[i], "0") != strings.TrimLeft(bs[i], "0") {
			return false
		}
	}
	return true
}

// sameModel compares device models: Android models case-insensitively;
// an iOS browser only says "iPhone" or "iPad", so an app's "iPhone14,2"
// agrees with "iPhone".
func sameModel(touch, launch string) bool {
	t, l := strings.ToLower(touch), strings.ToLower(launch)
	return t == l || strings.HasPrefix(l, t) && (t == "iphone" || t == "ipad" || t == "ipod")
}

// mismatch returns what keeps a click's fingerprint from the launch's, or
// "" when every attribute both know agrees. The IP must be equal already.
func mismatch(touch, launch fingerprint) string {
	switch {
	case touch.platform != "" && touch.platform != launch.platform:
		return "the click came from " + string(touch.platform) + ", the launch from " + string(launch.platform)
	case touch.os != "" && launch.os != "" && !sameOS(touch.os, launch.os):
		return "the OS versions differ (" + touch.os + " on the click, " + launch.os + " on the launch)"
	case touch.model != "" && launch.model != "" && !sameModel(touch.model, launch.model):
		return "the device models differ (" + touch.model + " on the click, " + launch.model + " on the launch)"
	case touch.lang != "" && launch.lang != "" && touch.lang != launch.lang:
		return "the languages differ (" + touch.lang + " on the click, " + launch.lang + " on the launch)"
	}
	return ""
}
