// Package afspec checks requests and answers against AppsFlyer's own
// OpenAPI files (testdata/openapi: the S2S in-app events API v3 and the
// Audiences import and external APIs), for tests: the bodies Touchpoint
// sends to AppsFlyer and the answers its own receiving ends give. The
// files contradict themselves in places; each patch below says where and
// follows the file's description and example (testdata/openapi/README.md
// lists them).
//
// Schemas are JSON Schema draft 4, the dialect OpenAPI 3.0 schemas extend,
// validated with github.com/santhosh-tekuri/jsonschema/v6; the YAML is
// read with go.yaml.in/yaml/v3.
package afspec

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/touchpointhq/touchpoint"
	"go.yaml.in/yaml/v3"
)

//go:embed testdata/openapi/*.yaml
var files embed.FS

// The files, as named in testdata/openapi.
const (
	S2SFile      = "s2s_events_api3.yaml"
	ImportFile   = "audience_import_api.yaml"
	ExternalFile = "audience_external_api.yaml"
)

// MaxS2SBody is the S2S API's limit on a body: "JSON payload size: up to
// 1KB".
const MaxS2SBody = 1024

// Spec holds the compiled schemas.
type Spec struct {
	s2s        map[touchpoint.Platform]*jsonschema.Schema
	s2sProps   map[touchpoint.Platform][]string // the members each branch declares
	s2sAnswers map[int]*jsonschema.Schema
	currencies []string

	importBody    *jsonschema.Schema
	importActions []string
	importAnswers map[int]*jsonschema.Schema

	createBody    *jsonschema.Schema
	createAnswers map[int]*jsonschema.Schema
}

// Load reads and compiles the files.
func Load() (*Spec, error) {
	sp := &Spec{s2s: map[touchpoint.Platform]*jsonschema.Schema{}, s2sProps: map[touchpoint.Platform][]string{}}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4) // OpenAPI 3.0's schemas extend draft 4 (wright-00)
	c.RegisterFormat(&jsonschema.Format{Name: "json", Validate: jsonFormat})

	// S2S in-app events.
	doc, err := read(S2SFile)
	if err != nil {
		return nil, err
	}
	schemas := doc.obj("components", "schemas")
	branches := map[touchpoint.Platform]string{touchpoint.Android: "AndroidIds", touchpoint.IOS: "IosIds"}
	if err := checkOneOf(doc); err != nil {
		return nil, err
	}
	for p, name := range branches {
		props := doc.obj("components", "schemas", name, "properties")
		if props == nil {
			return nil, fmt.Errorf("%s: no %s properties", S2SFile, name)
		}
		for _, patch := range []func(node) error{patchEventTime, patchSharingFilter} {
			if err := patch(props); err != nil {
				return nil, fmt.Errorf("%s, %s: %w", S2SFile, name, err)
			}
		}
		for k := range props {
			sp.s2sProps[p] = append(sp.s2sProps[p], k)
		}
		slices.Sort(sp.s2sProps[p])
	}
	if err := patchAppSetID(doc.obj("components", "schemas", "AndroidIds", "properties")); err != nil {
		return nil, fmt.Errorf("%s: %w", S2SFile, err)
	}
	if err := patchEventTime(doc.obj("components", "schemas", "IdfaId", "properties")); err != nil {
		return nil, fmt.Errorf("%s, IdfaId: %w", S2SFile, err)
	}
	if err := patchConsent(schemas); err != nil {
		return nil, fmt.Errorf("%s: %w", S2SFile, err)
	}
	sp.currencies, err = currencyEnum(schemas)
	if err != nil {
		return nil, err
	}
	op := doc.obj("paths", "/inappevent/{app_id}", "post")
	if sp.s2sAnswers, err = lift(schemas, "s2s", op); err != nil {
		return nil, fmt.Errorf("%s: %w", S2SFile, err)
	}
	if err := c.AddResource(S2SFile, map[string]any(doc)); err != nil {
		return nil, err
	}
	if err := compileAnswers(c, S2SFile, "s2s", sp.s2sAnswers); err != nil {
		return nil, err
	}
	for p, name := range branches {
		if sp.s2s[p], err = c.Compile(S2SFile + "#/components/schemas/" + name); err != nil {
			return nil, err
		}
	}

	// Audiences import API.
	doc, err = read(ImportFile)
	if err != nil {
		return nil, err
	}
	schemas = doc.obj("components", "schemas")
	op = doc.obj("paths", "/v2/{action}", "post")
	schemas["__request"] = map[string]any(op.obj("requestBody", "content", "application/json", "schema"))
	for _, prm := range node(op).list("parameters") {
		if prm, ok := prm.(map[string]any); ok && prm["name"] == "action" {
			for _, a := range node(prm).list("schema", "enum") {
				sp.importActions = append(sp.importActions, fmt.Sprint(a))
			}
		}
	}
	if sp.importAnswers, err = lift(schemas, "import", op); err != nil {
		return nil, fmt.Errorf("%s: %w", ImportFile, err)
	}
	if err := c.AddResource(ImportFile, map[string]any(doc)); err != nil {
		return nil, err
	}
	if err := compileAnswers(c, ImportFile, "import", sp.importAnswers); err != nil {
		return nil, err
	}
	if sp.importBody, err = c.Compile(ImportFile + "#/components/schemas/__request"); err != nil {
		return nil, err
	}

	// Audiences external API: the create call.
	doc, err = read(ExternalFile)
	if err != nil {
		return nil, err
	}
	schemas = doc.obj("components", "schemas")
	if err := patchError1000(schemas); err != nil {
		return nil, fmt.Errorf("%s: %w", ExternalFile, err)
	}
	op = doc.obj("paths", "/audience", "post")
	schemas["__request"] = map[string]any(op.obj("requestBody", "content", "application/json", "schema"))
	if sp.createAnswers, err = lift(schemas, "create", op); err != nil {
		return nil, fmt.Errorf("%s: %w", ExternalFile, err)
	}
	if err := c.AddResource(ExternalFile, map[string]any(doc)); err != nil {
		return nil, err
	}
	if err := compileAnswers(c, ExternalFile, "create", sp.createAnswers); err != nil {
		return nil, err
	}
	if sp.createBody, err = c.Compile(ExternalFile + "#/components/schemas/__request"); err != nil {
		return nil, err
	}
	return sp, nil
}

// load is Load, once: a Spec is only read after it is made.
var load = sync.OnceValues(Load)

// MustLoad is Load for tests, shared by every caller.
func MustLoad(t testing.TB) *Spec {
	t.Helper()
	sp, err := load()
	if err != nil {
		t.Fatalf("afspec: %v", err)
	}
	return sp
}

// S2SRequest checks the body of POST /inappevent/{app_id} for an app of
// platform p: at most 1 KB, valid against the file's branch for p, and
// made of members that branch declares.
//
// The file's body is oneOf [AndroidIds, IosIds], but neither branch closes
// its properties and the appsflyer_id patterns are unanchored
// (\d{13}-\d{19}, \d{13}-\d{7}): a 13+19-digit appsflyer_id matches both,
// so every body is valid under both branches and a strict oneOf refuses
// it. The branch is the app's platform instead, and the closed set of
// members (stricter than the file) keeps a body from carrying the other
// platform's ids or fields the API does not know.
func (sp *Spec) S2SRequest(p touchpoint.Platform, body []byte) error {
	if len(body) > MaxS2SBody {
		return fmt.Errorf("the body is %d bytes, over the S2S API's 1 KB", len(body))
	}
	sch := sp.s2s[p]
	if sch == nil {
		return fmt.Errorf("no S2S branch for platform %q", p)
	}
	v, err := decode(body)
	if err != nil {
		return err
	}
	if obj, ok := v.(map[string]any); ok {
		for k := range obj {
			if !slices.Contains(sp.s2sProps[p], k) {
				return fmt.Errorf("member %q is not a property of the %s branch", k, p)
			}
		}
	}
	return sch.Validate(v)
}

// S2SResponse checks an answer of POST /inappevent/{app_id}: a status the
// file lists, application/json, and a body its schema takes.
func (sp *Spec) S2SResponse(status int, contentType string, body []byte) error {
	return answer(sp.s2sAnswers, status, contentType, body)
}

// Currencies is the S2S eventCurrency enum (the same in both branches).
func (sp *Spec) Currencies() []string { return slices.Clone(sp.currencies) }

// Properties are the members the S2S branch of platform p declares.
func (sp *Spec) Properties(p touchpoint.Platform) []string { return slices.Clone(sp.s2sProps[p]) }

// ImportRequest checks the body of POST /api/audiences-import-api/v2/{action}
// against the schema and the rules the file gives in prose:
//   - action and platform are among the enums, but not "": both enums
//     list "", which names no action and no platform;
//   - every row has an app_id and one of the platform's identifiers: on
//     Android gaid, oaid (the description's "oiad" is the schema's oaid),
//     imei, cuid, braze_id or amplitude_id; on iOS idfv, cuid, braze_id or
//     amplitude_id, and idfa, which the description does not list but the
//     schema has (our documented choice, touchpoint.AudienceIdentifiers);
//   - a removal names one identifier a row ("more than one identifier
//     per device" is refused).
func (sp *Spec) ImportRequest(action string, body []byte) error {
	if action == "" || !slices.Contains(sp.importActions, action) {
		return fmt.Errorf("action %q: want one of %q, not empty", action, sp.importActions)
	}
	v, err := decode(body)
	if err != nil {
		return err
	}
	if err := sp.importBody.Validate(v); err != nil {
		return err
	}
	var req struct {
		Platform string           `json:"platform"`
		Devices  []map[string]any `json:"devices"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return err
	}
	usable := map[string][]string{
		"android": {"gaid", "oaid", "imei", "cuid", "braze_id", "amplitude_id"},
		"ios":     {"idfv", "idfa", "cuid", "braze_id", "amplitude_id"},
	}[req.Platform]
	if usable == nil {
		return fmt.Errorf("platform %q: want android or ios", req.Platform)
	}
	known := []string{"idfv", "idfa", "gaid", "oaid", "imei", "cuid", "emails", "phone", "phone_e164", "braze_id", "amplitude_id"}
	for i, d := range req.Devices {
		if app, _ := d["app_id"].(string); app == "" {
			return fmt.Errorf("device %d has no app_id", i)
		}
		ids, ok := 0, false
		for k, val := range d {
			if val == "" || !slices.Contains(known, k) {
				continue // empty, or a field of the row's own: the schema leaves rows open
			}
			ids++
			ok = ok || slices.Contains(usable, k)
		}
		if !ok {
			return fmt.Errorf("device %d has none of %s's identifiers %q", i, req.Platform, usable)
		}
		if action == "remove" && ids > 1 {
			return fmt.Errorf("device %d to remove has %d identifiers, want one", i, ids)
		}
	}
	return nil
}

// ImportResponse checks an answer of the import API.
func (sp *Spec) ImportResponse(status int, contentType string, body []byte) error {
	return answer(sp.importAnswers, status, contentType, body)
}

// CreateRequest checks the body of POST /api/audiences-external-api/audience.
// The file gives audience_name "minimum: 2" and "maximum: 100", number
// keywords that constrain no string; the 2 to 100 characters they mean are
// checked here.
func (sp *Spec) CreateRequest(body []byte) error {
	v, err := decode(body)
	if err != nil {
		return err
	}
	if err := sp.createBody.Validate(v); err != nil {
		return err
	}
	if obj, ok := v.(map[string]any); ok {
		name, _ := obj["audience_name"].(string)
		if n := utf8.RuneCountInString(name); n < 2 || n > 100 {
			return fmt.Errorf("audience_name %q has %d characters, want 2 to 100", name, n)
		}
	}
	return nil
}

// CreateResponse checks an answer of the create call. The file lists 200
// and 400 only; a bad token is answered 403 {"message":"Forbidden"}, as
// the import API documents for the same token.
func (sp *Spec) CreateResponse(status int, contentType string, body []byte) error {
	if status == 403 {
		return answer(sp.importAnswers, status, contentType, body)
	}
	return answer(sp.createAnswers, status, contentType, body)
}

// answer checks an answer against a file's responses.
func answer(answers map[int]*jsonschema.Schema, status int, contentType string, body []byte) error {
	sch, ok := answers[status]
	if !ok {
		return fmt.Errorf("status %d is not among the responses the file lists", status)
	}
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", contentType)
	}
	v, err := decode(body)
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// decode reads one JSON value as the validator wants it.
func decode(body []byte) (any, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("not one JSON value: %w: %.200q", err, body)
	}
	return v, nil
}

// jsonFormat is the files' "format: json" (eventValue, custom_data), as
// the description has it: a string holding a JSON object, or "" for no
// value.
func jsonFormat(v any) error {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(s), &obj); err != nil || obj == nil {
		return fmt.Errorf("%.80q does not hold a JSON object", s)
	}
	return nil
}

// node is a YAML mapping as read.
type node map[string]any

// obj walks down mappings; nil when a step is missing.
func (n node) obj(path ...string) node {
	var cur any = map[string]any(n)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	m, _ := cur.(map[string]any)
	return m
}

// list walks down mappings to a sequence.
func (n node) list(path ...string) []any {
	parent := n.obj(path[:len(path)-1]...)
	l, _ := parent[path[len(path)-1]].([]any)
	return l
}

// read loads a file as JSON-shaped values: mappings with string keys
// (the files key responses by number), numbers as json.Number.
func read(name string) (node, error) {
	raw, err := files.ReadFile("testdata/openapi/" + name)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b, err := json.Marshal(stringKeys(doc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a mapping", name)
	}
	return m, nil
}

func stringKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = stringKeys(x)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = stringKeys(x)
		}
		return m
	case []any:
		for i, x := range v {
			v[i] = stringKeys(x)
		}
	}
	return v
}

// lift copies an operation's response schemas into components/schemas as
// __<prefix>_<status> (so that they compile with the document's $refs)
// and returns the statuses, with nil schemas to be compiled.
func lift(schemas node, prefix string, op node) (map[int]*jsonschema.Schema, error) {
	responses := op.obj("responses")
	if len(responses) == 0 {
		return nil, errors.New("no responses")
	}
	out := map[int]*jsonschema.Schema{}
	for code := range responses {
		status, err := strconv.Atoi(code)
		if err != nil {
			return nil, fmt.Errorf("response %q is not a status", code)
		}
		sch := responses.obj(code, "content", "application/json", "schema")
		if sch == nil {
			return nil, fmt.Errorf("response %d has no application/json schema", status)
		}
		schemas[fmt.Sprintf("__%s_%d", prefix, status)] = map[string]any(sch)
		out[status] = nil
	}
	return out, nil
}

// compileAnswers compiles the response schemas lift copied.
func compileAnswers(c *jsonschema.Compiler, file, prefix string, answers map[int]*jsonschema.Schema) error {
	for status := range answers {
		sch, err := c.Compile(fmt.Sprintf("%s#/components/schemas/__%s_%d", file, prefix, status))
		if err != nil {
			return err
		}
		answers[status] = sch
	}
	return nil
}

// checkOneOf confirms the S2S body is still the ambiguous oneOf that
// S2SRequest replaces by a choice of branch.
func checkOneOf(doc node) error {
	sch := doc.obj("paths", "/inappevent/{app_id}", "post", "requestBody", "content", "application/json", "schema")
	one, _ := sch["oneOf"].([]any)
	if len(one) != 2 {
		return fmt.Errorf("%s: the request body is no longer oneOf two branches: revisit S2SRequest", S2SFile)
	}
	for _, name := range []string{"AndroidIds", "IosIds"} {
		props := doc.obj("components", "schemas", name)
		if _, closed := props["additionalProperties"]; closed {
			return fmt.Errorf("%s: %s now sets additionalProperties: revisit S2SRequest", S2SFile, name)
		}
	}
	return nil
}

// eventTimeRE is eventTime as its description and example give it:
// yyyy-mm-dd hh:mm:ss.sss, UTC.
const eventTimeRE = `^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}$`

// patchEventTime: eventTime is "format: date-time" (RFC 3339), but the
// description says "yyyy-mm-dd hh:mm:ss.sss" and the example is
// "2019-05-15 12:17:01.123": the format gives way to a pattern of the
// described form.
func patchEventTime(props node) error {
	et := props.obj("eventTime")
	if et["format"] != "date-time" || et["example"] != "2019-05-15 12:17:01.123" {
		return errors.New("eventTime is no longer format date-time with the example 2019-05-15 12:17:01.123: revisit patchEventTime")
	}
	delete(et, "format")
	et["pattern"] = eventTimeRE
	return nil
}

// patchSharingFilter: sharing_filter is "type: array" with a oneOf of a
// list or the string "all", and the description's example is
// "sharing_filter": "all". The outer type, items and minItems go; the
// file's own oneOf stays.
func patchSharingFilter(props node) error {
	sf := props.obj("sharing_filter")
	one, _ := sf["oneOf"].([]any)
	if sf["type"] != "array" || len(one) != 2 || !strings.Contains(fmt.Sprint(sf["description"]), `"sharing_filter": "all"`) {
		return errors.New("sharing_filter is no longer an array described with the string \"all\": revisit patchSharingFilter")
	}
	delete(sf, "type")
	delete(sf, "items")
	delete(sf, "minItems")
	return nil
}

// patchConsent: consent_data is oneOf [TCFConsent, ManualConsent], but
// neither requires anything, so every value matches both and the oneOf
// refuses it. As their descriptions say, each is an object of its own
// member: TCFConsent now requires tcf, ManualConsent manual.
func patchConsent(schemas node) error {
	for name, member := range map[string]string{"TCFConsent": "tcf", "ManualConsent": "manual"} {
		sch := schemas.obj(name)
		if _, ok := sch["required"]; ok || sch.obj("properties", member) == nil {
			return fmt.Errorf("%s now requires members or has no %s: revisit patchConsent", name, member)
		}
		sch["required"] = []any{member}
	}
	return nil
}

// appSetIDRE is a version-4 UUID, the form app_set_id.id's "format: UUID"
// and example (f47ac10b-58cc-4372-a567-0e02b2c3d479) give and its garbled
// pattern was meant to be.
const appSetIDRE = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$`

// patchAppSetID: AndroidIds.app_set_id.id.pattern is not a regular
// expression, and the whole branch fails to compile for it.
func patchAppSetID(props node) error {
	id := props.obj("app_set_id", "properties", "id")
	pat, _ := id["pattern"].(string)
	if _, err := regexp.Compile(pat); err == nil {
		return fmt.Errorf("app_set_id.id.pattern %q is a regular expression now: revisit patchAppSetID", pat)
	}
	if !regexp.MustCompile(appSetIDRE).MatchString(fmt.Sprint(id["example"])) {
		return fmt.Errorf("app_set_id.id's example %v is not a version-4 UUID: revisit patchAppSetID", id["example"])
	}
	id["pattern"] = appSetIDRE
	return nil
}

// patchError1000: error_response.message is "type: string", yet the
// example of error 1000 carries an object, {errors: {platform: "must be
// android or ios"}}. Following the example, an error 1000's message is an
// object of messages by field; any other error's is a string.
func patchError1000(schemas node) error {
	er := schemas.obj("error_response")
	if er.obj("properties", "message")["type"] != "string" {
		return errors.New("error_response.message is no longer a string: revisit patchError1000")
	}
	er["oneOf"] = []any{
		map[string]any{"properties": map[string]any{
			"error_code": map[string]any{"enum": []any{json.Number("1000")}},
			"message": map[string]any{"type": "object", "required": []any{"errors"}, "properties": map[string]any{
				"errors": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}},
		}},
		map[string]any{"properties": map[string]any{
			"error_code": map[string]any{"not": map[string]any{"enum": []any{json.Number("1000")}}},
			"message":    map[string]any{"type": "string"},
		}},
	}
	delete(er.obj("properties", "message"), "type")
	return nil
}

// currencyEnum returns the eventCurrency enum, which both branches must
// share.
func currencyEnum(schemas node) ([]string, error) {
	var out []string
	for i, name := range []string{"AndroidIds", "IosIds"} {
		var codes []string
		for _, c := range schemas.list(name, "properties", "eventCurrency", "enum") {
			codes = append(codes, fmt.Sprint(c))
		}
		slices.Sort(codes)
		if len(codes) == 0 || i > 0 && !slices.Equal(codes, out) {
			return nil, fmt.Errorf("%s: the eventCurrency enums of the branches differ", S2SFile)
		}
		out = codes
	}
	return out, nil
}
