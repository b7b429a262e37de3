package labels

import (
	"errors"
	"testing"
)

// TestNormalizeValue: each attribute type's accepted and refused values.
func TestNormalizeValue(t *testing.T) {
	list := Attribute{Name: "plan", Type: TypeList, Options: []string{"free", "gold"}}
	for _, tc := range []struct {
		a       Attribute
		in, out string
		bad     bool
	}{
		{Attribute{Name: "n", Type: TypeText}, " hello ", "hello", false},
		{Attribute{Name: "n", Type: TypeNumber}, "04711", "4711", false},
		{Attribute{Name: "n", Type: TypeNumber}, "1.50", "1.5", false},
		{Attribute{Name: "n", Type: TypeNumber}, "12x", "", true},
		{Attribute{Name: "n", Type: TypeNumber}, "NaN", "", true},
		{Attribute{Name: "d", Type: TypeDate}, "2026-12-24", "2026-12-24", false},
		{Attribute{Name: "d", Type: TypeDate}, "24.12.2026", "", true},
		{Attribute{Name: "c", Type: TypeCheckbox}, "1", "true", false},
		{Attribute{Name: "c", Type: TypeCheckbox}, "yes", "", true},
		{list, "gold", "gold", false},
		{list, "platinum", "", true},
		{list, "", "", false}, // removes the value
	} {
		got, err := NormalizeValue(tc.a, tc.in)
		if tc.bad != (err != nil) || got != tc.out {
			t.Errorf("%s %q: %q, %v", tc.a.Type, tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s %q: error %v is not ErrInvalid", tc.a.Type, tc.in, err)
		}
	}
}

// TestDefinitionsValidated: bad label and attribute definitions.
func TestDefinitionsValidated(t *testing.T) {
	for _, l := range []Label{{Name: ""}, {Name: "Has Space"}, {Name: "ok", Color: "red"}} {
		if err := l.validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("label %+v: %v", l, err)
		}
	}
	for _, a := range []Attribute{{Name: "x", Type: "colour", On: OnCustomer}, {Name: "x", Type: TypeList, On: OnCustomer},
		{Name: "x", Type: TypeText, On: "order"}, {Name: "x", Type: TypeText, On: OnCustomer, Options: []string{"a"}}} {
		if err := a.validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("attribute %+v: %v", a, err)
		}
	}
}
