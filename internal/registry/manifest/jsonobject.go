package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// object holds the members of one JSON object by their exact names.
type object map[string]json.RawMessage

// decodeObject reads data as exactly one JSON object.
//
// json.Unmarshal into a struct matches member names case-insensitively and
// lets a repeated name overwrite the earlier one. Other parsers differ, so
// {"digest": A, "Digest": B} would mean A to a client and B to us: the
// registry would check and keep one blob while clients pull another. Exact
// names and no duplicates make every conforming parser read what we read.
func decodeObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, errors.New("is empty, want a JSON object")
	}
	if err != nil {
		return nil, fmt.Errorf("is not valid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("is %s, want a JSON object", jsonKind(tok))
	}
	obj := object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("is not valid JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("is not valid JSON: member name %v is not a string", tok)
		}
		if _, dup := obj[name]; dup {
			return nil, fmt.Errorf("has the member %q more than once", name)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("is not valid JSON: %v", err)
		}
		obj[name] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("has data after the JSON object")
	}
	return obj, nil
}

// jsonKind names the JSON type a first token starts, for error messages.
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "malformed"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "malformed"
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
