package inspect

import (
	"archive/tar"
	"path"
	"sort"
	"strings"
)

// This file reproduces dive's image efficiency metrics (wagoodman/dive,
// dive/filetree/efficiency.go and the file tree it walks) so that numbers
// berth prints match what `dive --ci` gates on. The tree model follows
// dive's semantics, including its quirks, because the numbers depend on them:
//
//   - each layer is a tree built from its tar entries; a path component that
//     is not in the tar (no header of its own) becomes a node with zero
//     metadata, and a later entry for an existing path replaces its metadata;
//   - opaque markers (.wh..wh..opq) are ignored entirely: dive never adds
//     them to a tree, so they neither hide nor count anything;
//   - only leaves of each layer's tree are scored (a directory with children
//     in that layer is not, an empty directory is);
//   - a whiteout ".wh.X" is scored at path X with the size of what it removes:
//     for a directory, the sum of sizes of the whole subtree in the stack of
//     the layers below; for anything else, 0;
//   - "the stack of the layers below" is built as dive builds it: a copy of
//     layer 0 with layers 0..i-1 stacked onto it (so layer 0 is applied twice),
//     and stacking replaces a node's metadata with the upper node's metadata
//     even when the upper node is only an implied parent.
//
// One deliberate difference: dive aborts scoring the rest of a layer (and
// adds -1 to its minimum-size sum) when a whiteout names a path that does not
// exist below; here such a whiteout simply scores 0.

type diveInfo struct {
	size  int64
	isDir bool
}

type diveNode struct {
	name     string
	info     diveInfo
	parent   *diveNode
	children map[string]*diveNode
}

type diveTree struct {
	root     *diveNode
	fileSize int64 // sum of all entry sizes: dive's layer size
}

func newDiveTree() *diveTree {
	return &diveTree{root: &diveNode{children: map[string]*diveNode{}}}
}

func (n *diveNode) isWhiteout() bool { return strings.HasPrefix(n.name, whiteoutPrefix) }
func (n *diveNode) isLeaf() bool     { return len(n.children) == 0 }

// path is "/a/b"; a whiteout leaf's own ".wh." prefix is dropped, so the
// whiteout is scored at the path it removes.
func (n *diveNode) path() string {
	var parts []string
	for cur := n; cur.parent != nil; cur = cur.parent {
		name := cur.name
		if cur == n {
			name = strings.TrimPrefix(name, whiteoutPrefix)
		}
		parts = append(parts, name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return "/" + strings.Join(parts, "/")
}

// addEntry adds one tar header the way dive reads a layer.
func (t *diveTree) addEntry(hdr *tar.Header) {
	name := path.Clean(hdr.Name)
	if name == "." {
		return
	}
	fi := hdr.FileInfo()
	info := diveInfo{size: fi.Size(), isDir: fi.IsDir()}
	t.fileSize += info.size
	t.addPath(name, info)
}

// addPath creates missing components with zero metadata and sets info on the
// last one. A missing component named ".wh..wh.*" stops the walk (dive's
// "don't add paths that should be deleted").
func (t *diveTree) addPath(p string, info diveInfo) {
	names := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
	node := t.root
	for i, name := range names {
		if name == "" {
			continue
		}
		child, ok := node.children[name]
		if !ok {
			if strings.HasPrefix(name, opaqueMarker[:len(".wh..wh.")]) {
				return
			}
			child = &diveNode{name: name, parent: node, children: map[string]*diveNode{}}
			node.children[name] = child
		}
		node = child
		if i == len(names)-1 {
			node.info = info
		}
	}
}

func (t *diveTree) getNode(p string) *diveNode {
	node := t.root
	for _, name := range strings.Split(strings.Trim(p, "/"), "/") {
		if name == "" {
			continue
		}
		child, ok := node.children[name]
		if !ok {
			return nil
		}
		node = child
	}
	return node
}

func (t *diveTree) removePath(p string) {
	if n := t.getNode(p); n != nil && n != t.root {
		delete(n.parent.children, n.name)
	}
}

func (n *diveNode) copyUnder(parent *diveNode) *diveNode {
	c := &diveNode{name: n.name, info: n.info, parent: parent, children: make(map[string]*diveNode, len(n.children))}
	for k, ch := range n.children {
		c.children[k] = ch.copyUnder(c)
	}
	return c
}

func (t *diveTree) copy() *diveTree {
	return &diveTree{root: t.root.copyUnder(nil), fileSize: t.fileSize}
}

// visitChildFirst walks depth first in sorted name order, children before
// their parent, never the root; visit is called for nodes where eval is true.
func (n *diveNode) visitChildFirst(root *diveNode, eval func(*diveNode) bool, visit func(*diveNode)) {
	keys := make([]string, 0, len(n.children))
	for k := range n.children {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.children[k].visitChildFirst(root, eval, visit)
	}
	if n != root && (eval == nil || eval(n)) {
		visit(n)
	}
}

// stack applies upper onto t: whiteouts remove, every other node (implied
// parents included) is added with its metadata.
func (t *diveTree) stack(upper *diveTree) {
	upper.root.visitChildFirst(upper.root, nil, func(n *diveNode) {
		if n.isWhiteout() {
			t.removePath(n.path())
		} else {
			t.addPath(n.path(), n.info)
		}
	})
}

// Waste is a path stored in more than one layer (or removed by a later one).
type Waste struct {
	Path   string `json:"path"`
	Count  int    `json:"count"`  // layers that touch the path
	Bytes  int64  `json:"bytes"`  // all copies' sizes: what dive counts as wasted
	Needed int64  `json:"needed"` // the smallest copy: what a single layer would have needed
}

// diveResult is dive's analysis of an image.
type diveResult struct {
	efficiency     float64
	wastedBytes    int64
	sizeBytes      int64 // sum of layer sizes
	userSizeBytes  int64 // ... except layer 0
	inefficiencies []Waste
}

type pathScore struct {
	nodes      int
	cumulative int64
	min        int64
}

// efficiency computes dive's score: sum over every scored path of its
// smallest size, divided by the sum of all its sizes (1 when nothing is
// scored); wasted bytes are the summed sizes of paths scored more than once.
func efficiency(trees []*diveTree) diveResult {
	scores := map[string]*pathScore{}
	var below *diveTree
	for i, t := range trees {
		// The stack of layers below layer i, built as dive builds it.
		if i == 0 {
			below = trees[0].copy()
		} else {
			below.stack(trees[i-1])
		}
		t.root.visitChildFirst(t.root, (*diveNode).isLeaf, func(n *diveNode) {
			p := n.path()
			var size int64
			if n.isWhiteout() {
				if prev := below.getNode(p); prev != nil && prev.info.isDir {
					prev.visitChildFirst(below.root, nil, func(c *diveNode) { size += c.info.size })
				}
			} else {
				size = n.info.size
			}
			s := scores[p]
			if s == nil {
				s = &pathScore{min: -1}
				scores[p] = s
			}
			s.cumulative += size
			if s.min < 0 || size < s.min {
				s.min = size
			}
			s.nodes++
		})
	}
	var r diveResult
	var minSum, cumSum int64
	for p, s := range scores {
		minSum += s.min
		cumSum += s.cumulative
		if s.nodes >= 2 {
			r.wastedBytes += s.cumulative
			r.inefficiencies = append(r.inefficiencies, Waste{Path: p, Count: s.nodes, Bytes: s.cumulative, Needed: s.min})
		}
	}
	if cumSum == 0 {
		r.efficiency = 1
	} else {
		r.efficiency = float64(minSum) / float64(cumSum)
	}
	for i, t := range trees {
		r.sizeBytes += t.fileSize
		if i != 0 {
			r.userSizeBytes += t.fileSize
		}
	}
	sort.Slice(r.inefficiencies, func(i, j int) bool {
		a, b := r.inefficiencies[i], r.inefficiencies[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Path < b.Path
	})
	return r
}
