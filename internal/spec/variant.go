package spec

import (
	"fmt"
	"slices"
	"sort"
)

// Image returns the named image with a variant applied: the variant's layers
// appended after the image's own and its config merged over the image's (see
// Config.Merge). Variant "" or "prod" means the image as written. The result
// is a copy: changing it does not change f. Its Variants is nil.
func (f *File) Image(name, variant string) (*Image, error) {
	img, ok := f.Images[name]
	if !ok {
		return nil, fmt.Errorf("%s: no image %q (images: %s)", f.Path, name, quoteList(f.ImageOrder))
	}
	out := *img
	out.Variants = nil
	out.Layers = cloneLayers(img.Layers)
	out.Config = img.Config.clone()
	if variant == "" || variant == NoVariant {
		return &out, nil
	}
	v, ok := img.Variants[variant]
	if !ok {
		known := []string{NoVariant}
		for k := range img.Variants {
			known = append(known, k)
		}
		sort.Strings(known[1:])
		return nil, fmt.Errorf("%s: image %q has no variant %q (variants: %s)", f.Path, name, variant, quoteList(known))
	}
	out.Layers = append(out.Layers, cloneLayers(v.Layers)...)
	out.Config = out.Config.Merge(v.Config)
	return &out, nil
}

// VariantNames lists an image's variants, sorted, without "prod".
func (i *Image) VariantNames() []string {
	var out []string
	for k := range i.Variants {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// cloneLayers deep-copies layers so callers of File.Image may modify them.
func cloneLayers(ls []Layer) []Layer {
	out := make([]Layer, len(ls))
	for i, l := range ls {
		c := l
		if l.Debs != nil {
			d := *l.Debs
			d.Packages = slices.Clone(d.Packages)
			d.Repositories = slices.Clone(d.Repositories)
			c.Debs = &d
		}
		if l.Files != nil {
			c.Files = slices.Clone(l.Files)
			for j := range c.Files {
				c.Files[j].Mode = cloneMode(c.Files[j].Mode)
			}
		}
		if l.Go != nil {
			g := *l.Go
			g.Tags = slices.Clone(g.Tags)
			c.Go = &g
		}
		if l.Users != nil {
			c.Users = slices.Clone(l.Users)
		}
		if l.Groups != nil {
			c.Groups = slices.Clone(l.Groups)
			for j := range c.Groups {
				c.Groups[j].Members = slices.Clone(c.Groups[j].Members)
			}
		}
		if l.Paths != nil {
			c.Paths = slices.Clone(l.Paths)
			for j := range c.Paths {
				c.Paths[j].Mode = cloneMode(c.Paths[j].Mode)
			}
		}
		if l.Tar != nil {
			t := *l.Tar
			c.Tar = &t
		}
		out[i] = c
	}
	return out
}

func cloneMode(m *int64) *int64 {
	if m == nil {
		return nil
	}
	v := *m
	return &v
}
