package main

import (
	"fmt"
	"strconv"
	"strings"
)

// mergeValues applies, in Helm's order: the chart's values.yaml, each -f file, then --set and
// --set-string. A null in a later layer deletes the key (as in Helm).
func mergeValues(defaults map[string]interface{}, files, sets, setStrings []string) (map[string]interface{}, error) {
	result := deepCopy(defaults).(map[string]interface{})
	for _, f := range files {
		layer, err := readYAMLMap(f)
		if err != nil {
			return nil, fmt.Errorf("values file: %v", err)
		}
		mergeInto(result, layer)
	}
	for _, s := range sets {
		if err := applySet(result, s, false); err != nil {
			return nil, err
		}
	}
	for _, s := range setStrings {
		if err := applySet(result, s, true); err != nil {
			return nil, err
		}
	}
	return result, nil
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(t))
		for i, e := range t {
			l[i] = deepCopy(e)
		}
		return l
	default:
		return v
	}
}

// mergeInto merges src over dst: maps recursively, everything else replaced, null deletes.
func mergeInto(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		srcMap, srcIsMap := v.(map[string]interface{})
		dstMap, dstIsMap := dst[k].(map[string]interface{})
		if srcIsMap && dstIsMap {
			mergeInto(dstMap, srcMap)
		} else {
			dst[k] = deepCopy(v)
		}
	}
}

// splitUnescaped splits s on sep outside {...} lists, honouring backslash escapes.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	var cur strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == '{':
			depth++
			cur.WriteByte(c)
		case c == '}':
			depth--
			cur.WriteByte(c)
		case c == sep && depth == 0:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String())
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// typedScalar mirrors Helm's --set typing: true/false, null, integers; the rest stay strings.
func typedScalar(s string, asString bool) interface{} {
	if asString {
		return s
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && (s == "0" || s[0] != '0') {
		return n
	}
	return s
}

// pathStep is one part of a --set key: a map key, optionally followed by [index].
type pathStep struct {
	key   string
	index int // -1 = no index
}

func parseSetKey(key string) ([]pathStep, error) {
	var steps []pathStep
	for _, part := range splitUnescaped(key, '.') {
		step := pathStep{index: -1}
		if open := strings.IndexByte(part, '['); open >= 0 {
			if !strings.HasSuffix(part, "]") {
				return nil, fmt.Errorf("--set key %q: unterminated [index]", key)
			}
			n, err := strconv.Atoi(part[open+1 : len(part)-1])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("--set key %q: bad list index in %q", key, part)
			}
			step.index = n
			part = part[:open]
		}
		step.key = unescape(part)
		if step.key == "" {
			return nil, fmt.Errorf("--set key %q: empty name part", key)
		}
		steps = append(steps, step)
	}
	return steps, nil
}

func applySet(values map[string]interface{}, expr string, asString bool) error {
	for _, assignment := range splitUnescaped(expr, ',') {
		eq := strings.IndexByte(assignment, '=')
		if eq <= 0 {
			return fmt.Errorf("--set %q: expected key=value", assignment)
		}
		steps, err := parseSetKey(assignment[:eq])
		if err != nil {
			return err
		}
		raw := assignment[eq+1:]
		var value interface{}
		if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			list := []interface{}{}
			if inner := raw[1 : len(raw)-1]; inner != "" {
				for _, item := range splitUnescaped(inner, ',') {
					list = append(list, typedScalar(unescape(item), asString))
				}
			}
			value = list
		} else {
			value = typedScalar(unescape(raw), asString)
		}
		if err := setPath(values, steps, value, assignment); err != nil {
			return err
		}
	}
	return nil
}

func setPath(node map[string]interface{}, steps []pathStep, value interface{}, expr string) error {
	step := steps[0]
	last := len(steps) == 1
	if step.index < 0 {
		if last {
			if value == nil {
				delete(node, step.key)
			} else {
				node[step.key] = value
			}
			return nil
		}
		child, ok := node[step.key].(map[string]interface{})
		if !ok {
			child = map[string]interface{}{}
			node[step.key] = child
		}
		return setPath(child, steps[1:], value, expr)
	}
	list, _ := node[step.key].([]interface{})
	for len(list) <= step.index {
		list = append(list, nil)
	}
	node[step.key] = list
	if last {
		list[step.index] = value
		return nil
	}
	child, ok := list[step.index].(map[string]interface{})
	if !ok {
		child = map[string]interface{}{}
		list[step.index] = child
	}
	return setPath(child, steps[1:], value, expr)
}
