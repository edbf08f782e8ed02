package attribution

import (
	"fmt"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Summary says in words what was decided for a device and why: its
// current install's attribution, then each decided launch, newest first.
func Summary(dev *touchpoint.Device, installs []*touchpoint.Install) string {
	var b strings.Builder
	for i, in := range installs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(describe(in))
	}
	if len(installs) == 0 {
		fmt.Fprintf(&b, "No launch of device %s has been decided.", dev.ID)
	}
	return b.String()
}

var typeWords = map[touchpoint.InstallType]string{
	touchpoint.TypeInstall:       "Installed",
	touchpoint.TypeReinstall:     "Reinstalled (inside the re-attribution window, so not a new install)",
	touchpoint.TypeReattribution: "Reinstalled and re-attributed",
	touchpoint.TypeReengagement:  "Re-engaged",
}

func describe(in *touchpoint.Install) string {
	var b strings.Builder
	when := in.Time.UTC().Format("2006-01-02 15:04:05 UTC")
	a := in.Attribution
	if a.IsOrganic() {
		fmt.Fprintf(&b, "%s on %s: organic", typeWords[in.Type], when)
		if in.Type == touchpoint.TypeReinstall {
			b.WriteString("; its later in-app events are organic")
		}
	} else {
		fmt.Fprintf(&b, "%s on %s: credited to %s", typeWords[in.Type], when, a.MediaSource)
		if a.Params.Campaign != "" {
			fmt.Fprintf(&b, " (campaign %s)", a.Params.Campaign)
		}
		fmt.Fprintf(&b, " for %s %d, %s, %s before the launch", a.TouchType, a.TouchID, matchWords[a.MatchType], human(in.Time.Sub(a.TouchTime)))
	}
	b.WriteString(".")
	for _, r := range in.Rejections {
		fmt.Fprintf(&b, " %s's %s %d was rejected (%s", r.MediaSource, r.TouchType, r.TouchID, r.Reason)
		if r.Value != "" {
			fmt.Fprintf(&b, ", %s", r.Value)
		}
		b.WriteString(").")
	}
	lost := 0
	for _, c := range in.Candidates {
		if c.Outcome == touchpoint.OutcomeLost {
			lost++
		}
	}
	if lost > 0 {
		fmt.Fprintf(&b, " %d other touch%s lost; see candidates for why.", lost, map[bool]string{true: "", false: "es"}[lost == 1])
	}
	if !in.ReengagementUntil.IsZero() {
		fmt.Fprintf(&b, " In-app events until %s also count for %s.", in.ReengagementUntil.UTC().Format(time.DateOnly), a.MediaSource)
	}
	return b.String()
}

var matchWords = map[touchpoint.MatchType]string{
	touchpoint.MatchReferrer:      "named by the install referrer",
	touchpoint.MatchIDMatching:    "matched by device id",
	touchpoint.MatchProbabilistic: "matched probabilistically",
}
