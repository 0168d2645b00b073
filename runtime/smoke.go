package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/solti-wasm/solti-wasm/router"
)

// smoke calls supports and build with the module's sample, if it ships one (ABI §5.4): a
// runner must support its own sample and build a valid plan for it. Every load runs it, so
// inspect, run and watch accept the same modules.
func (m *Module) smoke(ctx context.Context) error {
	sample := m.Describe().Sample
	if len(sample) == 0 {
		return nil
	}
	req, err := router.ParseRequest(sample)
	if err != nil {
		return fmt.Errorf("describe's sample: %w", err)
	}
	ok, err := m.Supports(ctx, req)
	if err != nil {
		return fmt.Errorf("supports(sample): %w", err)
	}
	if !ok {
		return errors.New("supports(sample) returned 0: a runner must support its own sample")
	}
	args := router.BuildArgs{
		RunID:   router.RunID{ID: m.Name() + "-" + req.Spec.Slot + "-0"},
		Env:     (&router.BuildContext{}).MergedEnv(router.TaskEnv(req.Spec)),
		Metrics: router.NoopMetrics{},
	}
	plan, err := m.Build(ctx, req, args)
	if err != nil {
		return fmt.Errorf("build(sample): %w", err)
	}
	if err := plan.Validate(); err != nil {
		return fmt.Errorf("build(sample): invalid plan: %w", err)
	}
	return nil
}
