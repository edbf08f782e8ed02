package appsflyer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
)

// Audiences speaks AppsFlyer's Audiences APIs (as their documentation has them) for
// one appsflyer-cohort destination: the create-audience call of the
// external API and the add and remove calls of the import API, with the
// destination's API token as a Bearer token.
type Audiences struct {
	Base     string // such as https://hq1.appsflyer.com, no trailing slash
	Token    string
	AppID    string
	Platform touchpoint.Platform
	// Field is the device-row field the identifier goes in.
	Field  string
	Client *http.Client
}

// UserAgent names Touchpoint's cohort sync to AppsFlyer.
const UserAgent = "Touchpoint-Cohort-Sync/1"

// NewAudiences returns the client of a destination. self is this
// server's base URL, the target of a destination with no URL.
func NewAudiences(d *touchpoint.Destination, self string, client *http.Client) *Audiences {
	base, _ := touchpoint.IntegrationTarget(d.URL, self)
	return &Audiences{Base: base, Token: d.APIToken, AppID: d.AppsFlyerAppID, Platform: d.Platform,
		Field: touchpoint.MappingField(d.Identifier), Client: client}
}

// Response is an answer: its status and body (cut to 1 KB).
type Response struct {
	Status int
	Body   string
}

// Retryable reports whether a try may succeed later: no answer (err with
// no status), 429 or 5xx. An answer that cannot be read is not retried:
// a create call answered 200 has created the audience.
func (r *Response) Retryable(err error) bool {
	if r == nil || r.Status == 0 {
		return true
	}
	return r.Status == http.StatusTooManyRequests || r.Status >= 500
}

// Created is the create-audience call's answer.
type Created struct {
	AudienceID int64  `json:"audience_id"`
	ImportKey  string `json:"import_key"`
}

// Create creates an audience with no partner connections.
func (a *Audiences) Create(ctx context.Context, name string) (*Response, *Created, error) {
	body, err := json.Marshal(map[string]any{"audience_name": name, "platform": a.Platform, "connections": []any{}})
	if err != nil {
		return nil, nil, err
	}
	res, raw, err := a.post(ctx, a.Base+"/api/audiences-external-api/audience", body)
	if err != nil || res.Status != http.StatusOK {
		return res, nil, err
	}
	var ok struct {
		Message Created `json:"message"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || ok.Message.ImportKey == "" {
		return res, nil, fmt.Errorf("the answer holds no import_key: %s", res.Body)
	}
	return res, &ok.Message, nil
}

// Import sends one add or remove call for identifiers.
func (a *Audiences) Import(ctx context.Context, action, importKey string, ids []string) (*Response, error) {
	res, _, err := a.post(ctx, a.Base+"/api/audiences-import-api/v2/"+action, a.ImportBody(importKey, ids))
	return res, err
}

// ImportBody is the body of an import call: one device row per
// identifier, each with the app id (AppsFlyer's Audiences import API documentation).
func (a *Audiences) ImportBody(importKey string, ids []string) []byte {
	b := make([]byte, 0, 64+len(ids)*(len(a.AppID)+len(a.Field)+60))
	b = append(b, `{"import_key":`...)
	b, _ = jsontext.AppendQuote(b, importKey)
	b = append(b, `,"platform":`...)
	b, _ = jsontext.AppendQuote(b, string(a.Platform))
	b = append(b, `,"devices":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"app_id":`...)
		b, _ = jsontext.AppendQuote(b, a.AppID)
		b = append(b, ',')
		b, _ = jsontext.AppendQuote(b, a.Field)
		b = append(b, ':')
		b, _ = jsontext.AppendQuote(b, id)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func (a *Audiences) post(ctx context.Context, url string, body []byte) (*Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := a.Client.Do(req)
	if err != nil {
		return &Response{}, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	res := &Response{Status: resp.StatusCode, Body: strings.ToValidUTF8(string(raw[:min(len(raw), 1024)]), "")}
	return res, raw, err
}
