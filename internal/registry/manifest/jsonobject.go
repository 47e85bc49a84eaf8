package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// object holds the members of one JSON object by their exact names.
type object map[string]json.RawMessage

// decodeObject reads data as exactly one JSON object.
//
// json.Unmarshal into a struct matches member names case-insensitively and
// lets a repeated name overwrite the earlier one. Other parsers differ, so
// {"digest": A, "Digest": B} would mean A to a client and B to us: the
// registry would check and keep one blob while clients pull another. A map
// keeps names exact, and counting the members catches repeated names.
func decodeObject(data []byte) (object, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("is empty, want a JSON object")
	}
	if trimmed[0] != '{' {
		if kind := jsonKind(trimmed[0]); kind != "" && json.Valid(data) {
			return nil, fmt.Errorf("is %s, want a JSON object", kind)
		}
	}
	var obj object
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("is not valid JSON: %v", err)
	}
	if n := countMembers(trimmed); n != len(obj) {
		return nil, duplicateMember(data)
	}
	return obj, nil
}

// jsonKind names the JSON type a value starting with c has, for errors.
func jsonKind(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	}
	return ""
}

// countMembers counts the members of the valid JSON object that data starts
// with. Outside strings, a colon only ever separates a member name from its
// value, so the colons at depth one are the members, repeats included.
func countMembers(data []byte) int {
	n, depth := 0, 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			// Skip the string; escapes hide quotes.
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return n
			}
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// duplicateMember names the first repeated member of a valid JSON object
// that has one. It walks the object token by token, which is slower than
// the map decode, so it only runs once a repeat is known to exist.
func duplicateMember(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the opening brace
		return fmt.Errorf("is not valid JSON: %v", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("is not valid JSON: %v", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return fmt.Errorf("has the member %q more than once", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("is not valid JSON: %v", err)
		}
	}
	return errors.New("has a member more than once")
}

// isNull reports whether a member's raw value is absent or JSON null; both
// mean "not given" for optional members.
func isNull(raw json.RawMessage) bool {
	return raw == nil || string(bytes.TrimSpace(raw)) == "null"
}

// stringMember reads an optional string member; null and absent are "".
func (o object) stringMember(name, path string) (string, error) {
	raw := o[name]
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: must be a string", path)
	}
	return s, nil
}

// stringMap reads an optional object of strings, such as annotations, with
// the same exact-name, no-duplicate rule as decodeObject.
func (o object) stringMap(name, path string) (map[string]string, error) {
	raw := o[name]
	if isNull(raw) {
		return nil, nil
	}
	members, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %v", path, err)
	}
	out := make(map[string]string, len(members))
	for k, v := range members {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("%s[%q]: must be a string", path, k)
		}
		out[k] = s
	}
	return out, nil
}

// array reads an optional array member into its raw elements; null and
// absent are an empty list.
func (o object) array(name, path string) ([]json.RawMessage, error) {
	raw := o[name]
	if isNull(raw) {
		return nil, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("%s: must be an array", path)
	}
	return elems, nil
}
