// Package sla owns the service level of conversations (issue 17): SLA
// policies over business-hours calendars (sla/calendar holds the
// working-time arithmetic) and the due times and breaches they give a
// conversation (Policies, kept in store.Conversation.SLA inside
// timeline.Service's compare-and-swaps through the timeline.Tracker seam);
// the service figures rolled up per channel, team, agent and day, month
// and year as things happen (Rollup, in the store's Figures under
// "svc:channel:NAME", "svc:team:NAME" and "svc:agent:NAME"), fed CSAT
// answers by the survey code (Rollup.CSATReceived); and the service report
// read from them (Read, GET /api/v1/reports/service).
//
// It may import store, sla/calendar, prometheus and the standard library.
// cmd/switchboard turns config into its types (config imports only
// sla/calendar: channels import config and must not reach the store), and
// timeline calls it through an interface timeline declares.
package sla
