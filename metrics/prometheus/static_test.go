package prometheus_test

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// staticCollector re-exposes one gathered series, so that testutil can read it.
type staticCollector struct {
	mf *dto.MetricFamily
	i  *dto.Metric
}

func (c *staticCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *staticCollector) Collect(ch chan<- prometheus.Metric) {
	names, values := []string{}, []string{}
	for _, lp := range c.i.GetLabel() {
		names = append(names, lp.GetName())
		values = append(values, lp.GetValue())
	}
	desc := prometheus.NewDesc(c.mf.GetName(), c.mf.GetHelp(), names, nil)
	switch {
	case c.i.Counter != nil:
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, c.i.GetCounter().GetValue(), values...)
	case c.i.Gauge != nil:
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, c.i.GetGauge().GetValue(), values...)
	case c.i.Histogram != nil:
		h := c.i.GetHistogram()
		buckets := map[float64]uint64{}
		for _, b := range h.GetBucket() {
			buckets[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		ch <- prometheus.MustNewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, values...)
	}
}
