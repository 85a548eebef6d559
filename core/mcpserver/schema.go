package mcpserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// schema is the subset of JSON Schema the tools' input schemas use: type
// (object, string, number, integer, boolean, array), properties,
// required, items, enum, minItems, default and description.
type schema struct {
	Type       string             `json:"type"`
	Properties map[string]*schema `json:"properties"`
	Required   []string           `json:"required"`
	Items      *schema            `json:"items"`
	Enum       []string           `json:"enum"`
	MinItems   *int               `json:"minItems"`
}

// validate checks args (a JSON object) against the raw schema and says
// which member is wrong and how.
func validate(raw json.RawMessage, args json.RawMessage) error {
	s, err := parseSchema(raw)
	if err != nil {
		return err
	}
	return s.validate(args)
}

// parseSchema decodes a tool's input schema, once per tool.
func parseSchema(raw json.RawMessage) (*schema, error) {
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("bad schema: %w", err)
	}
	return &s, nil
}

// validate checks args (a JSON object) against s.
func (s *schema) validate(args json.RawMessage) error {
	var v any
	if err := json.Unmarshal(args, &v); err != nil {
		return fmt.Errorf("arguments are not JSON: %w", err)
	}
	return check(s, v, "arguments")
}

func check(s *schema, v any, at string) error {
	if err := checkType(s.Type, v, at); err != nil {
		return err
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				return fmt.Errorf("%s: missing required member %q", at, r)
			}
		}
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if p := s.Properties[k]; p != nil {
				if err := check(p, x[k], k); err != nil {
					return err
				}
			}
		}
	case []any:
		if s.MinItems != nil && len(x) < *s.MinItems {
			return fmt.Errorf("%s: want at least %d items, got %d", at, *s.MinItems, len(x))
		}
		if s.Items != nil {
			for i, e := range x {
				if err := check(s.Items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case string:
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, x) {
			return fmt.Errorf("%s: want one of %q, got %q", at, s.Enum, x)
		}
	}
	return nil
}

func checkType(typ string, v any, at string) error {
	ok := true
	switch typ {
	case "":
	case "object":
		_, ok = v.(map[string]any)
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "number":
		_, ok = v.(float64)
	case "integer":
		f, isNum := v.(float64)
		ok = isNum && f == float64(int64(f))
	case "array":
		_, ok = v.([]any)
	}
	if !ok {
		return fmt.Errorf("%s: want %s, got %s", at, typ, jsonType(v))
	}
	return nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	}
	return "number"
}
