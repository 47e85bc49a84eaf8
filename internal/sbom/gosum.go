package sbom

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// GoSumHex turns a go.sum hash ("h1:" + base64 of a SHA-256) into hex.
func GoSumHex(sum string) (string, bool) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return hex.EncodeToString(raw), true
}
