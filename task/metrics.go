package task

import "github.com/prometheus/client_golang/prometheus"

// Collector reports a runner's stats to Prometheus: per task, the rounds
// by outcome, when the last began and how long it took, and whether a
// worker runs.
func (r *Runner) Collector() prometheus.Collector { return collector{r} }

type collector struct{ r *Runner }

var (
	runsDesc = prometheus.NewDesc("touchpoint_task_runs_total",
		"Rounds of background tasks by outcome: ok, error, or skipped (another process holds the task's lease).",
		[]string{"task", "outcome"}, nil)
	lastRunDesc = prometheus.NewDesc("touchpoint_task_last_run_timestamp_seconds",
		"When a background task's last round began (Unix seconds; 0: never).", []string{"task"}, nil)
	lastDurationDesc = prometheus.NewDesc("touchpoint_task_last_duration_seconds",
		"How long a background task's last round took.", []string{"task"}, nil)
	runningDesc = prometheus.NewDesc("touchpoint_task_running",
		"1 while a background worker (the outbox) runs.", []string{"task"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- runsDesc
	ch <- lastRunDesc
	ch <- lastDurationDesc
	ch <- runningDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.r.Stats() {
		ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.CounterValue, float64(s.Runs-s.Errors), s.Name, "ok")
		ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.CounterValue, float64(s.Errors), s.Name, "error")
		ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.CounterValue, float64(s.Skipped), s.Name, "skipped")
		var last float64
		if !s.LastRun.IsZero() {
			last = float64(s.LastRun.UnixMilli()) / 1000
		}
		ch <- prometheus.MustNewConstMetric(lastRunDesc, prometheus.GaugeValue, last, s.Name)
		ch <- prometheus.MustNewConstMetric(lastDurationDesc, prometheus.GaugeValue, s.LastDuration.Seconds(), s.Name)
		var running float64
		if s.Running {
			running = 1
		}
		ch <- prometheus.MustNewConstMetric(runningDesc, prometheus.GaugeValue, running, s.Name)
	}
}
