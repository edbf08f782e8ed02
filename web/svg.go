package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Series is one line of a chart: a value per label.
type Series struct {
	Name   string
	Values []float64
}

// LineChart is a chart drawn as SVG on the server: lines over labels
// (days, periods, steps), the y axis from zero. At most 10 series have
// their own colour (classes s1…s10 in app.css); more repeat them.
type LineChart struct {
	Labels []string
	Series []Series
	// Bars draws the first series as bars (a daily count under lines).
	Bars bool
	// Format writes a y value (a tick, a tooltip); nil: a number.
	Format func(float64) string
}

const (
	chartW, chartH           = 900, 260
	padL, padR, padT, padBot = 56, 12, 12, 42
)

// SVG draws the chart; empty when there is nothing to draw.
func (c LineChart) SVG() template.HTML {
	if len(c.Labels) == 0 || len(c.Series) == 0 {
		return ""
	}
	format := c.Format
	if format == nil {
		format = compact
	}
	top := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && v > top {
				top = v
			}
		}
	}
	top = niceCeil(top)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padBot)
	n := len(c.Labels)
	step := plotW / float64(max(n, 1))
	x := func(i int) float64 { return float64(padL) + step*(float64(i)+0.5) }
	y := func(v float64) float64 { return float64(padT) + plotH*(1-v/top) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, template.HTMLEscapeString(c.describe()))
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(v)+4, template.HTMLEscapeString(format(v)))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y(0), y(0))
	every := max(1, (n+7)/8)
	for i, l := range c.Labels {
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), chartH-padBot+16, template.HTMLEscapeString(l))
		}
	}
	for si, s := range c.Series {
		class := "s" + strconv.Itoa(si%10+1)
		name := template.HTMLEscapeString(s.Name)
		if c.Bars && si == 0 {
			w := math.Max(1, step*0.7)
			for i, v := range s.Values {
				if math.IsNaN(v) {
					continue
				}
				fmt.Fprintf(&b, `<rect class="%s bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" opacity="0.35"><title>%s %s: %s</title></rect>`,
					class, x(i)-w/2, y(v), w, y(0)-y(v), name, template.HTMLEscapeString(c.Labels[i]), template.HTMLEscapeString(format(v)))
			}
			continue
		}
		var pts []string
		for i, v := range s.Values {
			if i < n && !math.IsNaN(v) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
			}
		}
		fmt.Fprintf(&b, `<polyline class="line %s" points="%s"/>`, class, strings.Join(pts, " "))
		if n <= 62 {
			for i, v := range s.Values {
				if i < n && !math.IsNaN(v) {
					fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="3"><title>%s %s: %s</title></circle>`,
						class, x(i), y(v), name, template.HTMLEscapeString(c.Labels[i]), template.HTMLEscapeString(format(v)))
				}
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Legend is the series' names with their classes, for the template.
func (c LineChart) Legend() []LegendEntry {
	out := make([]LegendEntry, len(c.Series))
	for i, s := range c.Series {
		out[i] = LegendEntry{Name: s.Name, Class: "s" + strconv.Itoa(i%10+1)}
	}
	return out
}

// LegendEntry is a series' name and colour class.
type LegendEntry struct{ Name, Class string }

// describe is the chart's text alternative.
func (c LineChart) describe() string {
	names := make([]string, len(c.Series))
	for i, s := range c.Series {
		names[i] = s.Name
	}
	return fmt.Sprintf("Chart of %s from %s to %s", strings.Join(names, ", "), c.Labels[0], c.Labels[len(c.Labels)-1])
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 for 0).
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// compact writes a number shortly: 1234 → 1.2k, 0.5 → 0.5.
func compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 1, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case a == math.Trunc(a):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
