// Package host is the task pipeline: solti-core's counterpart. A Host accepts a tenant's
// task, persists it (package store), routes and builds it among the tenant's hot-reloaded
// runner modules (registry, router), persists the plan, runs it under the supervisor
// (executor, supervisor), records each run and brings the task to a terminal phase. The run
// command drives it with an in-memory store, serve with a durable one; nothing here knows
// HTTP (package httpapi does).
package host
