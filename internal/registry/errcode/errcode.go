// Package errcode holds the OCI Distribution Spec error codes and writes
// them as the spec's JSON error body.
package errcode

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Code is one of the spec's error codes with its HTTP status.
type Code struct {
	Name   string
	Status int
}

// The error codes of the OCI Distribution Spec (plus the ones docker clients know).
var (
	BlobUnknown         = Code{"BLOB_UNKNOWN", http.StatusNotFound}
	BlobUploadInvalid   = Code{"BLOB_UPLOAD_INVALID", http.StatusBadRequest}
	BlobUploadUnknown   = Code{"BLOB_UPLOAD_UNKNOWN", http.StatusNotFound}
	DigestInvalid       = Code{"DIGEST_INVALID", http.StatusBadRequest}
	ManifestBlobUnknown = Code{"MANIFEST_BLOB_UNKNOWN", http.StatusBadRequest}
	ManifestInvalid     = Code{"MANIFEST_INVALID", http.StatusBadRequest}
	ManifestUnknown     = Code{"MANIFEST_UNKNOWN", http.StatusNotFound}
	NameInvalid         = Code{"NAME_INVALID", http.StatusBadRequest}
	NameUnknown         = Code{"NAME_UNKNOWN", http.StatusNotFound}
	SizeInvalid         = Code{"SIZE_INVALID", http.StatusBadRequest}
	Unauthorized        = Code{"UNAUTHORIZED", http.StatusUnauthorized}
	Denied              = Code{"DENIED", http.StatusForbidden}
	Unsupported         = Code{"UNSUPPORTED", http.StatusMethodNotAllowed}
	TooManyRequests     = Code{"TOOMANYREQUESTS", http.StatusTooManyRequests}
	TagInvalid          = Code{"TAG_INVALID", http.StatusBadRequest}
	// ChunkOutOfOrder answers an upload chunk that does not start where
	// the upload ends (the spec wants 416).
	ChunkOutOfOrder = Code{"BLOB_UPLOAD_INVALID", http.StatusRequestedRangeNotSatisfiable}
	// RangeNotSatisfiable answers a blob GET whose Range selects nothing.
	RangeNotSatisfiable = Code{"RANGE_INVALID", http.StatusRequestedRangeNotSatisfiable}
	// ManifestTooLarge answers a manifest over the size limit.
	ManifestTooLarge = Code{"SIZE_INVALID", http.StatusRequestEntityTooLarge}
	Unavailable      = Code{"UNAVAILABLE", http.StatusServiceUnavailable}
	Unknown          = Code{"UNKNOWN", http.StatusInternalServerError}
)

// Error is an error that carries a spec error code, a message for people and
// an optional detail value that is serialised as JSON.
type Error struct {
	Code    Code
	Message string
	Detail  any
}

func (e *Error) Error() string { return e.Code.Name + ": " + e.Message }

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns a copy of e with detail set.
func (e *Error) WithDetail(detail any) *Error {
	c := *e
	c.Detail = detail
	return &c
}

// List is several errors answered together, as the spec asks for a
// manifest that names several unknown blobs. The first one's code sets
// the HTTP status. It must not be empty.
type List []*Error

func (l List) Error() string {
	if len(l) == 1 {
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", l[0].Error(), len(l)-1)
}

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// Write writes err as the spec's error body. Errors without a code become
// UNKNOWN with status 500 and a generic message, so internals never leak.
func Write(w http.ResponseWriter, err error) {
	var list List
	if !errors.As(err, &list) || len(list) == 0 {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: Unknown, Message: "internal error"}
		}
		list = List{e}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(list[0].Code.Status)
	body := struct {
		Errors []wireError `json:"errors"`
	}{Errors: make([]wireError, len(list))}
	for i, e := range list {
		body.Errors[i] = wireError{Code: e.Code.Name, Message: e.Message, Detail: e.Detail}
	}
	_ = json.NewEncoder(w).Encode(body)
}
