package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// keyFields decodes the key members of an app or project answer, to tell
// a member that is absent from one that is empty.
type keyFields map[string]json.RawMessage

func (k keyFields) str(t *testing.T, name string) string {
	t.Helper()
	var s string
	if raw, ok := k[name]; ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return s
}

// TestAppKeysShownOnce: an app's dev key and API token are in the create
// answer and in a rotation's, and nowhere else; each authenticates its API
// until rotated, and only the new one after.
func TestAppKeysShownOnce(t *testing.T) {
	s := startServer(t)
	var created keyFields
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game"}, &created)
	devKey, apiToken := created.str(t, "dev_key"), created.str(t, "api_token")
	if len(devKey) != 22 || len(apiToken) != 40 || created.str(t, "dev_key_last4") != devKey[18:] || created.str(t, "api_token_last4") != apiToken[36:] {
		t.Fatalf("create answer: %s", created)
	}
	var got keyFields
	s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game", nil, &got)
	var list struct{ Apps []keyFields }
	s.mustAPI(t, 200, "GET", "/api/v1/apps", nil, &list)
	var patched keyFields
	s.mustAPI(t, 200, "PATCH", "/api/v1/apps/com.example.game", map[string]any{"name": "Renamed"}, &patched)
	if len(list.Apps) != 1 {
		t.Fatalf("list: %+v", list)
	}
	for name, k := range map[string]keyFields{"get": got, "list": list.Apps[0], "patch": patched} {
		if _, ok := k["dev_key"]; ok {
			t.Errorf("%s shows the dev key: %s", name, k["dev_key"])
		}
		if _, ok := k["api_token"]; ok {
			t.Errorf("%s shows the API token: %s", name, k["api_token"])
		}
		if k.str(t, "dev_key_last4") != devKey[18:] || k.str(t, "api_token_last4") != apiToken[36:] {
			t.Errorf("%s: last four characters %s and %s, want %s and %s", name, k["dev_key_last4"], k["api_token_last4"], devKey[18:], apiToken[36:])
		}
	}

	launch := func(key string) int {
		t.Helper()
		code, _ := post(t, s.URL()+"/sdk/v1/apps/com.example.game/launches", "application/json",
			[]byte(`{"advertising_id":"38400000-8cf0-11bd-b23e-10b96e40000d"}`), "Authorization", "Bearer "+key)
		return code
	}
	audience := func(token, name string) int {
		t.Helper()
		code, _ := post(t, s.URL()+"/api/audiences-external-api/audience", "application/json",
			fmt.Appendf(nil, `{"audience_name":%q,"platform":"android"}`, name), "Authorization", "Bearer "+token)
		return code
	}
	if code := launch(devKey); code != 200 {
		t.Fatalf("launch with the dev key: %d", code)
	}
	if code := launch(otherKey(devKey)); code != 401 {
		t.Fatalf("launch with another key: %d, want 401", code)
	}
	if code := audience(apiToken, "Before"); code != 200 {
		t.Fatalf("audience with the API token: %d", code)
	}

	var rotated keyFields
	s.mustAPI(t, 200, "POST", "/api/v1/apps/com.example.game/keys/rotate", map[string]any{"key": "dev_key"}, &rotated)
	newKey := rotated.str(t, "dev_key")
	if _, shown := rotated["api_token"]; len(newKey) != 22 || newKey == devKey || shown || rotated.str(t, "dev_key_last4") != newKey[18:] {
		t.Fatalf("rotate dev_key answer: %s", rotated)
	}
	if code := launch(devKey); code != 401 {
		t.Errorf("launch with the rotated-out dev key: %d, want 401", code)
	}
	if code := launch(newKey); code != 200 {
		t.Errorf("launch with the new dev key: %d, want 200", code)
	}
	if code := audience(apiToken, "Between"); code != 200 {
		t.Errorf("rotating the dev key changed the API token: %d", code)
	}

	rotated = nil // a fresh map: Unmarshal merges into one it is given
	s.mustAPI(t, 200, "POST", "/api/v1/apps/com.example.game/keys/rotate", map[string]any{"key": "api_token"}, &rotated)
	newToken := rotated.str(t, "api_token")
	if _, shown := rotated["dev_key"]; len(newToken) != 40 || newToken == apiToken || shown || rotated.str(t, "dev_key_last4") != newKey[18:] {
		t.Fatalf("rotate api_token answer: %s", rotated)
	}
	if code := audience(apiToken, "After old"); code != 403 {
		t.Errorf("audience with the rotated-out API token: %d, want 403", code)
	}
	if code := audience(newToken, "After new"); code != 200 {
		t.Errorf("audience with the new API token: %d, want 200", code)
	}
	if code := launch(newKey); code != 200 {
		t.Errorf("rotating the API token changed the dev key: %d", code)
	}

	for _, tc := range []struct {
		path string
		body any
		code int
		msg  string
	}{
		{"/api/v1/apps/com.example.game/keys/rotate", map[string]any{"key": "api_key"}, 400, "an app's keys are dev_key and api_token"},
		{"/api/v1/apps/com.example.game/keys/rotate", map[string]any{}, 400, "an app's keys are dev_key and api_token"},
		{"/api/v1/apps/com.example.game/keys/rotate", map[string]any{"key": "dev_key", "grace": "1h"}, 400, "unknown field"},
		{"/api/v1/apps/com.example.game/keys/rotate", nil, 400, "body is empty"},
		{"/api/v1/apps/com.example.missing/keys/rotate", map[string]any{"key": "dev_key"}, 404, "not found"},
	} {
		var e struct{ Error string }
		if code := s.api(t, "POST", tc.path, tc.body, &e); code != tc.code || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("POST %s %v = %d %q, want %d with %q", tc.path, tc.body, code, e.Error, tc.code, tc.msg)
		}
	}
	if code := launch(newKey); code != 200 {
		t.Errorf("a refused rotation changed the dev key: %d", code)
	}
}

// TestProjectKeysShownOnce: a project's API and secret keys are in the
// create answer and in a rotation's only; ingestion takes the API key
// until it is rotated, and only the new one after.
func TestProjectKeysShownOnce(t *testing.T) {
	s := startServer(t)
	var created keyFields
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Game"}, &created)
	var id int64
	json.Unmarshal(created["id"], &id)
	apiKey, secret := created.str(t, "api_key"), created.str(t, "secret_key")
	if id == 0 || len(apiKey) != 32 || len(secret) != 32 || created.str(t, "api_key_last4") != apiKey[28:] || created.str(t, "secret_key_last4") != secret[28:] {
		t.Fatalf("create answer: %s", created)
	}
	path := fmt.Sprintf("/api/v1/projects/%d", id)
	var got keyFields
	s.mustAPI(t, 200, "GET", path, nil, &got)
	var list struct{ Projects []keyFields }
	s.mustAPI(t, 200, "GET", "/api/v1/projects", nil, &list)
	var patched keyFields
	s.mustAPI(t, 200, "PATCH", path, map[string]any{"name": "Renamed"}, &patched)
	if len(list.Projects) != 1 {
		t.Fatalf("list: %+v", list)
	}
	for name, k := range map[string]keyFields{"get": got, "list": list.Projects[0], "patch": patched} {
		if _, ok := k["api_key"]; ok {
			t.Errorf("%s shows the API key: %s", name, k["api_key"])
		}
		if _, ok := k["secret_key"]; ok {
			t.Errorf("%s shows the secret key: %s", name, k["secret_key"])
		}
		if k.str(t, "api_key_last4") != apiKey[28:] || k.str(t, "secret_key_last4") != secret[28:] {
			t.Errorf("%s: last four characters %s and %s", name, k["api_key_last4"], k["secret_key_last4"])
		}
	}

	upload := func(key string) (int, string) {
		t.Helper()
		return post(t, s.URL()+"/2/httpapi", "application/json",
			fmt.Appendf(nil, `{"api_key":%q,"events":[{"device_id":"device-1","event_type":"open"}]}`, key))
	}
	if code, body := upload(apiKey); code != 200 {
		t.Fatalf("upload with the API key: %d %s", code, body)
	}
	if code, body := upload(secret); code != 400 || !strings.Contains(body, "Invalid API key") {
		t.Fatalf("upload with the secret key: %d %s", code, body)
	}

	var rotated keyFields
	s.mustAPI(t, 200, "POST", path+"/keys/rotate", map[string]any{"key": "api_key"}, &rotated)
	newKey := rotated.str(t, "api_key")
	if _, shown := rotated["secret_key"]; len(newKey) != 32 || newKey == apiKey || shown || rotated.str(t, "api_key_last4") != newKey[28:] {
		t.Fatalf("rotate api_key answer: %s", rotated)
	}
	if code, body := upload(apiKey); code != 400 || !strings.Contains(body, "Invalid API key") {
		t.Errorf("upload with the rotated-out API key: %d %s, want 400 Invalid API key", code, body)
	}
	if code, body := upload(newKey); code != 200 {
		t.Errorf("upload with the new API key: %d %s", code, body)
	}

	rotated = nil
	s.mustAPI(t, 200, "POST", path+"/keys/rotate", map[string]any{"key": "secret_key"}, &rotated)
	newSecret := rotated.str(t, "secret_key")
	if _, shown := rotated["api_key"]; len(newSecret) != 32 || newSecret == secret || shown || rotated.str(t, "secret_key_last4") != newSecret[28:] {
		t.Fatalf("rotate secret_key answer: %s", rotated)
	}
	got = nil
	s.mustAPI(t, 200, "GET", path, nil, &got)
	if got.str(t, "api_key_last4") != newKey[28:] || got.str(t, "secret_key_last4") != newSecret[28:] {
		t.Fatalf("after rotations: %s", got)
	}
	if code, body := upload(newKey); code != 200 {
		t.Errorf("rotating the secret key changed the API key: %d %s", code, body)
	}

	for _, tc := range []struct {
		path string
		body any
		code int
		msg  string
	}{
		{path + "/keys/rotate", map[string]any{"key": "dev_key"}, 400, "a project's keys are api_key and secret_key"},
		{path + "/keys/rotate", map[string]any{"key": ""}, 400, "a project's keys are api_key and secret_key"},
		{path + "/keys/rotate", map[string]any{"key": 1}, 400, "not valid JSON"},
		{"/api/v1/projects/77/keys/rotate", map[string]any{"key": "api_key"}, 404, "not found"},
		{"/api/v1/projects/abc/keys/rotate", map[string]any{"key": "api_key"}, 404, "not found"},
	} {
		var e struct{ Error string }
		if code := s.api(t, "POST", tc.path, tc.body, &e); code != tc.code || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("POST %s %v = %d %q, want %d with %q", tc.path, tc.body, code, e.Error, tc.code, tc.msg)
		}
	}
	if code, body := upload(newKey); code != 200 {
		t.Errorf("a refused rotation changed the API key: %d %s", code, body)
	}
}

// otherKey is a key that differs from key in its last character.
func otherKey(key string) string {
	last := byte('x')
	if key[len(key)-1] == last {
		last = 'y'
	}
	return key[:len(key)-1] + string(last)
}
