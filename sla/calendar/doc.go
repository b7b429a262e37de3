// Package calendar owns business-hours calendars (issue 17): weekly
// working hours in a time zone minus holidays, the weekly-hours parser
// (ParseSpans) and exact working-time arithmetic over them (Add, Between),
// across nights, weekends, holidays and DST changes. It imports the
// standard library only, so config can validate business_hours with it
// without reaching the store (channels import config; internal/archtest).
package calendar
