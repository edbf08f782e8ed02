package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/internal/testenv"
)

// block is a fenced code block of the quickstart (docs/quickstart.md): its
// info string ("sh", "sh serve", "text partner", …) and its text.
type block struct {
	info, text string
}

// tourBlocks returns the fenced blocks of docs/quickstart.md, the tour: every
// block of the page is part of it.
func tourBlocks(t *testing.T) []block {
	t.Helper()
	b, err := os.ReadFile("../../docs/quickstart.md")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	var blocks []block
	var cur *block
	for _, line := range strings.Split(page, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{info: strings.TrimSpace(strings.TrimPrefix(line, "```"))}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return blocks
}

// expectLines checks that the lines of want appear, in order, among the
// lines of got; in want, "…" stands for anything, and a run of spaces for
// any run of spaces (a table's columns may be padded otherwise).
func expectLines(got, want string) error {
	lines := strings.Split(got, "\n")
	i := 0
	for _, w := range strings.Split(strings.TrimSpace(want), "\n") {
		words := strings.Fields(w)
		for j, word := range words {
			words[j] = strings.ReplaceAll(regexp.QuoteMeta(word), "…", ".*")
		}
		re := regexp.MustCompile("^" + strings.Join(words, `\s+`) + "$")
		for i < len(lines) && !re.MatchString(strings.TrimSpace(lines[i])) {
			i++
		}
		if i == len(lines) {
			return fmt.Errorf("no line like %q (in order) in:\n%s", w, got)
		}
		i++
	}
	return nil
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestQuickstartTour follows the quickstart as it is written: the server
// block (but for its go build, which the test does), the stand-in
// partner, then every shell block in one shell, in a fresh directory, with
// free ports in place of 8080 and 9090. Each text block must appear in
// the output of the shell block before it; the partner's in its log.
func TestQuickstartTour(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "the quickstart's tour needs %s", tool)
		}
	}
	blocks := tourBlocks(t)
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "touchpoint"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	serverPort, partnerPort := freePort(t), freePort(t)
	subst := strings.NewReplacer("127.0.0.1:8080", "127.0.0.1:"+serverPort, "9090", partnerPort)
	background := func(name, script string) *syncBuffer {
		var out syncBuffer
		cmd := exec.Command("bash", "-c", "exec "+strings.TrimSpace(script))
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
		cmd.Env = append(os.Environ(), "TOUCHPOINT_ADDR=127.0.0.1:"+serverPort)
		if err := cmd.Start(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%s's output:\n%s", name, out.String())
			}
		})
		return &out
	}

	var shell, partnerWant strings.Builder
	var wants []string // per shell block
	var partnerLog *syncBuffer
	for i, b := range blocks {
		switch b.info {
		case "sh serve":
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(b.text), "\n") {
				if !strings.HasPrefix(l, "go build ") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("the serve block should start one server: %q", lines)
			}
			background("the server", subst.Replace(lines[0]))
			waitReady(t, "http://127.0.0.1:"+serverPort+"/readyz")
		case "sh partner":
			partnerLog = background("the partner", subst.Replace(b.text))
		case "sh":
			fmt.Fprintf(&shell, "%s\necho\necho '@@@ block %d'\n", subst.Replace(b.text), len(wants))
			wants = append(wants, "")
		case "text":
			if i == 0 || blocks[i-1].info != "sh" {
				t.Fatalf("a text block follows %q, not a shell block", blocks[i-1].info)
			}
			wants[len(wants)-1] = b.text
		case "text partner":
			partnerWant.WriteString(b.text)
		default:
			t.Fatalf("a block of the tour has the info string %q: want sh, sh serve, sh partner, text or text partner", b.info)
		}
	}
	if len(wants) == 0 || partnerLog == nil {
		t.Fatal("the tour has no shell blocks or no partner")
	}
	waitListening(t, "127.0.0.1:"+partnerPort)

	cmd := exec.Command("bash", "-e", "-c", shell.String())
	cmd.Dir = dir
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tour's shell blocks failed: %v\n%s", err, out)
	}
	outputs := strings.Split(string(out), "\n@@@ block ")
	for n, want := range wants {
		if n >= len(outputs) {
			t.Fatalf("no output of block %d", n)
		}
		if want == "" {
			continue
		}
		if err := expectLines(outputs[n], want); err != nil {
			t.Errorf("block %d: %v", n, err)
		}
	}
	// The postback reaches the partner in the background.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := expectLines(partnerLog.String(), partnerWant.String())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the partner: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPrintFields(t *testing.T) {
	answer := []byte(`{"id":7,"api_key":"k1","nested":{"a":{"b":"deep"}},"list":[1,"x"],"flag":false}`)
	for _, tc := range []struct{ names, want, err string }{
		{"api_key", "k1\n", ""},
		{"id,api_key", "7 k1\n", ""},
		{"nested.a.b", "deep\n", ""},
		{"list", "[1,\"x\"]\n", ""},
		{"flag", "false\n", ""},
		{"dev_key", "", `--field dev_key: the answer has no field "dev_key" (it has api_key, flag, id, list, nested)`},
		{"api_key.x", "", "--field api_key.x: the answer has no such field"},
	} {
		var out bytes.Buffer
		err := printFields(answer, tc.names, &out)
		if got := fmt.Sprint(err); tc.err != "" && got != tc.err || tc.err == "" && err != nil {
			t.Errorf("%s: error %v, want %q", tc.names, err, tc.err)
		}
		if out.String() != tc.want {
			t.Errorf("%s: printed %q, want %q", tc.names, out.String(), tc.want)
		}
	}
}

// syncBuffer is a buffer a background command writes while the test reads
// it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
