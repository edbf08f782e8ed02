package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/internal/mmdbtest"
)

// TestServeGeoIPRefused: a --geoip-db that cannot be used stops serve
// before it starts, saying why.
func TestServeGeoIPRefused(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	os.WriteFile(garbage, []byte("not a database"), 0o600)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.mmdb"), "is not a readable MaxMind DB (.mmdb) file"},
		{garbage, "is not a readable MaxMind DB (.mmdb) file"},
		{mmdbtest.Write(t, "GeoLite2-ASN"), `is a "GeoLite2-ASN" database: want a City or Country one`},
	} {
		cmd := &ServeCommand{Stdout: io.Discard, Stderr: io.Discard}
		err := cmd.Run(context.Background(), []string{"--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--geoip-db", c.path})
		if err == nil || !strings.HasPrefix(err.Error(), "--geoip-db: "+c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--geoip-db %s: %v, want an error saying %q", filepath.Base(c.path), err, c.want)
		}
	}
}

// TestServeGeoIP: with --geoip-db (or TOUCHPOINT_GEOIP_DB) the server
// says which database it opened, and locates a click.
func TestServeGeoIP(t *testing.T) {
	t.Setenv("TOUCHPOINT_GEOIP_DB", mmdbtest.Write(t, "DBIP-City-Lite"))
	var log bytes.Buffer
	srv, _, stop := serveLog(t, &log, "--data-dir", t.TempDir(), "--log-level", "info", "--trusted-proxies", "127.0.0.1")
	if srv.GeoIP == nil || srv.GeoIP.Type != "DBIP-City-Lite" {
		t.Fatalf("server's GeoIP: %+v", srv.GeoIP)
	}
	if l := srv.GeoIP.Lookup("81.2.69.142"); l.CountryCode != "GB" {
		t.Errorf("lookup: %+v", l)
	}
	resp, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), `msg="geoip database"`) || !strings.Contains(log.String(), "type=DBIP-City-Lite") {
		t.Errorf("log:\n%s", log.String())
	}
}
