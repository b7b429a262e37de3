package timeline

import (
	"context"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// countResolution adds the time from c's opening to its resolution to its
// channel's adoption figures (issue 16), in the phase its audience stands
// for. Best effort: a failure is logged, the resolution stands.
func (s *Service) countResolution(ctx context.Context, c store.Conversation, now time.Time) {
	err := s.st.AddFigures(ctx, store.FigureAdd{Channel: c.Channel, Phase: store.AudiencePhase(c.Audience),
		Day: store.FigureDay(now), Counts: map[string]int64{store.FigureSample(store.FigureResolution, now.Sub(c.CreatedAt)): 1}})
	if err != nil {
		s.log.Warn("figures: resolution not counted", "conversation", c.ID, "err", err)
	}
}

// FigureFirstResponse is the adoption figure of first-response times
// (router.FigFirstResponse names the same counter).
const FigureFirstResponse = "first_response_s"

// countFirstResponse adds the time from c's opening to its first reply to
// its channel's adoption figures, once: the caller saw FirstReplyAt set by
// its own compare-and-swap, which happens once per conversation on every
// replica (this replaced a UseOnce write per reply in the router). A
// conversation an agent started (no customer message) has nothing to
// respond to and counts nothing.
func (s *Service) countFirstResponse(ctx context.Context, c store.Conversation) {
	if c.LastInboundAt.IsZero() {
		return
	}
	err := s.st.AddFigures(ctx, store.FigureAdd{Channel: c.Channel, Phase: store.AudiencePhase(c.Audience),
		Day: store.FigureDay(c.FirstReplyAt), Counts: map[string]int64{store.FigureSample(FigureFirstResponse, c.FirstReplyAt.Sub(c.CreatedAt)): 1}})
	if err != nil {
		s.log.Warn("figures: first response not counted", "conversation", c.ID, "err", err)
	}
}
