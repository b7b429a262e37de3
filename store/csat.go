package store

import "time"

// KindCSAT is a customer's answer to a satisfaction survey (issue 17): an
// entry with CSAT set, in the resolved conversation it rates.
const KindCSAT = "csat"

// CSAT is the answer a KindCSAT entry carries. Scale 5: Score 1..5;
// scale 2 (thumbs): 1 = down, 2 = up.
type CSAT struct {
	Score   int    `json:"score"`
	Scale   int    `json:"scale"`
	Comment string `json:"comment,omitempty"`
}

// Survey is the satisfaction survey sent about a resolved conversation:
// one per conversation, answered at most once (package csat keeps it).
type Survey struct {
	// EntryID is the survey message on the timeline.
	EntryID string    `json:"entry_id"`
	Scale   int       `json:"scale"`
	SentAt  time.Time `json:"sent_at"`
	// AnsweredAt and AnswerID (the KindCSAT entry) are set by the answer.
	AnsweredAt time.Time `json:"answered_at,omitempty"`
	AnswerID   string    `json:"answer_id,omitempty"`
}
