package config

import (
	"strings"
	"testing"
)

// webhook_delivery.ingest_share: 0.1 by default, set by the file or the
// environment, and a share outside (0, 1] refused at its key.
func TestWebhookDeliveryIngestShare(t *testing.T) {
	p := writeConfig(t, "channels: [{name: a, type: api}]\n")
	if got := mustLoad(t, p, nil).WebhookDelivery.Share(); got != 0.1 {
		t.Errorf("default ingest_share = %v, want 0.1", got)
	}
	f := writeConfig(t, "channels: [{name: a, type: api}]\nwebhook_delivery: {ingest_share: 0.25}\n")
	if got := mustLoad(t, f, nil).WebhookDelivery.Share(); got != 0.25 {
		t.Errorf("from the file: ingest_share = %v, want 0.25", got)
	}
	if got := mustLoad(t, f, []string{"SWITCHBOARD_WEBHOOK_DELIVERY_INGEST_SHARE=1"}).WebhookDelivery.Share(); got != 1 {
		t.Errorf("from the environment: ingest_share = %v, want 1", got)
	}
	for _, bad := range []string{"-0.1", "1.5", "0"} {
		_, err := Load(writeConfig(t, "channels: [{name: a, type: api}]\nwebhook_delivery: {ingest_share: "+bad+"}\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "webhook_delivery.ingest_share") {
			t.Errorf("ingest_share %s: error = %v, want one naming webhook_delivery.ingest_share", bad, err)
		}
	}
	if _, err := Load(p, []string{"SWITCHBOARD_WEBHOOK_DELIVERY_INGEST_SHARE=0"}); err == nil || !strings.Contains(err.Error(), "webhook_delivery.ingest_share") {
		t.Errorf("ingest_share=0 from the environment: error = %v, want one naming webhook_delivery.ingest_share (0 is not \"off\": 1 is)", err)
	}
	if _, err := Load(p, []string{"SWITCHBOARD_WEBHOOK_DELIVERY_INGEST_SHARE=lots"}); err == nil {
		t.Error("ingest_share=lots accepted from the environment")
	}
}
