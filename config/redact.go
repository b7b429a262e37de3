package config

import (
	"reflect"
	"strings"
)

// RedactedValue is the placeholder that replaces secrets in Redacted output.
const RedactedValue = "REDACTED"

// Redacted returns a deep copy of c with every secret replaced by
// "REDACTED": agent tokens, the Redis password, and in channel sections and
// plugin settings every non-empty value whose key ends in password, secret,
// token, passphrase, credential(s) or key (api_key, private_key), and agent
// password hashes. *_file paths and token_sha256 are kept.
func (c *Config) Redacted() *Config {
	if c == nil {
		return nil
	}
	out := deepCopy(reflect.ValueOf(c)).Interface().(*Config)
	out.loadErrs = append(ValidationErrors(nil), c.loadErrs...)
	redact(reflect.ValueOf(out).Elem())
	return out
}

// IsSecretKey reports whether a settings key names a secret (see Redacted).
// Connectors may use it for their own logging.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	if strings.HasSuffix(k, "_file") || strings.HasSuffix(k, "sha256") {
		return false
	}
	if strings.HasSuffix(k, "password_hash") {
		return true // a bcrypt/argon2id hash can still be attacked offline
	}
	for _, s := range []string{"password", "passwd", "secret", "token", "passphrase", "credential", "credentials", "apikey"} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return k == "key" || strings.HasSuffix(k, "_key") || strings.HasSuffix(k, "-key")
}

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	case reflect.Interface:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(deepCopy(v.Elem()))
		return n
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(deepCopy(it.Key()), deepCopy(it.Value()))
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				n.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return n
	}
	return v
}

// redact replaces secrets in place in a value deepCopy made.
func redact(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			redact(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			redact(v.Index(i))
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := v.Field(i)
			key := yamlKey(t.Field(i))
			if key == "" {
				continue
			}
			if f.Kind() == reflect.String && IsSecretKey(key) {
				if f.String() != "" && f.CanSet() {
					f.SetString(RedactedValue)
				}
				continue
			}
			redact(f)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			k, val := it.Key(), it.Value()
			if k.Kind() == reflect.String && IsSecretKey(k.String()) {
				if !isEmpty(val) {
					v.SetMapIndex(k, reflect.ValueOf(RedactedValue).Convert(v.Type().Elem()))
				}
				continue
			}
			// Nested maps and slices are references: redact in place.
			redact(val)
		}
	}
}

func isEmpty(v reflect.Value) bool {
	for v.Kind() == reflect.Interface {
		if v.IsNil() {
			return true
		}
		v = v.Elem()
	}
	return v.Kind() == reflect.String && v.String() == ""
}
