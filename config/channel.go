package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"

	"gopkg.in/yaml.v3"
)

const (
	msgUnknownSection = "unknown channel section"
	msgNeedPointer    = "Decode needs a non-nil pointer"
)

type section struct {
	name string
	raw  map[string]any
}

func (c Channel) sections() []section {
	return []section{
		{TypeEmail, c.Email},
		{TypeSMS, c.SMS},
		{TypeSlack, c.Slack},
		{TypeWebform, c.Webform},
		{TypePlugin, c.Plugin},
	}
}

// Section returns the raw settings of section ("email", "sms", "slack",
// "webform" or "plugin"); nil when absent or unknown.
func (c Channel) Section(section string) map[string]any {
	for _, s := range c.sections() {
		if s.name == section {
			return s.raw
		}
	}
	return nil
}

// Decode decodes the raw section ("email", "sms", "slack", "webform" or
// "plugin") into into, a pointer to the connector's typed settings, with
// unknown keys rejected. An absent section decodes as empty (into keeps its
// values). Errors are ValidationErrors with paths like
// channels[support-mail].email and never quote a value.
//
// String values are handed over as plain YAML scalars, so a value set from
// an environment variable ("993") still fills an int or bool field. Keys
// named *_file are not resolved here: the connector calls ReadSecretFile.
func (c Channel) Decode(section string, into any) error {
	where := fmt.Sprintf("channels[%s].%s", c.Name, section)
	known := false
	for _, s := range c.sections() {
		known = known || s.name == section
	}
	if !known {
		return ValidationErrors{{Path: where, Msg: msgUnknownSection}}
	}
	if into == nil || reflect.ValueOf(into).Kind() != reflect.Pointer {
		return ValidationErrors{{Path: where, Msg: msgNeedPointer}}
	}
	raw := c.Section(section)
	if raw == nil {
		return nil
	}
	text, err := yaml.Marshal(toNode(raw))
	if err != nil {
		return ValidationErrors{{Path: where, Msg: "cannot re-encode section"}}
	}
	return decodeStrict(text, into, where, false)
}

// toNode builds the YAML node of a raw value. Strings become untagged plain
// scalars (the emitter quotes them when it must); empty and null-like
// strings stay strings.
func toNode(x any) *yaml.Node {
	switch x := x.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case string:
		switch x {
		case "", "~", "null", "Null", "NULL":
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x, Style: yaml.DoubleQuotedStyle}
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Value: x}
	}
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool {
			return fmt.Sprint(keys[i].Interface()) < fmt.Sprint(keys[j].Interface())
		})
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range keys {
			n.Content = append(n.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(k.Interface())},
				toNode(v.MapIndex(k).Interface()))
		}
		return n
	case reflect.Slice, reflect.Array:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := 0; i < v.Len(); i++ {
			n.Content = append(n.Content, toNode(v.Index(i).Interface()))
		}
		return n
	}
	n := &yaml.Node{}
	if err := n.Encode(x); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Value: fmt.Sprint(x)}
	}
	return n
}

// DecodeErrors splits what Decode returned: the problems with keys of the
// section (unknown keys, wrong types), after which the settings hold every
// value that did decode, and any other error, after which they must not be
// used. A connector checks the rest of its section and reports both.
func DecodeErrors(err error) (ValidationErrors, error) {
	var ve ValidationErrors
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &ve) && len(ve) > 0 && ve[0].Msg != msgUnknownSection && ve[0].Msg != msgNeedPointer:
		return ve, nil
	}
	return nil, err
}
