package imageref

import "testing"

func TestDestinationIsExactlyOne(t *testing.T) {
	for _, c := range []struct{ push, layout, archive, want string }{
		{"r/app:1", "", "", "r/app:1"},
		{"", "./out:app", "", LayoutPrefix + "./out:app"},
		{"", "", "app.tar", ArchivePrefix + "app.tar"},
	} {
		if got, err := Destination(c.push, c.layout, c.archive); err != nil || got != c.want {
			t.Errorf("%+v: %q %v", c, got, err)
		}
	}
	for _, c := range [][3]string{{"", "", ""}, {"r/app:1", "./out", ""}} {
		if _, err := Destination(c[0], c[1], c[2]); err == nil {
			t.Errorf("%v accepted", c)
		}
	}
}
