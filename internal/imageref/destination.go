package imageref

import "errors"

// Destination is the one output the --push REF, --oci-layout DIR[:TAG]
// and --docker-archive FILE[:REPO:TAG] flags name, as a reference Write
// takes; more or fewer than one is an error.
func Destination(push, layout, archive string) (string, error) {
	var dest string
	n := 0
	for _, d := range []struct{ value, prefix string }{{push, ""}, {layout, LayoutPrefix}, {archive, ArchivePrefix}} {
		if d.value != "" {
			n++
			dest = d.prefix + d.value
		}
	}
	if n != 1 {
		return "", errors.New("give exactly one output: --push REF, --oci-layout DIR or --docker-archive FILE")
	}
	return dest, nil
}
