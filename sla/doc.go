// Package sla owns the service level of conversations (issue 17): business
// hours calendars and the working-time arithmetic over them (Calendar),
// SLA policies and the due times and breaches they give a conversation
// (Policies, kept in store.Conversation.SLA inside timeline.Service's
// compare-and-swaps through the timeline.Tracker seam), and the service
// figures rolled up per channel, team, agent and day as things happen
// (Rollup, in the store's Figures under the cells "svc:channel:NAME",
// "svc:team:NAME" and "svc:agent:NAME"), read by the service report
// (Report, GET /api/v1/reports/service) and fed CSAT answers by the
// survey code (Rollup.CSATReceived).
//
// It may import store and the standard library only; config is turned
// into its types by cmd/switchboard, and timeline calls it through an
// interface it declares (timeline.Tracker), so neither depends on the
// other's internals.
package sla
