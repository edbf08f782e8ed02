package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) touchpoint.Store {
		return MustOpen(t, filepath.Join(t.TempDir(), "touchpoint.db"), now)
	})
}

// MustOpen opens a store and closes it when the test ends.
func MustOpen(tb testing.TB, path string, now func() time.Time) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(path)
	db.Clock = now
	db.LoadInterval, db.IndexInterval = time.Hour, time.Hour // tests settle explicitly
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestReopen checks that touches recorded but not yet indexed are found by
// key after a clean restart, and that ids keep growing.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	now := func() time.Time { return storetest.Start }
	db := sqlite.NewDB(path)
	db.Clock, db.LoadInterval, db.IndexInterval = now, time.Hour, time.Hour
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	storetest.MustCreateApp(t, db, "com.example.game")
	a := storetest.NewTouch("com.example.game", "net", storetest.Start)
	if err := db.RecordTouches(context.Background(), []*touchpoint.Touch{a}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = MustOpen(t, path, now)
	b := storetest.NewTouch("com.example.game", "net", storetest.Start) // same time as a
	if err := db.RecordTouches(context.Background(), []*touchpoint.Touch{b}); err != nil {
		t.Fatal(err)
	}
	if b.ID <= a.ID {
		t.Fatalf("id %d after restart is not above %d", b.ID, a.ID)
	}
	got, err := db.TouchesByKeys(context.Background(), "com.example.game", []touchpoint.LookupKey{touchpoint.ClickIDKey("com.example.game", a.Params.ClickID)}, time.Time{})
	if err != nil || len(got) != 2 {
		t.Fatalf("by click id after restart: %d touches, %v", len(got), err)
	}
}

// TestCrash records touches in a child process that is killed without
// closing the store, then checks every touch it acknowledged is there and
// can be found by key.
func TestCrash(t *testing.T) {
	if path := os.Getenv("TOUCHPOINT_CRASH_CHILD"); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), "TOUCHPOINT_CRASH_CHILD="+path)
	out, _ := cmd.Output() // the child dies by SIGKILL
	var acked []int64
	for _, line := range strings.Split(string(out), "\n") {
		var id int64
		if _, err := fmt.Sscanf(line, "acked %d", &id); err == nil {
			acked = append(acked, id)
		}
	}
	if len(acked) < 100 {
		t.Fatalf("the child acknowledged only %d touches; output:\n%s", len(acked), out)
	}
	db := MustOpen(t, path, time.Now)
	for _, id := range acked {
		tc, err := db.FindTouch(context.Background(), "com.example.game", id)
		if err != nil {
			t.Fatalf("acknowledged touch %d: %v", id, err)
		}
		got, err := db.TouchesByKeys(context.Background(), "com.example.game", []touchpoint.LookupKey{touchpoint.ClickIDKey("com.example.game", tc.Params.ClickID)}, time.Time{})
		if err != nil || len(got) != 1 || got[0].ID != id {
			t.Fatalf("touch %d by click id: %v, %v", id, got, err)
		}
	}
}

func crashChild(path string) {
	db := sqlite.NewDB(path)
	// Some touches loaded and indexed, some not, when the process dies.
	db.LoadInterval, db.IndexInterval = 20*time.Millisecond, 50*time.Millisecond
	if err := db.Open(); err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	storetest.MustCreateApp(&testing.T{}, db, "com.example.game")
	deadline := time.Now().Add(300 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		tc := storetest.NewTouch("com.example.game", "net", time.Now())
		tc.Params.ClickID = fmt.Sprintf("crash-%d", i)
		if err := db.RecordTouches(context.Background(), []*touchpoint.Touch{tc}); err != nil {
			fmt.Println("record:", err)
			os.Exit(2)
		}
		fmt.Printf("acked %d\n", tc.ID)
	}
	p, _ := os.FindProcess(os.Getpid())
	p.Kill()
	select {}
}

// TestOneProcess checks that a store cannot be opened twice at once (two
// openers would share one touch journal), and can once the first closes.
func TestOneProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	first := sqlite.NewDB(path)
	if err := first.Open(); err != nil {
		t.Fatal(err)
	}
	second := sqlite.NewDB(path)
	err := second.Open()
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		second.Close()
		t.Fatalf("second Open: %v, want an in-use error", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := second.Open(); err != nil {
		t.Fatalf("Open after the first closed: %v", err)
	}
	second.Close()
}
