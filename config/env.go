package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// maxEnvIndex bounds list indices in environment names (SWITCHBOARD_AGENTS_3_NAME).
const maxEnvIndex = 999

var (
	errNoKey           = errors.New("matches no configuration key")
	textUnmarshalerTyp = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// applyEnv applies SWITCHBOARD_* overrides from env to cfg. The name after
// the prefix is the yaml key path, upper-cased, segments joined by "_"
// (SWITCHBOARD_STORE_REDIS_ADDRS). Lists of structs take an index segment
// (SWITCHBOARD_CHANNELS_0_PHASE); an index past the end grows the list.
// Maps take the rest of the name, lower-cased, as the key; a channel-type
// section (map of any) first follows keys already present in the file
// (SWITCHBOARD_CHANNELS_1_EMAIL_IMAP_PASSWORD reaches email.imap.password).
//
// The key path each variable set is recorded in cfg.src, so that a problem
// with the value names the variable rather than the file.
func applyEnv(cfg *Config, env []string) ValidationErrors {
	var errs ValidationErrors
	root := reflect.ValueOf(cfg).Elem()
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || ignoredEnv(name) {
			continue
		}
		p, err := setPath(root, strings.TrimPrefix(name, EnvPrefix), val, "")
		if err != nil {
			errs = append(errs, FieldError{Path: name, Msg: err.Error()})
			continue
		}
		if cfg.src != nil {
			cfg.src.setByEnv(p, name)
		}
	}
	return errs
}

// ignoredEnv reports names with the prefix that are not configuration
// keys: the config file's path, the CLI's token and hub URL, and the test
// and benchmark harness's variables.
func ignoredEnv(name string) bool {
	return name == EnvConfigFile || name == EnvToken || name == EnvURL ||
		strings.HasPrefix(name, EnvPrefix+"TEST_") ||
		strings.HasPrefix(name, EnvPrefix+"REQUIRE_") ||
		strings.HasPrefix(name, EnvPrefix+"BENCH_")
}

// yamlKey returns the yaml key of a struct field ("" to skip the field).
func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" {
		return ""
	}
	if tag == "" {
		return strings.ToLower(f.Name)
	}
	return tag
}

// isLeaf reports types set from one environment value.
func isLeaf(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerTyp) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	case reflect.Pointer: // an optional value (*bool, *float64): unset is nil
		return t.Elem().Kind() != reflect.Struct && isLeaf(t.Elem())
	}
	return false
}

// setPath sets the key named by rest (upper-case, "_"-joined) below v, at
// key path path, and returns the key path it set.
func setPath(v reflect.Value, rest, val, path string) (string, error) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		// An exact match on a leaf wins over descending into a section
		// whose name is a prefix (TOKEN_FILE vs TOKEN).
		for i := 0; i < t.NumField(); i++ {
			k := strings.ToUpper(yamlKey(t.Field(i)))
			if k != "" && k == rest {
				p := joinPath(path, yamlKey(t.Field(i)))
				if !isLeaf(t.Field(i).Type) {
					return p, errors.New("names a section, not a single key")
				}
				return p, setLeaf(v.Field(i), val)
			}
		}
		for i := 0; i < t.NumField(); i++ {
			k := strings.ToUpper(yamlKey(t.Field(i)))
			if k != "" && !isLeaf(t.Field(i).Type) && strings.HasPrefix(rest, k+"_") {
				return setPath(v.Field(i), rest[len(k)+1:], val, joinPath(path, yamlKey(t.Field(i))))
			}
		}
		return "", errNoKey
	case reflect.Pointer:
		if v.Type().Elem().Kind() != reflect.Struct {
			return "", errNoKey
		}
		if v.IsNil() {
			// Allocate the section only when the key exists in it.
			n := reflect.New(v.Type().Elem())
			p, err := setPath(n.Elem(), rest, val, path)
			if err != nil {
				return p, err
			}
			v.Set(n)
			return p, nil
		}
		return setPath(v.Elem(), rest, val, path)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			return "", errNoKey
		}
		idxStr, sub, ok := strings.Cut(rest, "_")
		idx, err := strconv.Atoi(idxStr)
		if !ok || err != nil || idx < 0 || strconv.Itoa(idx) != idxStr {
			return "", errors.New("a list needs an index: ..._0_KEY")
		}
		if idx > maxEnvIndex {
			return "", fmt.Errorf("index %d is out of range (at most %d)", idx, maxEnvIndex)
		}
		item := fmt.Sprintf("%s[%d]", path, idx)
		if idx < v.Len() {
			return setPath(v.Index(idx), sub, val, item)
		}
		n := reflect.New(v.Type().Elem()).Elem()
		p, err := setPath(n, sub, val, item)
		if err != nil {
			return p, err
		}
		grown := reflect.MakeSlice(v.Type(), idx+1, idx+1)
		reflect.Copy(grown, v)
		grown.Index(idx).Set(n)
		v.Set(grown)
		return p, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || rest == "" {
			return "", errNoKey
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		switch v.Type().Elem().Kind() {
		case reflect.String:
			k := strings.ToLower(rest)
			v.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()),
				reflect.ValueOf(val).Convert(v.Type().Elem()))
			return joinPath(path, k), nil
		case reflect.Interface:
			m, ok := v.Interface().(map[string]any)
			if !ok {
				return "", errNoKey
			}
			return setAnyMap(m, rest, val, path)
		}
		return "", errNoKey
	}
	return "", errNoKey
}

// setAnyMap sets rest in a raw channel section. It follows keys already
// present (a nested section first by exact key, then by prefix); a key not
// present is added lower-cased, as a string (Channel.Decode reads strings as
// plain YAML scalars, so "993" still fills an int field).
func setAnyMap(m map[string]any, rest, val, path string) (string, error) {
	for k, x := range m {
		if strings.ToUpper(k) == rest {
			switch x.(type) {
			case map[string]any, []any:
				return joinPath(path, k), errors.New("names a section, not a single key")
			}
			m[k] = val
			return joinPath(path, k), nil
		}
	}
	best := ""
	for k, x := range m {
		if _, ok := x.(map[string]any); ok && strings.HasPrefix(rest, strings.ToUpper(k)+"_") && len(k) > len(best) {
			best = k
		}
	}
	if best != "" {
		return setAnyMap(m[best].(map[string]any), rest[len(best)+1:], val, joinPath(path, best))
	}
	k := strings.ToLower(rest)
	m[k] = val
	return joinPath(path, k), nil
}

// setLeaf parses val into the leaf v. Errors never quote val.
func setLeaf(v reflect.Value, val string) error {
	if tu, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return tu.UnmarshalText([]byte(val))
	}
	switch v.Kind() {
	case reflect.Pointer:
		n := reflect.New(v.Type().Elem())
		if err := setLeaf(n.Elem(), val); err != nil {
			return err
		}
		v.Set(n)
	case reflect.String:
		v.SetString(val)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(val))
		if err != nil {
			return errors.New("is not a boolean (true or false)")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, v.Type().Bits())
		if err != nil {
			return errors.New("is not an integer")
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(val), 10, v.Type().Bits())
		if err != nil {
			return errors.New("is not a non-negative integer")
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(val), v.Type().Bits())
		if err != nil {
			return errors.New("is not a number")
		}
		v.SetFloat(f)
	case reflect.Slice: // []string: comma-separated
		var items []string
		for _, s := range strings.Split(val, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items).Convert(v.Type()))
	default:
		return errNoKey
	}
	return nil
}
