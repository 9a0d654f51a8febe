package main

// A JSON Schema (draft-07) validator for chart values: the keywords charts use for types,
// enums and bounds. A keyword it does not implement is reported as an error, so a schema can
// never look stricter than what is checked.

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// Keywords that only annotate (never fail a value).
var annotationKeywords = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true,
	"default": true, "examples": true, "definitions": true, "readOnly": true, "writeOnly": true,
}

var checkedKeywords = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true,
	"items": true, "enum": true, "const": true, "minimum": true, "maximum": true,
	"exclusiveMinimum": true, "exclusiveMaximum": true, "minLength": true, "maxLength": true,
	"pattern": true, "minItems": true, "maxItems": true, "$ref": true, "anyOf": true,
	"allOf": true, "oneOf": true,
}

type schemaValidator struct {
	root     map[string]interface{}
	problems []string
}

// validateSchema returns one "path: message" line per violation (empty = valid).
func validateSchema(schema map[string]interface{}, values map[string]interface{}) []string {
	v := &schemaValidator{root: schema}
	v.validate(schema, values, "")
	sort.Strings(v.problems)
	return v.problems
}

func displayPath(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

func (v *schemaValidator) fail(path, format string, args ...interface{}) {
	v.problems = append(v.problems, displayPath(path)+": "+fmt.Sprintf(format, args...))
}

func (v *schemaValidator) resolve(ref, path string) map[string]interface{} {
	if !strings.HasPrefix(ref, "#/") {
		v.fail(path, "schema error: only local $ref (#/...) is supported, got %q", ref)
		return nil
	}
	var node interface{} = v.root
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := node.(map[string]interface{})
		if !ok {
			node = nil
			break
		}
		node = m[part]
	}
	resolved, ok := node.(map[string]interface{})
	if !ok {
		v.fail(path, "schema error: $ref %q does not name a schema", ref)
		return nil
	}
	return resolved
}

func jsonType(value interface{}) string {
	switch t := value.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64, int:
		return "integer"
	case float64:
		if t == math.Trunc(t) {
			return "integer"
		}
		return "number"
	case []interface{}:
		return "array"
	case map[string]interface{}:
		return "object"
	}
	return fmt.Sprintf("%T", value)
}

func typeMatches(want, got string) bool {
	return want == got || (want == "number" && got == "integer")
}

func asFloat(value interface{}) (float64, bool) {
	switch t := value.(type) {
	case int64:
		return float64(t), true
	case int:
		return float64(t), true
	case float64:
		return t, true
	}
	return 0, false
}

// isValid checks value against schema without recording problems (for anyOf/oneOf).
func (v *schemaValidator) isValid(schema map[string]interface{}, value interface{}, path string) bool {
	sub := &schemaValidator{root: v.root}
	sub.validate(schema, value, path)
	return len(sub.problems) == 0
}

func (v *schemaValidator) validate(schema map[string]interface{}, value interface{}, path string) {
	for keyword := range schema {
		if !annotationKeywords[keyword] && !checkedKeywords[keyword] {
			v.fail(path, "schema error: keyword %q is not supported by this validator", keyword)
		}
	}
	if ref, ok := schema["$ref"].(string); ok {
		if resolved := v.resolve(ref, path); resolved != nil {
			v.validate(resolved, value, path)
		}
	}
	got := jsonType(value)
	if t, ok := schema["type"]; ok {
		var wants []string
		switch tt := t.(type) {
		case string:
			wants = []string{tt}
		case []interface{}:
			for _, w := range tt {
				wants = append(wants, fmt.Sprint(w))
			}
		}
		matched := false
		for _, w := range wants {
			matched = matched || typeMatches(w, got)
		}
		if !matched {
			v.fail(path, "Invalid type. Expected: %s, given: %s", strings.Join(wants, " or "), got)
			return
		}
	}
	if enum, ok := schema["enum"].([]interface{}); ok {
		found := false
		for _, e := range enum {
			found = found || equalJSON(e, value)
		}
		if !found {
			var names []string
			for _, e := range enum {
				names = append(names, fmt.Sprintf("%q", fmt.Sprint(e)))
			}
			v.fail(path, "%s must be one of the following: %s", displayPath(path), strings.Join(names, ", "))
		}
	}
	if c, ok := schema["const"]; ok && !equalJSON(c, value) {
		v.fail(path, "does not match: %v", c)
	}
	v.validateNumber(schema, value, path)
	v.validateString(schema, value, path)
	v.validateArray(schema, value, path)
	v.validateObject(schema, value, path)
	v.validateCombinators(schema, value, path)
}

func equalJSON(a, b interface{}) bool {
	fa, aNum := asFloat(a)
	fb, bNum := asFloat(b)
	if aNum && bNum {
		return fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func (v *schemaValidator) validateNumber(schema map[string]interface{}, value interface{}, path string) {
	n, ok := asFloat(value)
	if !ok {
		return
	}
	if m, ok := asFloat(schema["minimum"]); ok && n < m {
		v.fail(path, "Must be greater than or equal to %v", m)
	}
	if m, ok := asFloat(schema["maximum"]); ok && n > m {
		v.fail(path, "Must be less than or equal to %v", m)
	}
	if m, ok := asFloat(schema["exclusiveMinimum"]); ok && n <= m {
		v.fail(path, "Must be greater than %v", m)
	}
	if m, ok := asFloat(schema["exclusiveMaximum"]); ok && n >= m {
		v.fail(path, "Must be less than %v", m)
	}
}

func (v *schemaValidator) validateString(schema map[string]interface{}, value interface{}, path string) {
	s, ok := value.(string)
	if !ok {
		return
	}
	length := float64(len([]rune(s)))
	if m, ok := asFloat(schema["minLength"]); ok && length < m {
		v.fail(path, "String length must be greater than or equal to %v", m)
	}
	if m, ok := asFloat(schema["maxLength"]); ok && length > m {
		v.fail(path, "String length must be less than or equal to %v", m)
	}
	if p, ok := schema["pattern"].(string); ok {
		re, err := regexp.Compile(p)
		if err != nil {
			v.fail(path, "schema error: bad pattern %q: %v", p, err)
		} else if !re.MatchString(s) {
			v.fail(path, "Does not match pattern '%s'", p)
		}
	}
}

func (v *schemaValidator) validateArray(schema map[string]interface{}, value interface{}, path string) {
	list, ok := value.([]interface{})
	if !ok {
		return
	}
	if m, ok := asFloat(schema["minItems"]); ok && float64(len(list)) < m {
		v.fail(path, "Array must have at least %v items", m)
	}
	if m, ok := asFloat(schema["maxItems"]); ok && float64(len(list)) > m {
		v.fail(path, "Array must have at most %v items", m)
	}
	if items, ok := schema["items"].(map[string]interface{}); ok {
		for i, e := range list {
			v.validate(items, e, fmt.Sprintf("%s.%d", displayPath(path), i))
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (v *schemaValidator) validateObject(schema map[string]interface{}, value interface{}, path string) {
	obj, ok := value.(map[string]interface{})
	if !ok {
		return
	}
	if required, ok := schema["required"].([]interface{}); ok {
		for _, r := range required {
			if _, present := obj[fmt.Sprint(r)]; !present {
				v.fail(path, "%s is required", r)
			}
		}
	}
	properties, _ := schema["properties"].(map[string]interface{})
	for key, child := range obj {
		if propSchema, ok := properties[key].(map[string]interface{}); ok {
			v.validate(propSchema, child, joinPath(path, key))
			continue
		}
		switch extra := schema["additionalProperties"].(type) {
		case bool:
			if !extra {
				v.fail(path, "Additional property %s is not allowed", key)
			}
		case map[string]interface{}:
			v.validate(extra, child, joinPath(path, key))
		}
	}
}

func (v *schemaValidator) validateCombinators(schema map[string]interface{}, value interface{}, path string) {
	if all, ok := schema["allOf"].([]interface{}); ok {
		for _, s := range all {
			if sub, ok := s.(map[string]interface{}); ok {
				v.validate(sub, value, path)
			}
		}
	}
	count := func(list []interface{}) int {
		n := 0
		for _, s := range list {
			if sub, ok := s.(map[string]interface{}); ok && v.isValid(sub, value, path) {
				n++
			}
		}
		return n
	}
	if any, ok := schema["anyOf"].([]interface{}); ok && count(any) == 0 {
		v.fail(path, "Must validate at least one schema (anyOf)")
	}
	if one, ok := schema["oneOf"].([]interface{}); ok && count(one) != 1 {
		v.fail(path, "Must validate one and only one schema (oneOf)")
	}
}
