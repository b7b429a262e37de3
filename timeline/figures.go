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
