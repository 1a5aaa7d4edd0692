package clock

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	won    prometheus.Counter
	lost   prometheus.Counter
	missed prometheus.Counter
}

// newMetrics registers the ticker's metrics with reg (nil: unregistered).
// The clock runs in more than one daemon, so its names carry a clock_
// prefix rather than a daemon's.
func newMetrics(reg prometheus.Registerer, lag func() float64) *metrics {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "clock_tick_lag_seconds",
		Help: "Seconds since this participant last saw the clock advance.",
	}, lag)
	return &metrics{
		won: f.NewCounter(prometheus.CounterOpts{
			Name: "clock_ticks_won_total",
			Help: "Ticks this participant committed.",
		}),
		lost: f.NewCounter(prometheus.CounterOpts{
			Name: "clock_conflicts_lost_total",
			Help: "Tick transactions that lost to another participant's tick (not_committed).",
		}),
		missed: f.NewCounter(prometheus.CounterOpts{
			Name: "clock_ticks_missed_total",
			Help: "Whole intervals in which no participant advanced the clock, counted when this participant next sees it advance (clock_tick_lag_seconds shows a stall while it lasts).",
		}),
	}
}
