package httpapi

import (
	"net/http"
	"strings"
)

// CORS on the ingestion API. Amplitude's API answers browsers from any
// origin, and the browser SDKs post to it cross-origin: the default fetch
// transport sends Content-Type: application/json (and, compressing,
// Content-Encoding: gzip), which makes the browser ask first (a preflight
// OPTIONS) and then hide any answer that lacks Access-Control-Allow-Origin,
// errors included; the SDK then sees a network error, retries, and drops
// the events. So every answer of an ingestion route carries
// Access-Control-Allow-Origin: *, and a preflight of one is answered 204
// with the methods, the headers the browser asked for, and a max-age.
// Nothing here reads cookies, so "*" is safe: the API key is in the body.

// corsMaxAge is how long a browser may keep a preflight's answer: a day
// (Chromium keeps it two hours at most, Firefox a day).
const corsMaxAge = "86400"

// corsDefaultHeaders are allowed when a preflight names none.
const corsDefaultHeaders = "Content-Type, Content-Encoding, Accept, Cross-Origin-Resource-Policy"

// allowAnyOrigin lets any origin read h's answers.
func allowAnyOrigin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h(w, r)
	}
}

// preflight answers a CORS preflight: 204, any origin, the ingestion
// methods, the request headers asked for, and a max-age. A request from a
// public page to a private address (Chromium's Private Network Access) is
// allowed too: a self-hosted server often lives on one.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", allowedHeaders(r.Header.Get("Access-Control-Request-Headers")))
	h.Set("Access-Control-Max-Age", corsMaxAge)
	if strings.EqualFold(r.Header.Get("Access-Control-Request-Private-Network"), "true") {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	// The answer depends on the headers asked for: caches must not mix
	// them up.
	h.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
}

// allowedHeaders is the header list of a preflight's answer: the headers
// asked for (valid header names only), else corsDefaultHeaders.
func allowedHeaders(requested string) string {
	var names []string
	for _, name := range strings.Split(requested, ",") {
		if name = strings.TrimSpace(name); validHeaderName(name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return corsDefaultHeaders
	}
	return strings.Join(names, ", ")
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2),
// and so safe to write back in a header.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
