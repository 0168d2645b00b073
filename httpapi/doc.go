// Package httpapi is the HTTP face of a solti-wasm host: solti's G3 task API, this
// project's runner resources, health, metrics and the OpenAPI document. It knows HTTP and
// nothing of the pipeline: every call goes to a Backend (*host.Host), with the tenant an
// Authenticator found for the request's bearer token.
//
// Routes (every /apis route needs Authorization: Bearer <token>, the scheme in any case):
//
//	GET    /apis/solti.io/v1/tasks                 list (slot, phase*, labelSelector, limit, continue)
//	GET    /apis/solti.io/v1/tasks?watch=true      watch: NDJSON {type, object} (resourceVersion, timeoutSeconds)
//	POST   /apis/solti.io/v1/tasks                 create: 201, 409 AlreadyExists
//	GET    /apis/solti.io/v1/tasks/{name}          get
//	PUT    /apis/solti.io/v1/tasks/{name}          apply (upsert): 200 or 201
//	DELETE /apis/solti.io/v1/tasks/{name}          delete: 204 (preconditions ?uid=&resourceVersion=)
//	GET    /apis/solti.io/v1/tasks/{name}/runs     {runs: [...]}
//	GET    /apis/solti.io/v1/tasks/{name}/logs     SSE, resumable with Last-Event-ID
//	GET    /apis/wasm.solti.dev/v1alpha1/runners         the tenant's and the shared runners
//	POST   /apis/wasm.solti.dev/v1alpha1/runners?file=NAME.wasm   upload (application/wasm)
//	GET    /apis/wasm.solti.dev/v1alpha1/runners/{name}
//	DELETE /apis/wasm.solti.dev/v1alpha1/runners/{name}
//	POST   /apis/wasm.solti.dev/v1alpha1/routes          dry-run route: {verdicts: [...]}
//	GET    /apis/wasm.solti.dev/v1alpha1/events          NDJSON registry events
//	GET    /healthz  /readyz  /openapi.json               no token
//	GET    /metrics                                       a token, unless Options.PublicMetrics
//
// Errors are Kubernetes Status objects (see StatusOf for the mapping of Backend errors).
// Requests are read strictly: an unknown query parameter is 400 naming it, a wrong method
// 405 with Allow, a body that is not application/json (charset utf-8 at most) 415 (JSON
// only: YAML is the client's to convert), a body over Options.MaxBodyBytes (4 MiB) 413, and
// a manifest is decoded by package abi, which refuses invalid UTF-8, duplicate keys and
// nesting deeper than abi.MaxDepth with the line and column. A module upload is
// application/wasm, at most Options.MaxModuleBytes (64 MiB); its file name is the query
// parameter file; a module the host's checks refuse is 422 Invalid, naming file, stage and
// cause in the message and in details.causes.
//
// Another tenant's task or runner is 404, never 403: the handlers pass the authenticated
// tenant on every Backend call and the Backend finds objects by tenant and name.
//
// Streams (watch, events, logs) bound each write by Options.WriteTimeout, so NewServer's
// server has no WriteTimeout to cut them (and its ReadTimeout covers only the request);
// an idle stream writes a keepalive (a blank NDJSON line, an SSE comment) every
// Options.WatchKeepalive. The OpenAPI 3.1 document (OpenAPI, /openapi.json) merges abi's JSON
// Schemas for the task spec; the package's tests validate every response against it.
package httpapi
