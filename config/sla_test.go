package config

import (
	"testing"
	"time"
)

func TestSLAConfig(t *testing.T) {
	p := writeConfig(t, `
agents:
  - {name: lena, role: agent, token: t1}
teams:
  - name: support
    leads: [lena]
channels:
  - {name: mail, type: api, phase: live}
business_hours:
  - name: office
    time_zone: Europe/Helsinki
    weekly: {mon: "09:00-17:00", fri: "08:00-12:00, 13:00-16:00"}
    holidays: ["2026-12-24"]
sla:
  - {name: standard, first_response: 4h, resolution: 40h, calendar: office, channels: [mail]}
  - {name: vip, first_response: 30m, teams: [support]}
`)
	cfg := mustLoad(t, p, []string{"SWITCHBOARD_SLA_1_FIRST_RESPONSE=15m"})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cal, err := cfg.BusinessHours[0].Calendar(); err != nil || cal.Name != "office" {
		t.Fatalf("calendar %v %v", cal, err)
	}
	if cfg.SLA[1].FirstResponse.D() != 15*time.Minute || cfg.Teams[0].Leads[0] != "lena" {
		t.Fatalf("%+v %+v", cfg.SLA[1], cfg.Teams[0])
	}
}

func TestSLAConfigErrors(t *testing.T) {
	p := writeConfig(t, `teams:
  - name: support
    leads: [nobody]
business_hours:
  - name: office
    time_zone: Mars/Olympus
    weekly:
      mon: "17:00-09:00"
      funday: "09:00-10:00"
sla:
  - name: standard
    first_response: -4h
    calendar: shop
    channels: [nowhere]
  - name: empty
`)
	_, err := Load(p, nil)
	got := lines(t, err)
	for _, want := range []string{
		p + `:3: teams[0].leads[0]: unknown agent "nobody"`,
		p + `:8: business_hours[0].weekly.mon: business hours: "17:00-09:00" ends before it starts (a night shift is two days' ranges)`,
		p + `:12: sla[0].first_response: must be positive or empty (no target), got -4h0m0s`,
		p + `:13: sla[0].calendar: no business_hours calendar is named "shop"`,
		p + `:14: sla[0].channels[0]: unknown channel "nowhere"`,
	} {
		found := false
		for _, l := range got {
			found = found || l == want
		}
		if !found {
			t.Errorf("missing %q in\n%v", want, got)
		}
	}
}
