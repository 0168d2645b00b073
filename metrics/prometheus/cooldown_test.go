package prometheus_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSupportsCooledDown(t *testing.T) {
	m, reg := newMetrics(t)
	until := time.Unix(1_800_000_000, 500_000_000)
	m.SupportsCooledDown("loop", until)
	m.SupportsCooledDown("loop", until.Add(time.Second))
	if got := testutil.ToFloat64(mustCounter(t, reg, "solti_wasm_supports_cooldowns_total", "loop")); got != 2 {
		t.Errorf("cool-downs %v, want 2", got)
	}
	if got := testutil.ToFloat64(mustCounter(t, reg, "solti_wasm_supports_cooldown_until_seconds", "loop")); got != 1_800_000_001.5 {
		t.Errorf("cool-down end %v, want 1800000001.5", got)
	}
}
