// Package apispec compiles the schemas of the server's OpenAPI file
// (api/openapi.yaml: OpenAPI 3.1, so JSON Schema 2020-12), for tests that
// check requests and answers against them.
package apispec

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/touchpointhq/touchpoint/api"
	"go.yaml.in/yaml/v3"
)

// Schemas compiles the named schemas of components/schemas, failing t
// when the file or a schema does not compile.
func Schemas(t testing.TB, names ...string) map[string]*jsonschema.Schema {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	// Through JSON: the compiler takes JSON's types.
	j, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", res); err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, name := range names {
		if out[name], err = c.Compile("openapi.json#/components/schemas/" + name); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
