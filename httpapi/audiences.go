package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
)

// The Audiences APIs' receiving end (AppsFlyer's Audiences import API documentation): what a cohort
// sync, ours or Amplitude's, sends to AppsFlyer, answered as AppsFlyer
// answers. The caller's Bearer token is an app's API token; the audiences
// it creates are that app's. The admin API reads them.

func (s *Server) registerAudienceRoutes(mux *http.ServeMux) {
	s.handle(mux, "POST /api/audiences-external-api/audience", s.handleAudienceCreate)
	s.handle(mux, "POST /api/audiences-import-api/v2/{action}", s.handleAudienceImport)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/audiences", s.handleAudienceList)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/audiences/{id}", s.handleAudienceGet)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/audiences/{id}/members", s.handleAudienceMembers)
}

// maxAudienceBody bounds an import: 10,000 rows of every identifier fit.
const maxAudienceBody = 16 << 20

// audienceApp returns the app whose API token the request carries.
func (s *Server) audienceApp(r *http.Request) *touchpoint.App {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token = strings.TrimSpace(token); !ok || token == "" {
		return nil
	}
	if a := s.svc.AppByAPIToken(token); a != nil {
		return a.App
	}
	return nil
}

// writeWire answers as AppsFlyer does: compact JSON.
func writeWire(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"message":"Internal error"}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// writeForbidden is AppsFlyer's answer to a missing or wrong token.
func writeForbidden(w http.ResponseWriter) {
	writeWire(w, http.StatusForbidden, map[string]any{"message": "Forbidden"})
}

// externalError is an answer of the external API: an error code and a
// message. AppsFlyer's file types the message as a string, yet its example
// of 1000 gives an object of errors by field; we follow the example. (Its
// 1001 example spells the key "messege"; we follow the schema.)
func externalError(w http.ResponseWriter, code int, message any) {
	writeWire(w, http.StatusBadRequest, map[string]any{"error_code": code, "message": message})
}

// wireError answers a store failure in the API's shape: the external
// API's {"error_code":1020,"message":…} (createCall), or the import API's
// {"message":…}. A failure of ours is "Internal error occurred", with
// 500, not the file's 400, so that callers retry; a store that cannot
// write now answers 503.
func (s *Server) wireError(w http.ResponseWriter, r *http.Request, createCall bool, err error) {
	status := touchpoint.StatusOf(touchpoint.ErrorCode(err))
	msg := touchpoint.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.Logger.Error("audiences", "path", r.URL.Path, "err", err)
		status, msg = http.StatusInternalServerError, "Internal error occurred"
	}
	body := map[string]any{"message": msg}
	if createCall {
		body["error_code"] = 1020
	}
	writeWire(w, status, body)
}

// POST /api/audiences-external-api/audience
func (s *Server) handleAudienceCreate(w http.ResponseWriter, r *http.Request) {
	app := s.audienceApp(r)
	if app == nil {
		writeForbidden(w)
		return
	}
	var req struct {
		Name        *string           `json:"audience_name"`
		Platform    *string           `json:"platform"`
		Connections []json.RawMessage `json:"connections"`
		// Accepted; there are no account identifier policies here.
		IgnorePolicy *bool `json:"ignore_account_identifiers_policy"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		externalError(w, 1000, map[string]any{"errors": map[string]string{"body": "must be a JSON object"}})
		return
	}
	errs := map[string]string{}
	if req.Name == nil {
		errs["audience_name"] = "missing required key"
	} else if n := utf8.RuneCountInString(strings.TrimSpace(*req.Name)); n < touchpoint.MinAudienceName || n > touchpoint.MaxAudienceName {
		errs["audience_name"] = fmt.Sprintf("should be between %d and %d characters", touchpoint.MinAudienceName, touchpoint.MaxAudienceName)
	}
	if req.Platform == nil || (*req.Platform != string(touchpoint.Android) && *req.Platform != string(touchpoint.IOS)) {
		errs["platform"] = "must be android or ios"
	}
	if len(errs) > 0 {
		externalError(w, 1000, map[string]any{"errors": errs})
		return
	}
	if len(req.Connections) > 0 {
		// This server has no audience partners to connect: every
		// integration named is invalid.
		ids := make([]string, 0, len(req.Connections))
		for _, c := range req.Connections {
			var conn struct {
				ID json.RawMessage `json:"integration_id"`
			}
			json.Unmarshal(c, &conn)
			ids = append(ids, strings.Trim(string(conn.ID), `"`))
		}
		externalError(w, 1003, "The following integrations are invalid: "+strings.Join(ids, ", "))
		return
	}
	a := &touchpoint.Audience{App: app.ID, Name: strings.TrimSpace(*req.Name), Platform: touchpoint.Platform(*req.Platform)}
	if err := s.Store.CreateAudience(r.Context(), a); touchpoint.ErrorCode(err) == touchpoint.ECONFLICT {
		externalError(w, 1001, "Audience already exists under your account")
		return
	} else if err != nil {
		s.wireError(w, r, true, err)
		return
	}
	writeWire(w, http.StatusOK, map[string]any{"message": map[string]any{"audience_id": a.ID, "import_key": a.ImportKey}})
}

// audienceFields are the fields of a device row (the import API's documentation). A row may carry
// others: the file's device schema does not close its properties, so they
// are taken and ignored.
var audienceFields = []string{"app_id", "idfv", "idfa", "gaid", "oaid", "imei", "cuid", "emails", "phone", "phone_e164", "braze_id", "amplitude_id"}

// uuidRE is the form of IDFAs, IDFVs and GAIDs.
var uuidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// importMessage answers an import call.
func importMessage(w http.ResponseWriter, status int, msg string) {
	writeWire(w, status, map[string]any{"message": msg})
}

// POST /api/audiences-import-api/v2/{action}
//
// The file's enums of action and platform list "", which names no action
// and no platform: an empty action is no route, an empty platform is
// answered as a platform that is not the audience's.
func (s *Server) handleAudienceImport(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != touchpoint.AudienceAdd && action != touchpoint.AudienceRemove && action != touchpoint.AudienceOverwrite {
		importMessage(w, http.StatusNotFound, "Not Found: the action is add, remove or overwrite")
		return
	}
	app := s.audienceApp(r)
	if app == nil {
		writeForbidden(w)
		return
	}
	var req struct {
		ImportKey string                       `json:"import_key"`
		Platform  string                       `json:"platform"`
		Devices   []map[string]json.RawMessage `json:"devices"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAudienceBody))
	if err != nil {
		// 400, as the file answers every bad request (it lists no 413).
		importMessage(w, http.StatusBadRequest, fmt.Sprintf("The request body is larger than %d MB", maxAudienceBody>>20))
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		importMessage(w, http.StatusBadRequest, "The request body is not valid JSON: a JSON object with import_key, platform and devices")
		return
	}
	if req.ImportKey == "" {
		importMessage(w, http.StatusBadRequest, "import_key is required")
		return
	}
	aud, err := s.Store.FindAudienceByImportKey(r.Context(), req.ImportKey)
	if err == nil && aud.App != app.ID {
		err = touchpoint.Errorf(touchpoint.ENOTFOUND, "another app's audience")
	}
	if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
		importMessage(w, http.StatusBadRequest, "Audience does not exist under your account")
		return
	} else if err != nil {
		s.wireError(w, r, false, err)
		return
	}
	if req.Platform != string(aud.Platform) {
		importMessage(w, http.StatusBadRequest, "Invalid audience platform, this audience is already configured for Android/iOS. To use a different platform, please create a new audience in the UI")
		return
	}
	members, msg := audienceMembers(aud.Platform, action, req.Devices)
	if msg != "" {
		importMessage(w, http.StatusBadRequest, msg)
		return
	}
	if err := s.Store.ImportAudience(r.Context(), aud.ID, action, members); err != nil {
		s.wireError(w, r, false, err)
		return
	}
	importMessage(w, http.StatusOK, "The request was successful")
}

// audienceMembers checks an import's device rows by AppsFlyer's rules and
// returns their identifiers, or the message refusing them.
func audienceMembers(p touchpoint.Platform, action string, devices []map[string]json.RawMessage) ([]touchpoint.AudienceMember, string) {
	switch {
	case len(devices) == 0:
		return nil, "Device list cannot be empty"
	case len(devices) > touchpoint.MaxAudienceDevices:
		return nil, fmt.Sprintf("Cannot process more than %d devices per request (%d devices counted in this request)", touchpoint.MaxAudienceDevices, len(devices))
	}
	usable := touchpoint.AudienceIdentifiers[p]
	members := make([]touchpoint.AudienceMember, 0, len(devices))
	var noApp, noID, multi int
	understood := true
	for _, d := range devices {
		vals := make(map[string]string, len(d))
		for k, raw := range d {
			if !slices.Contains(audienceFields, k) {
				continue // a field of the row we do not keep
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				understood = false // the file's fields are strings
				continue
			}
			if v = strings.TrimSpace(v); v != "" {
				vals[k] = v
			}
		}
		appID := vals["app_id"]
		if appID == "" {
			noApp++
		}
		ids := 0
		has := false
		for _, k := range audienceFields[1:] {
			v, ok := vals[k]
			if !ok {
				continue
			}
			if (k == "idfa" || k == "idfv" || k == "gaid") && !uuidRE.MatchString(v) {
				understood = false
			}
			ids++
			has = has || slices.Contains(usable, k)
			members = append(members, touchpoint.AudienceMember{Identifier: k, Value: v, AppID: appID})
		}
		if !has {
			noID++
		}
		if ids > 1 {
			multi++
		}
	}
	switch {
	case noApp > 0:
		return nil, strconv.Itoa(noApp) + " or more of your rows do not contain an app id. You must attach an app id to each row."
	case noID > 0:
		return nil, strconv.Itoa(noID) + " or more of your rows does not contain a valid unique identifier"
	case !understood:
		return nil, "We couldn’t understand one or more of your device IDs"
	case action == touchpoint.AudienceRemove && multi > 0:
		return nil, strconv.Itoa(multi) + " or more of devices to remove contain more than one identifier per device"
	}
	return members, ""
}

// appAudience returns the audience of the path, of the path's app.
func (s *Server) appAudience(r *http.Request) (*touchpoint.Audience, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "audience id %q is not a number", r.PathValue("id"))
	}
	a, err := s.Store.FindAudience(r.Context(), id)
	if err == nil && a.App != r.PathValue("app_id") {
		err = touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s has no audience %d", r.PathValue("app_id"), id)
	}
	if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
		err = touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s has no audience %d", r.PathValue("app_id"), id)
	}
	return a, err
}

// GET /api/v1/apps/{app_id}/audiences
func (s *Server) handleAudienceList(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Store.FindApp(r.Context(), r.PathValue("app_id")); err != nil {
		writeError(w, r, err)
		return
	}
	as, err := s.Store.ListAudiences(r.Context(), r.PathValue("app_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"audiences": as})
}

// GET /api/v1/apps/{app_id}/audiences/{id}
func (s *Server) handleAudienceGet(w http.ResponseWriter, r *http.Request) {
	a, err := s.appAudience(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// AudienceMemberPage is a page of an audience's members; Next is the
// cursor of the next page ("identifier:value"), empty at the end.
type AudienceMemberPage struct {
	Members []touchpoint.AudienceMember `json:"members"`
	Next    string                      `json:"next_cursor,omitempty"`
}

// GET /api/v1/apps/{app_id}/audiences/{id}/members?identifier=&value=&cursor=&limit=
func (s *Server) handleAudienceMembers(w http.ResponseWriter, r *http.Request) {
	a, err := s.appAudience(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	_, limit, err := parsePage(url.Values{"limit": q["limit"]}, 1000, 10000)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ident := q.Get("identifier")
	if ident != "" && !slices.Contains(audienceFields[1:], ident) {
		writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "identifier %q: want one of %s", ident, strings.Join(audienceFields[1:], ", ")))
		return
	}
	var after touchpoint.AudienceMember
	if c := q.Get("cursor"); c != "" {
		after.Identifier, after.Value, _ = strings.Cut(c, ":")
	}
	if v := q.Get("value"); v != "" {
		// One identifier's membership: is it in the audience?
		if ident == "" {
			writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "value needs identifier"))
			return
		}
		page := AudienceMemberPage{Members: []touchpoint.AudienceMember{}}
		m, err := s.Store.FindAudienceMember(r.Context(), a.ID, ident, v)
		if err == nil {
			page.Members = append(page.Members, *m)
		} else if touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page)
		return
	}
	ms, err := s.Store.AudienceMembers(r.Context(), a.ID, ident, after, limit+1)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page := AudienceMemberPage{Members: ms}
	if len(ms) > limit {
		page.Members = ms[:limit]
		last := ms[limit-1]
		page.Next = last.Identifier + ":" + last.Value
	}
	writeJSON(w, http.StatusOK, page)
}
