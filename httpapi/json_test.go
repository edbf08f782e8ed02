package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAnswersNotHTMLEscaped: admin answers are JSON for operators and
// programs, not for a page: a postback template's & < > come back as they
// are, not as \u0026 \u003c \u003e.
func TestAnswersNotHTMLEscaped(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	tpl := "https://pb.example.net/i?c=(clickid)&gaid=(advertiserId)&note=<a>"
	path := "/api/v1/apps/com.example.game/partners/examplenet_int"
	s.mustAPI(t, 200, "PATCH", path, map[string]any{"postbacks": []any{
		map[string]any{"kind": "install_postback", "url": tpl}}}, nil)

	for _, p := range []string{path, "/api/v1/apps/com.example.game/partners"} {
		var raw json.RawMessage
		s.mustAPI(t, 200, "GET", p, nil, &raw)
		if !strings.Contains(string(raw), tpl) {
			t.Errorf("GET %s: the template is not in the answer as it is:\n%s", p, raw)
		}
		for _, esc := range []string{`\u0026`, `\u003c`, `\u003e`} {
			if strings.Contains(string(raw), esc) {
				t.Errorf("GET %s: the answer has %s:\n%s", p, esc, raw)
			}
		}
	}

	// Errors are written by the same helper.
	var raw json.RawMessage
	if code := s.api(t, "GET", path+"&x<y>", nil, &raw); code != 404 {
		t.Fatalf("GET an unknown partner = %d: %s", code, raw)
	}
	if !strings.Contains(string(raw), "examplenet_int&x<y>") {
		t.Errorf("an error answer does not name the partner as it is: %s", raw)
	}
}
