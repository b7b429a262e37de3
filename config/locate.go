package config

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// pathIndex maps the key paths of a YAML document (agents[0].name, the same
// syntax as FieldError.Path) to their lines, and lines back to paths.
type pathIndex struct {
	// keyLine is the line of each mapping key, and of each list item.
	keyLine map[string]int
	// valueAt lists the key paths whose value starts on a line (scalars,
	// and flow collections written on the key's line).
	valueAt map[int][]string
	// keyAt lists the key paths whose key is on a line.
	keyAt map[int][]string
	// node is the value node of each key path.
	node map[string]*yaml.Node
}

// indexYAML indexes data; a document that does not parse gives an empty
// index.
func indexYAML(data []byte) *pathIndex {
	idx := &pathIndex{keyLine: map[string]int{}, valueAt: map[int][]string{}, keyAt: map[int][]string{}, node: map[string]*yaml.Node{}}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return idx
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				if _, dup := idx.keyLine[p]; !dup {
					idx.keyLine[p] = k.Line
				}
				idx.keyAt[k.Line] = append(idx.keyAt[k.Line], p)
				if v.Kind == yaml.ScalarNode || v.Line == k.Line {
					idx.valueAt[v.Line] = append(idx.valueAt[v.Line], p)
				}
				idx.node[p] = v
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx.keyLine[p] = c.Line
				idx.node[p] = c
				if c.Kind == yaml.ScalarNode {
					idx.valueAt[c.Line] = append(idx.valueAt[c.Line], p)
				}
				walk(c, p)
			}
		}
	}
	walk(&doc, "")
	return idx
}

// keyNamed is the path of the key called name on line, "" if none or
// several.
func (x *pathIndex) keyNamed(line int, name string) string {
	if x == nil {
		return ""
	}
	found := ""
	for _, p := range x.keyAt[line] {
		if p == name || strings.HasSuffix(p, "."+name) {
			if found != "" {
				return ""
			}
			found = p
		}
	}
	return found
}

// valueOn is the key path of the value on line that is of kind (a yaml.v3
// tag: seq, map or a scalar's) and, for a scalar, reads like value (as
// yaml.v3 quotes it in errors: at most 10 bytes, else 7 and "..."); ""
// when none or several are.
func (x *pathIndex) valueOn(line int, tag, value string) string {
	found := ""
	for _, p := range x.valueAt[line] {
		n := x.node[p]
		if n == nil {
			continue
		}
		switch tag {
		case "seq":
			if n.Kind != yaml.SequenceNode {
				continue
			}
		case "map":
			if n.Kind != yaml.MappingNode {
				continue
			}
		default:
			short, cut := strings.CutSuffix(value, "...")
			if n.Kind != yaml.ScalarNode || (cut && !strings.HasPrefix(n.Value, short)) || (!cut && n.Value != value) {
				continue
			}
		}
		if found != "" {
			return ""
		}
		found = p
	}
	return found
}

// parentPath strips the last segment of a key path: a.b[2] -> a.b,
// a.b -> a, a -> "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// under reports whether p is base or a key below it ("" is the root).
func under(p, base string) bool {
	return base == "" || p == base || strings.HasPrefix(p, base+".") || strings.HasPrefix(p, base+"[")
}

// source records where the values of a loaded Config came from.
type source struct {
	file string     // "" without a file
	idx  *pathIndex // of the file
	// env maps a key path set (or created) by an environment variable to
	// the variable's name.
	env map[string]string
}

// setByEnv records that variable set the key path p, and created each of
// p's ancestors the file does not have.
func (s *source) setByEnv(p, variable string) {
	s.env[p] = variable
	for q := parentPath(p); q != ""; q = parentPath(q) {
		if _, inFile := s.idx.keyLine[q]; inFile {
			return
		}
		if _, ok := s.env[q]; !ok {
			s.env[q] = variable
		}
	}
}

// namedItemRe matches a list item named by its name, as channel and plugin
// errors write it: channels[support-mail].email.imap.addr.
var namedItemRe = regexp.MustCompile(`^(channels|plugins)\[([^\]]*)\]`)

// indexed rewrites channels[NAME] and plugins[NAME] at the start of p to
// the item's index.
func (c *Config) indexed(p string) string {
	m := namedItemRe.FindStringSubmatchIndex(p)
	if m == nil {
		return p
	}
	list, name := p[m[2]:m[3]], p[m[4]:m[5]]
	if _, err := strconv.Atoi(name); err == nil {
		return p
	}
	i := -1
	switch list {
	case "channels":
		i = slices.IndexFunc(c.Channels, func(ch Channel) bool { return ch.Name == name })
	case "plugins":
		i = slices.IndexFunc(c.Plugins, func(pl Plugin) bool { return pl.Name == name })
	}
	if i < 0 {
		return p
	}
	return fmt.Sprintf("%s[%d]%s", list, i, p[m[1]:])
}

// locate fills Where of every error that has none: the variable that set
// the key (or the nearest enclosing key), else FILE:LINE of the key (or of
// the nearest enclosing key the file has), else FILE. Errors about a
// variable itself are left alone. Errors are then ordered by line, those
// without one last, each group keeping its order.
func (c *Config) locate(errs ValidationErrors) ValidationErrors {
	s := c.src
	if s == nil {
		return errs
	}
	for i := range errs {
		e := &errs[i]
		if e.Where != "" || strings.HasPrefix(e.Path, EnvPrefix) {
			continue
		}
		p := e.at
		if p == "" {
			p = e.Path
		}
		for q := c.indexed(p); q != ""; q = parentPath(q) {
			if v, ok := s.env[q]; ok {
				e.Where = v
				break
			}
			if n, ok := s.idx.keyLine[q]; ok && s.file != "" {
				e.Where, e.line = fmt.Sprintf("%s:%d", s.file, n), n
				break
			}
		}
		if e.Where == "" {
			e.Where = s.file
		}
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int {
		switch {
		case a.line == b.line, a.line > 0 && b.line > 0:
			return a.line - b.line
		case a.line == 0:
			return 1
		}
		return -1
	})
	return errs
}

// knownKeys lists the yaml keys of every struct type reachable from t,
// by type name as yaml.v3 writes it in errors (config.HTTP, email.IMAP).
func knownKeys(t reflect.Type) map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type)
	var fields func(t reflect.Type) []string
	fields = func(t reflect.Type) []string {
		var keys []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			if strings.Contains(tag, ",inline") {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					keys = append(keys, fields(ft)...)
					walk(ft)
				}
				continue
			}
			if k := yamlKey(f); k != "" {
				keys = append(keys, k)
				walk(f.Type)
			}
		}
		return keys
	}
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || out[t.String()] != nil {
			return
		}
		if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) &&
			!reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
			return
		}
		out[t.String()] = []string{} // mark before recursing
		out[t.String()] = fields(t)
	}
	walk(t)
	return out
}

// didYouMean is `; did you mean "KEY"?` for the known key closest to name,
// and KEY; "" and "" when none is close.
func didYouMean(name string, known []string) (hint, key string) {
	limit := 1
	switch n := len([]rune(name)); {
	case n > 8:
		limit = 3
	case n > 4:
		limit = 2
	}
	best, bestD := "", limit+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return "", ""
	}
	return fmt.Sprintf("; did you mean %q?", best), best
}

// keyPaths lists the key paths of the settings type t (imap.addr,
// channels[].team), down to a few levels; maps are not entered.
func keyPaths(t reflect.Type) []string {
	var out []string
	var walk func(t reflect.Type, path string, depth int)
	walk = func(t reflect.Type, path string, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			if t.Kind() != reflect.Pointer && path != "" {
				path += "[]"
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || depth > 4 {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if strings.Contains(f.Tag.Get("yaml"), ",inline") {
				walk(f.Type, path, depth)
				continue
			}
			if k := yamlKey(f); k != "" {
				p := joinPath(path, k)
				out = append(out, p)
				walk(f.Type, p, depth+1)
			}
		}
	}
	walk(t, "", 0)
	return out
}

// elsewhere is `; did you mean "imap.addr" or "smtp.addr"?` when name is
// not a key of its mapping (parent, in paths' syntax) but is one at other
// places of the settings (paths, from keyPaths); "" when it is nowhere, or
// at too many places to help.
func elsewhere(name, parent string, paths []string) string {
	name = strings.ToLower(name)
	var at []string
	for _, p := range paths {
		if (p == name || strings.HasSuffix(p, "."+name)) && parentPath(p) != parent {
			at = append(at, strconv.Quote(p))
		}
	}
	if len(at) == 0 || len(at) > 3 {
		return ""
	}
	return "; did you mean " + strings.Join(at, " or ") + "?"
}

// editDistance is the optimal string alignment distance of a and b: the
// edits (insert, delete, substitute, swap two neighbours) turning a into b.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
