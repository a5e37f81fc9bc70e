// The metrics of an app in the Prometheus text format (src/metrics/exposition.ts):
// requests by route and status class, request and upstream times, each
// backend's connections, queue and health, the processes and threads postern
// runs, and the process's own start time and memory (the client libraries'
// standard process_* names).

import type { Family, Sample } from "../../src/metrics/exposition.ts";
import type { RequestMetrics } from "../../src/metrics/requests.ts";
import type { StatusSnapshot } from "./snapshot.ts";

export function metricFamilies(snapshot: StatusSnapshot, requests: RequestMetrics): Family[] {
  const perRoute = (value: (route: StatusSnapshot["routes"][number]) => number | undefined): Sample[] =>
    snapshot.routes.flatMap((route) => {
      const v = value(route);
      return v === undefined ? [] : [{ labels: { route: route.name }, value: v }];
    });
  const backends = snapshot.routes.flatMap((route) => (route.backends ?? []).map((backend) => ({ route: route.name, backend })));
  const connections = backends.flatMap(({ route, backend: b }) =>
    (["in_use", "idle", "opening"] as const).map((state) => ({
      labels: { route, backend: b.address, state },
      value: state === "in_use" ? b.inUse : state === "idle" ? b.idle : b.opening,
    })),
  );
  const threads = snapshot.routes.flatMap((route) =>
    route.threads ? (["busy", "idle", "restarting"] as const).map((state) => ({ labels: { route: route.name, state }, value: route.threads![state] })) : [],
  );
  const families: Family[] = [
    { name: "postern_requests_total", help: "Requests answered, by route and status class (none: the client left before a status was sent).", type: "counter", samples: requests.requestSamples() },
    { name: "postern_request_duration_seconds", help: "Time from a request's arrival to the last byte of its answer, by route.", type: "histogram", samples: requests.latencySamples() },
    { name: "postern_upstream_duration_seconds", help: "Time a backend took to start its answer, by route and backend.", type: "histogram", samples: requests.upstreamSamples() },
    { name: "postern_backend_connections", help: "Connections to a backend: carrying a request (in_use), kept alive (idle), being opened.", type: "gauge", samples: connections },
    {
      name: "postern_backend_queued_requests",
      help: "Requests waiting for this backend only (sticky requests).",
      type: "gauge",
      samples: backends.map(({ route, backend: b }) => ({ labels: { route, backend: b.address }, value: b.queued })),
    },
    {
      name: "postern_backend_up",
      help: "1 while a backend gets requests; 0 while it is avoided after a failure or taken out by its health check.",
      type: "gauge",
      samples: backends.map(({ route, backend: b }) => ({ labels: { route, backend: b.address }, value: b.healthy ? 1 : 0 })),
    },
    { name: "postern_route_queued_requests", help: "Requests waiting for any backend, or for a script slot, by route.", type: "gauge", samples: perRoute((r) => r.queued) },
    { name: "postern_workers", help: "Processes postern runs for a route (spawned FastCGI backends, WSGI workers) that serve now.", type: "gauge", samples: perRoute((r) => r.workers?.filter((w) => w.up).length) },
    { name: "postern_worker_restarts_total", help: "Times a process postern runs for a route exited and was started again.", type: "counter", samples: perRoute((r) => r.restarts) },
    { name: "postern_wasi_threads", help: "WASI threads of a route, by state.", type: "gauge", samples: threads },
    { name: "postern_cgi_processes", help: "CGI programs running now, by route.", type: "gauge", samples: perRoute((r) => r.processes) },
  ];
  if (snapshot.startTime !== undefined) {
    families.push({ name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.", type: "gauge", samples: [{ labels: {}, value: snapshot.startTime }] });
  }
  if (snapshot.residentBytes !== undefined) {
    families.push({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", type: "gauge", samples: [{ labels: {}, value: snapshot.residentBytes }] });
  }
  return families;
}
