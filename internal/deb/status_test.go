package deb

import "testing"

func TestStatusParagraph(t *testing.T) {
	ctl := Paragraph{
		{"Package", "libc6"},
		{"Source", "glibc"},
		{"Version", "2.36-9+deb12u14"},
		{"Architecture", "amd64"},
		{"Status", "deinstall ok config-files"},
		{"Description", "GNU C Library: Shared libraries\n Contains the standard libraries."},
		{"Description-md5", "fc3001eb0f47b8d4cf1fa1d6e2d0f7e2"},
		{"Filename", "pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb"},
		{"Size", "2759000"},
		{"MD5sum", "x"},
		{"SHA256", "y"},
	}
	got := string(StatusParagraph(ctl))
	want := "Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u14\nArchitecture: amd64\nDescription: GNU C Library: Shared libraries\n Contains the standard libraries.\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if ctl.Get("Filename") == "" {
		t.Error("StatusParagraph modified its argument")
	}
	// the record parses back as one paragraph
	p, err := ParseParagraph([]byte(got))
	if err != nil || p.Get("Status") != "install ok installed" {
		t.Errorf("re-parse: %v %v", p, err)
	}
	if StatusPath("libc6") != "var/lib/dpkg/status.d/libc6" || MD5sumsPath("libc6") != "var/lib/dpkg/status.d/libc6.md5sums" {
		t.Error("paths")
	}
}
