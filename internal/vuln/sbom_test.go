package vuln

import (
	"strings"
	"testing"
)

func TestParseSBOM(t *testing.T) {
	spdx := `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[
	  {"SPDXID":"SPDXRef-a","name":"zlib1g","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"` + zlibOld + `"},{"referenceCategory":"SECURITY","referenceType":"cpe23Type","referenceLocator":"cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*"}]},
	  {"SPDXID":"SPDXRef-b","name":"x/text","externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/text@v0.3.7"}]}]}`
	got, err := ParseSBOM("s.spdx.json", []byte(spdx))
	if err != nil || strings.Join(got, " ") != zlibOld+" pkg:golang/golang.org/x/text@v0.3.7" {
		t.Fatalf("SPDX: %v, %v", got, err)
	}
	cdx := `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"zlib1g","purl":"` + zlibOld + `"},{"type":"application","name":"app","components":[{"type":"library","name":"text","purl":"pkg:golang/golang.org/x/text@v0.3.7"}]}]}`
	got, err = ParseSBOM("c.cdx.json", []byte(cdx))
	if err != nil || len(got) != 2 {
		t.Fatalf("CycloneDX: %v, %v", got, err)
	}
	for body, want := range map[string]string{
		`{"foo":1}`: "neither SPDX",
		`{"bomFormat":"CycloneDX","components":[{"purl":"npm/x"}]}`:                                                     "field components[0].purl",
		`{"spdxVersion":"SPDX-2.3","packages":[{"externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:"}]}]}`: "field packages[0].externalRefs[0].referenceLocator",
	} {
		if _, err := ParseSBOM("bad.json", []byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSBOM(%s) = %v, want %q", body, err, want)
		}
	}
}

func FuzzParseSBOM(f *testing.F) {
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:golang/x@v1"}]}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","components":[{"purl":"pkg:deb/debian/a@1","components":[{"purl":"pkg:golang/b@v2"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		purls, err := ParseSBOM("s.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "s.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, p := range purls {
			if _, err := ParsePurl(p); err != nil {
				t.Fatalf("ParseSBOM returned %q, which does not parse: %v", p, err)
			}
		}
	})
}
