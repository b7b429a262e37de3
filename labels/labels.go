package labels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// ErrInvalid: a definition or value failed validation (a clear 400/422).
var ErrInvalid = errors.New("invalid")

// Label is one entry of the shared label list.
type Label struct {
	Name        string `json:"name"`
	Color       string `json:"color,omitempty"`
	Description string `json:"description,omitempty"`
}

// Attribute types.
const (
	TypeText     = "text"
	TypeNumber   = "number"
	TypeDate     = "date"
	TypeList     = "list"
	TypeCheckbox = "checkbox"
)

// Attribute targets.
const (
	OnCustomer     = "customer"
	OnConversation = "conversation"
)

// Attribute is a custom attribute definition.
type Attribute struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	On          string   `json:"on"`
	Options     []string `json:"options,omitempty"` // list values
	Description string   `json:"description,omitempty"`
}

const (
	keyLabels     = "labels/catalog"
	keyAttributes = "labels/attributes"
)

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// Catalog reads and edits the label list and attribute definitions.
type Catalog struct {
	st store.Store
	mu sync.Mutex // serialises this process's edits of the documents
}

func New(st store.Store) *Catalog { return &Catalog{st: st} }

func (c *Catalog) load(ctx context.Context, key string, v any) error {
	b, err := c.st.GetCheckpoint(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (c *Catalog) save(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.st.PutCheckpoint(ctx, key, b)
}

// Labels returns the label list sorted by name.
func (c *Catalog) Labels(ctx context.Context) ([]Label, error) {
	var ls []Label
	err := c.load(ctx, keyLabels, &ls)
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	return ls, err
}

// Attributes returns the attribute definitions sorted by target and name.
func (c *Catalog) Attributes(ctx context.Context) ([]Attribute, error) {
	var as []Attribute
	err := c.load(ctx, keyAttributes, &as)
	sort.Slice(as, func(i, j int) bool {
		if as[i].On != as[j].On {
			return as[i].On < as[j].On
		}
		return as[i].Name < as[j].Name
	})
	return as, err
}

func (l Label) validate() error {
	if !nameRE.MatchString(l.Name) {
		return fmt.Errorf("%w: label name %q: lower-case letters, digits, '_', '.', '-', at most 64", ErrInvalid, l.Name)
	}
	if l.Color != "" && !colorRE.MatchString(l.Color) {
		return fmt.Errorf("%w: label colour %q: #rrggbb", ErrInvalid, l.Color)
	}
	if len(l.Description) > 500 {
		return fmt.Errorf("%w: label description longer than 500", ErrInvalid)
	}
	return nil
}

// PutLabel adds or replaces a label (by name), audited as label.put.
func (c *Catalog) PutLabel(ctx context.Context, l Label, by string) error {
	if err := l.validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ls, err := c.Labels(ctx)
	if err != nil {
		return err
	}
	ls = slices.DeleteFunc(ls, func(x Label) bool { return x.Name == l.Name })
	ls = append(ls, l)
	if err := c.audit(ctx, by, "label.put", l.Name, "color="+l.Color); err != nil {
		return err
	}
	return c.save(ctx, keyLabels, ls)
}

// DeleteLabel removes a label from the list (store.ErrNotFound when
// missing). Conversations keep it until changed; it can no longer be added.
func (c *Catalog) DeleteLabel(ctx context.Context, name, by string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ls, err := c.Labels(ctx)
	if err != nil {
		return err
	}
	n := len(ls)
	ls = slices.DeleteFunc(ls, func(x Label) bool { return x.Name == name })
	if len(ls) == n {
		return store.ErrNotFound
	}
	if err := c.audit(ctx, by, "label.delete", name, ""); err != nil {
		return err
	}
	return c.save(ctx, keyLabels, ls)
}

func (a Attribute) validate() error {
	if !nameRE.MatchString(a.Name) {
		return fmt.Errorf("%w: attribute name %q: lower-case letters, digits, '_', '.', '-', at most 64", ErrInvalid, a.Name)
	}
	switch a.Type {
	case TypeText, TypeNumber, TypeDate, TypeCheckbox:
		if len(a.Options) > 0 {
			return fmt.Errorf("%w: attribute %q: options are for type list only", ErrInvalid, a.Name)
		}
	case TypeList:
		if len(a.Options) == 0 {
			return fmt.Errorf("%w: attribute %q: type list needs options", ErrInvalid, a.Name)
		}
	default:
		return fmt.Errorf("%w: attribute %q: type must be one of text, number, date, list, checkbox", ErrInvalid, a.Name)
	}
	if a.On != OnCustomer && a.On != OnConversation {
		return fmt.Errorf("%w: attribute %q: on must be customer or conversation", ErrInvalid, a.Name)
	}
	return nil
}

// PutAttribute adds or replaces an attribute definition (by name and target).
func (c *Catalog) PutAttribute(ctx context.Context, a Attribute, by string) error {
	if err := a.validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	as, err := c.Attributes(ctx)
	if err != nil {
		return err
	}
	as = slices.DeleteFunc(as, func(x Attribute) bool { return x.Name == a.Name && x.On == a.On })
	as = append(as, a)
	if err := c.audit(ctx, by, "attribute.put", a.On+"."+a.Name, "type="+a.Type); err != nil {
		return err
	}
	return c.save(ctx, keyAttributes, as)
}

// DeleteAttribute removes a definition (store.ErrNotFound when missing).
func (c *Catalog) DeleteAttribute(ctx context.Context, on, name, by string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	as, err := c.Attributes(ctx)
	if err != nil {
		return err
	}
	n := len(as)
	as = slices.DeleteFunc(as, func(x Attribute) bool { return x.Name == name && x.On == on })
	if len(as) == n {
		return store.ErrNotFound
	}
	if err := c.audit(ctx, by, "attribute.delete", on+"."+name, ""); err != nil {
		return err
	}
	return c.save(ctx, keyAttributes, as)
}

func (c *Catalog) audit(ctx context.Context, by, action, target, detail string) error {
	now := time.Now().UTC()
	if err := c.st.AppendAudit(ctx, store.AuditRecord{At: now, Actor: by, Action: action, Target: target, Detail: detail}); err != nil {
		return fmt.Errorf("%w: %w", store.ErrAuditFailed, err)
	}
	return nil
}

// CheckLabels returns ErrInvalid naming the first label not in the list.
func (c *Catalog) CheckLabels(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	ls, err := c.Labels(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !slices.ContainsFunc(ls, func(l Label) bool { return l.Name == n }) {
			return fmt.Errorf("%w: unknown label %q (add it to the label list first)", ErrInvalid, n)
		}
	}
	return nil
}

// CheckAttributes validates and normalises values for target on
// ("" removes a value). It returns the normalised map.
func (c *Catalog) CheckAttributes(ctx context.Context, on string, set map[string]string) (map[string]string, error) {
	if len(set) == 0 {
		return nil, nil
	}
	as, err := c.Attributes(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(set))
	for k, v := range set {
		i := slices.IndexFunc(as, func(a Attribute) bool { return a.Name == k && a.On == on })
		if i < 0 {
			return nil, fmt.Errorf("%w: unknown %s attribute %q", ErrInvalid, on, k)
		}
		nv, err := NormalizeValue(as[i], v)
		if err != nil {
			return nil, err
		}
		out[k] = nv
	}
	return out, nil
}

// NormalizeValue checks v against a's type and returns its canonical form
// (numbers as strconv formats them, dates YYYY-MM-DD, checkboxes
// true/false). "" is kept (it removes the value).
func NormalizeValue(a Attribute, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	bad := func(want string) (string, error) {
		return "", fmt.Errorf("%w: attribute %q: %q is not %s", ErrInvalid, a.Name, v, want)
	}
	switch a.Type {
	case TypeText:
		if len(v) > 1000 {
			return bad("a text of at most 1000 bytes")
		}
		return v, nil
	case TypeNumber:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("a number")
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case TypeDate:
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return bad("a date (YYYY-MM-DD)")
		}
		return t.Format("2006-01-02"), nil
	case TypeCheckbox:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return bad("true or false")
		}
		return strconv.FormatBool(b), nil
	case TypeList:
		if !slices.Contains(a.Options, v) {
			return bad("one of " + strings.Join(a.Options, ", "))
		}
		return v, nil
	}
	return bad("of a known type")
}

// UpdateCustomer adds/removes labels and sets attributes of customer id
// after validating them; the audit record (customer.labels) goes first.
func (c *Catalog) UpdateCustomer(ctx context.Context, id string, add, remove []string, attrs map[string]string, by string) (store.Customer, error) {
	if err := c.CheckLabels(ctx, add); err != nil {
		return store.Customer{}, err
	}
	attrs, err := c.CheckAttributes(ctx, OnCustomer, attrs)
	if err != nil {
		return store.Customer{}, err
	}
	cur, err := c.st.GetCustomer(ctx, id)
	if err != nil {
		return store.Customer{}, err
	}
	detail := timeline.Change{AddLabels: add, RemoveLabels: remove, Attributes: attrs}
	key := store.AuditKey(ctx)
	if key == "" {
		key = "v" + strconv.FormatInt(cur.Version, 10)
	}
	d := changeDetail(detail)
	if err := c.st.AppendAudit(ctx, store.AuditRecord{ID: store.AuditID(by, "customer.labels", id, key, d), At: time.Now().UTC(),
		Actor: by, Action: "customer.labels", Target: id, Customer: id, Detail: d}); err != nil {
		return store.Customer{}, fmt.Errorf("%w: %w", store.ErrAuditFailed, err)
	}
	return c.st.UpdateCustomer(ctx, id, func(x *store.Customer) error {
		x.Labels = timeline.ApplyLabels(x.Labels, add, remove)
		x.Attributes = timeline.ApplyAttributes(x.Attributes, attrs)
		return nil
	})
}

func changeDetail(ch timeline.Change) string {
	var parts []string
	if len(ch.AddLabels) > 0 {
		parts = append(parts, "+labels="+strings.Join(ch.AddLabels, ","))
	}
	if len(ch.RemoveLabels) > 0 {
		parts = append(parts, "-labels="+strings.Join(ch.RemoveLabels, ","))
	}
	names := make([]string, 0, len(ch.Attributes))
	for k := range ch.Attributes {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > 0 {
		parts = append(parts, "attributes="+strings.Join(names, ","))
	}
	return strings.Join(parts, " ")
}
