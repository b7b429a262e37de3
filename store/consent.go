package store

import (
	"context"
	"time"
)

// ConsentLog keeps every consent decision ever recorded for a customer,
// append-only: PutConsent adds to it as well as replacing the latest
// decision that ListConsents derives the current state from. DeleteConsents
// removes the history with the latest decisions (erasure).
type ConsentLog interface {
	// ConsentHistory returns every decision recorded for the customer,
	// oldest first. The same decision recorded twice (same time, channel,
	// purpose, granted and source: a redelivered message) is kept once.
	ConsentHistory(ctx context.Context, customerID string) ([]Consent, error)
}

// AccessLink is a customer's link to the self-service page. The link's
// token is signed by the hub and names ID; the record says whom it is for,
// until when, and whether it was revoked.
type AccessLink struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	CreatedBy  string    `json:"created_by"`
	SendVia    string    `json:"send_via,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RevokedAt  time.Time `json:"revoked_at,omitempty"`
	RevokedBy  string    `json:"revoked_by,omitempty"`
}

// Erasure request statuses.
const (
	ErasureRequested = "requested"
	ErasureApproved  = "approved"
	ErasureDeclined  = "declined"
)

// ErasureRequest is a customer's request, made on the self-service page,
// to be erased; an admin approves (the customer is erased) or declines it.
type ErasureRequest struct {
	ID          string    `json:"id"`
	CustomerID  string    `json:"customer_id"`
	Status      string    `json:"status"`
	RequestedAt time.Time `json:"requested_at"`
	Via         string    `json:"via,omitempty"` // the access link it was made with
	DecidedBy   string    `json:"decided_by,omitempty"`
	DecidedAt   time.Time `json:"decided_at,omitempty"`
	Reason      string    `json:"reason,omitempty"`
}

// SelfService holds the records of the customer self-service page.
type SelfService interface {
	// PutAccessLink stores l, replacing a link with the same id.
	PutAccessLink(ctx context.Context, l AccessLink) error
	// GetAccessLink returns the link or ErrNotFound.
	GetAccessLink(ctx context.Context, id string) (AccessLink, error)
	// PutErasureRequest stores r if its id is new; an existing id is left
	// unchanged and not an error (idempotent).
	PutErasureRequest(ctx context.Context, r ErasureRequest) error
	GetErasureRequest(ctx context.Context, id string) (ErasureRequest, error)
	// UpdateErasureRequest is compare-and-swap like UpdateCustomer.
	UpdateErasureRequest(ctx context.Context, id string, fn func(*ErasureRequest) error) (ErasureRequest, error)
	// ListErasureRequests returns requests with the status ("" = any),
	// newest first, at most limit.
	ListErasureRequests(ctx context.Context, status string, limit int) ([]ErasureRequest, error)
}
