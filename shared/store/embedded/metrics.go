package embedded

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	commits   *prometheus.CounterVec
	batchSize prometheus.Histogram
	fsync     prometheus.Histogram
	version   prometheus.Gauge
	watches   prometheus.Gauge
	stalls    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg) // nil reg: unregistered
	return &metrics{
		commits: f.NewCounterVec(prometheus.CounterOpts{
			Name: "store_embedded_commits_total",
			Help: "Write transactions that reached the committer, by result.",
		}, []string{"result"}),
		batchSize: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "store_embedded_commit_batch_transactions",
			Help:    "Transactions per commit batch (sharing one fsync).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		fsync: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "store_embedded_commit_write_seconds",
			Help:    "Time to write and fsync one commit batch.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}),
		version: f.NewGauge(prometheus.GaugeOpts{
			Name: "store_embedded_commit_version",
			Help: "Newest published commit version.",
		}),
		watches: f.NewGauge(prometheus.GaugeOpts{
			Name: "store_embedded_watches",
			Help: "Pending watches.",
		}),
		stalls: f.NewCounterVec(prometheus.CounterOpts{
			Name: "store_embedded_write_stalls_total",
			Help: "Times Pebble held commits back until flushes or compactions caught up, by reason.",
		}, []string{"reason"}),
	}
}
