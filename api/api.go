// Package api holds the OpenAPI description of every route the server
// answers (openapi.yaml), embedded for those who serve or check it.
package api

import _ "embed"

// OpenAPI is openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
