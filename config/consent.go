package config

import "fmt"

// Consent bases of a purpose.
const (
	BasisOptIn  = "opt_in"  // only after the customer said yes
	BasisOptOut = "opt_out" // until the customer said no
	BasisNone   = "none"    // no consent needed (answers the customer asked for)
)

// Consent configures the purposes the hub asks customers' consent for.
type Consent struct {
	// Purposes replace the defaults (service: none, feedback: opt_out,
	// marketing: opt_in) when given.
	Purposes []ConsentPurpose `yaml:"purposes"`
}

// ConsentPurpose is one purpose: its name, its legal basis, and the text
// shown to customers (with its version, recorded with every decision).
type ConsentPurpose struct {
	Name    string `yaml:"name"`
	Basis   string `yaml:"basis"`
	Text    string `yaml:"text"`
	Version string `yaml:"version"`
}

func (c Consent) validate(v *validator) {
	seen := map[string]bool{}
	for i, p := range c.Purposes {
		path := fmt.Sprintf("consent.purposes[%d]", i)
		switch {
		case p.Name == "":
			v.add(path+".name", "is required")
		case p.Name == "*" || p.Name == "messages":
			v.add(path+".name", "%q is reserved", p.Name)
		case seen[p.Name]:
			v.add(path+".name", "%q is defined twice", p.Name)
		}
		seen[p.Name] = true
		v.oneOf(path+".basis", p.Basis, []string{BasisOptIn, BasisOptOut, BasisNone})
	}
}
