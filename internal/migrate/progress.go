package migrate

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a line per table: the rows copied of the total and a bar.
// On a terminal the line is redrawn as rows go (\r); elsewhere (a log, a
// test) it is written once, when the table is done.
type progress struct {
	w    io.Writer
	term bool
}

// bar is one table's line.
type bar struct {
	p        *progress
	table    string
	n, total int64
	began    time.Time
	drawn    time.Time
}

// barWidth is the bar's characters.
const barWidth = 30

// redraw is how often a terminal's line is drawn at most.
const redraw = 100 * time.Millisecond

func (p *progress) start(table string, total int64) *bar {
	b := &bar{p: p, table: table, total: total, began: time.Now()}
	if p.term {
		b.draw("")
	}
	return b
}

// add counts rows copied.
func (b *bar) add(n int) {
	b.n += int64(n)
	if b.p.term && time.Since(b.drawn) >= redraw {
		b.draw("")
	}
}

// done ends the line.
func (b *bar) done() { b.draw("\n") }

// fail ends the line of a table whose copy failed.
func (b *bar) fail() { b.draw(" failed\n") }

func (b *bar) draw(end string) {
	b.drawn = time.Now()
	filled := barWidth
	if b.total > 0 {
		filled = int(min(b.n, b.total) * barWidth / b.total)
	}
	line := fmt.Sprintf("%-26s %12d / %-12d [%s%s] %6.1fs", b.table, b.n, b.total,
		strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), time.Since(b.began).Seconds())
	if b.p.term {
		line = "\r" + line
	}
	fmt.Fprint(b.p.w, line+end)
}
