package router_test

import (
	"context"
	"slices"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// Issue 22, fourth case: phone numbers without a country code are read in
// the channel's region (channels[].default_region), else the global one,
// and the entry says which rule read them; a number no rule can read is
// kept as claimed raw text on a timeline, never dropped.
func TestChannelDefaultRegion(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{
			{Name: "sms-fi", Type: "sms", Phase: store.PhaseLive},
			{Name: "sms-se", Type: "sms", Phase: store.PhaseLive, DefaultRegion: "SE"},
		}, store.SystemClock, nil)
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		for _, tc := range []struct {
			channel, number, want, flag string
			verified                    bool
		}{
			{"sms-fi", "040 1234567", "+358401234567", "phone-region:FI (identity.default_region)", true},
			{"sms-se", "070 123 45 67", "+46701234567", "phone-region:SE (channels[sms-se].default_region)", true},
			{"sms-se", "+358 40 7654321", "+358407654321", "", true},
			{"sms-se", "call me maybe", "call me maybe", "phone-unreadable", false},
		} {
			m, err := in.Prepare(connectors.Message{Channel: tc.channel, ProviderID: tc.number, Text: "hi",
				Identities: []connectors.Identity{{Type: connectors.Phone, Value: tc.number, Verified: true}}})
			if err != nil {
				t.Fatalf("%s %q: %v", tc.channel, tc.number, err)
			}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatal(err)
			}
			e, err := st.GetEntry(ctx, m.ID)
			if err != nil {
				t.Fatalf("%s %q: no entry: %v", tc.channel, tc.number, err)
			}
			if *e.Sender != (connectors.Identity{Type: connectors.Phone, Value: tc.want, Verified: tc.verified}) {
				t.Errorf("%s %q: sender %+v, want %s verified=%v", tc.channel, tc.number, *e.Sender, tc.want, tc.verified)
			}
			hasFlag := slices.ContainsFunc(e.Flags, func(f string) bool { return f == tc.flag })
			if tc.flag != "" && !hasFlag || tc.flag == "" && slices.ContainsFunc(e.Flags, func(f string) bool { return len(f) > 6 && f[:6] == "phone-" }) {
				t.Errorf("%s %q: flags %q, want %q", tc.channel, tc.number, e.Flags, tc.flag)
			}
			h, err := identity.NewResolver(st, store.SystemClock, nil, nil).Lookup(ctx, connectors.Identity{Type: connectors.Phone, Value: tc.want})
			if err != nil || h.Verified != tc.verified || rootOfEntry(t, st, e) != h.Customer {
				t.Errorf("%s %q: lookup %+v %v, want the entry's customer, verified=%v", tc.channel, tc.number, h, err, tc.verified)
			}
		}
	})
}

func rootOfEntry(t *testing.T, st store.Store, e store.Entry) string {
	t.Helper()
	c, err := st.GetCustomer(context.Background(), e.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	for c.MergedInto != "" {
		if c, err = st.GetCustomer(context.Background(), c.MergedInto); err != nil {
			t.Fatal(err)
		}
	}
	return c.ID
}
