package config

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
)

// maxSecretFileBytes bounds a secret file (a token, a password, a PEM key).
const maxSecretFileBytes = 1 << 20

// ReadSecretFile reads a secret from path, trimming trailing newlines (so
// files written by `echo` or editors work). An empty secret is an error.
// The error names the path, never the content. Connectors use it for the
// *_file keys of their own sections.
func ReadSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading secret file %s: %w", path, err)
	}
	if len(data) > maxSecretFileBytes {
		return "", fmt.Errorf("secret file %s is larger than %d bytes", path, maxSecretFileBytes)
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

// resolveSecrets fills every string field X that has a sibling string field
// XFile (yaml x and x_file) from the file when X is empty. Setting both is an
// error. Problems are reported at the x_file key path.
func resolveSecrets(cfg *Config) ValidationErrors {
	var errs ValidationErrors
	walkSecrets(reflect.ValueOf(cfg).Elem(), "", &errs)
	return errs
}

func walkSecrets(v reflect.Value, path string, errs *ValidationErrors) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkSecrets(v.Elem(), path, errs)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := yamlKey(f)
			if key == "" {
				continue
			}
			sub := joinPath(path, key)
			fileField, ok := t.FieldByName(f.Name + "File")
			if f.Type.Kind() == reflect.String && ok && fileField.Type.Kind() == reflect.String {
				secret, file := v.Field(i), v.FieldByIndex(fileField.Index)
				filePath := joinPath(path, yamlKey(fileField))
				switch {
				case file.String() == "":
				case secret.String() != "":
					*errs = append(*errs, FieldError{Path: filePath,
						Msg: fmt.Sprintf("set either %s or %s, not both", key, yamlKey(fileField))})
				default:
					s, err := ReadSecretFile(file.String())
					if err != nil {
						*errs = append(*errs, FieldError{Path: filePath, Msg: err.Error()})
					} else {
						secret.SetString(s)
					}
				}
				continue
			}
			walkSecrets(v.Field(i), sub, errs)
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
