package inbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves the Prometheus metrics of g.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// MetricsServer is the whole handler of a listener of its own for metrics
// (http.metrics_addr): GET /metrics without authentication (the listener
// is meant for loopback or a scrape network), JSON errors otherwise.
func MetricsServer(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", MetricsHandler(g))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		j := &jsonErrors{ResponseWriter: w}
		mux.ServeHTTP(j, r)
		j.finish()
	})
}

// metricsAuth lets the metrics token (http.metrics_token) or an admin
// read h: metrics name shadow and pilot channels.
func (s *Server) metricsAuth(h http.Handler) http.HandlerFunc {
	admin := s.authed(true, h.ServeHTTP)
	var want [sha256.Size]byte
	if s.o.MetricsToken != "" {
		want = sha256.Sum256([]byte(s.o.MetricsToken))
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if tok := bearer(r); tok != "" && s.o.MetricsToken != "" {
			got := sha256.Sum256([]byte(tok))
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				h.ServeHTTP(w, r)
				return
			}
		}
		admin(w, r)
	}
}
