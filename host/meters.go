package host

import (
	"sync"
	"time"

	"github.com/solti-wasm/solti-wasm/runtime"
)

// runnerMeters is a tenant's runtime observer: it counts each module version's calls, faults
// and fuel for RunnerInfo.Meters, and forwards everything to the tenant's exporter, if any.
type runnerMeters struct {
	next runtime.Observer

	mu       sync.Mutex
	byDigest map[string]*RunnerMeters // by module digest (hex)
	tasks    map[string]uint64        // tasks built, by runner name
}

// ModuleLoaded implements runtime.Observer.
func (o *runnerMeters) ModuleLoaded(m runtime.ModuleRef, compile time.Duration) runtime.ModuleMeter {
	mm := &moduleMeter{o: o, digest: m.Digest}
	if o.next != nil {
		mm.next = o.next.ModuleLoaded(m, compile)
	}
	o.mu.Lock()
	if o.byDigest[m.Digest] == nil {
		o.byDigest[m.Digest] = &RunnerMeters{}
	}
	o.mu.Unlock()
	return mm
}

// ModuleRejected implements runtime.Observer.
func (o *runnerMeters) ModuleRejected(path, stage string) {
	if o.next != nil {
		o.next.ModuleRejected(path, stage)
	}
}

// task counts a task built by runner.
func (o *runnerMeters) task(runner string) {
	o.mu.Lock()
	if o.tasks == nil {
		o.tasks = map[string]uint64{}
	}
	o.tasks[runner]++
	o.mu.Unlock()
}

// get returns the meters of a version.
func (o *runnerMeters) get(runner, digest string) RunnerMeters {
	o.mu.Lock()
	defer o.mu.Unlock()
	var m RunnerMeters
	if p := o.byDigest[digest]; p != nil {
		m = *p
	}
	m.Tasks = o.tasks[runner]
	return m
}

type moduleMeter struct {
	o      *runnerMeters
	digest string
	next   runtime.ModuleMeter
}

func (m *moduleMeter) Called(c runtime.CallStats) {
	m.o.mu.Lock()
	if p := m.o.byDigest[m.digest]; p != nil {
		p.Calls++
		if c.Fault != "" {
			p.Faults++
		}
		p.FuelUsed += c.Fuel
	}
	m.o.mu.Unlock()
	if m.next != nil {
		m.next.Called(c)
	}
}

func (m *moduleMeter) Instantiated(d time.Duration, err error) {
	if m.next != nil {
		m.next.Instantiated(d, err)
	}
}

func (m *moduleMeter) PoolWaited(d time.Duration) {
	if m.next != nil {
		m.next.PoolWaited(d)
	}
}

func (m *moduleMeter) PoolSize(n int) {
	if m.next != nil {
		m.next.PoolSize(n)
	}
}

func (m *moduleMeter) Closed() {
	if m.next != nil {
		m.next.Closed()
	}
}
