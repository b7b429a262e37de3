package timeline

import (
	"slices"
	"sort"
	"strings"

	"github.com/switchboard-hub/switchboard/store"
)

// labelDetail describes a Change's label and attribute parts for the audit
// log (names only: attribute values may be personal data).
func (ch Change) labelDetail() []string {
	var parts []string
	if len(ch.AddLabels) > 0 {
		parts = append(parts, "+labels="+strings.Join(ch.AddLabels, ","))
	}
	if len(ch.RemoveLabels) > 0 {
		parts = append(parts, "-labels="+strings.Join(ch.RemoveLabels, ","))
	}
	if len(ch.Attributes) > 0 {
		names := make([]string, 0, len(ch.Attributes))
		for k := range ch.Attributes {
			names = append(names, k)
		}
		sort.Strings(names)
		parts = append(parts, "attributes="+strings.Join(names, ","))
	}
	return parts
}

// applyLabels applies the label and attribute parts of ch to x. Adding a
// label it has or removing one it lacks changes nothing, so applying the
// same change twice is the same as once.
func (ch Change) applyLabels(x *store.Conversation) {
	x.Labels = ApplyLabels(x.Labels, ch.AddLabels, ch.RemoveLabels)
	x.Attributes = ApplyAttributes(x.Attributes, ch.Attributes)
}

// ApplyLabels returns have with add added and remove removed, sorted, nil
// when empty.
func ApplyLabels(have, add, remove []string) []string {
	out := slices.Clone(have)
	for _, l := range add {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	out = slices.DeleteFunc(out, func(l string) bool { return slices.Contains(remove, l) })
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// ApplyAttributes returns have with set applied ("" deletes), nil when empty.
func ApplyAttributes(have, set map[string]string) map[string]string {
	if len(set) == 0 {
		return have
	}
	out := make(map[string]string, len(have)+len(set))
	for k, v := range have {
		out[k] = v
	}
	for k, v := range set {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// MergedLabels returns the labels of every record of a merged person and
// their attributes, the root's values winning over its members'.
func MergedLabels(v View) ([]string, map[string]string) {
	var ls []string
	var as map[string]string
	for _, m := range v.Members {
		if m.ID == v.Root.ID {
			continue
		}
		ls = ApplyLabels(ls, m.Labels, nil)
		as = ApplyAttributes(as, m.Attributes)
	}
	ls = ApplyLabels(ls, v.Root.Labels, nil)
	as = ApplyAttributes(as, v.Root.Attributes)
	return ls, as
}
