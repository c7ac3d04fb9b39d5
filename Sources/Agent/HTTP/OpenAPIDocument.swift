/// The OpenAPI 3.1 description of every endpoint (docs/api.md), served at
/// `/api/v1/openapi.json`. Kept as the JSON it is, so that what users read is what tests check:
/// `OpenAPITests` validates the document and every live response against it.
enum OpenAPIDocument {
    static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "phasewatch",
        "version": "1",
        "description": "Synthetic HTTP/TLS probes with per-phase timings, history and SLOs. Times are RFC 3339 UTC with milliseconds; durations are seconds; SLO windows are Prometheus durations (5m, 1h, 30d). Errors are JSON with a 4xx status. Without a web config no credentials are needed; with one (--web.config.file) every endpoint needs basic or bearer authentication, as configured."
      },
      "security": [{}, {"basicAuth": []}, {"bearerAuth": []}],
      "paths": {
        "/api/v1/targets": {
          "get": {
            "summary": "Every configured target with its state, last probe and SLO summary",
            "operationId": "listTargets",
            "responses": {
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "200": {"description": "Targets in config order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TargetList"}}}}
            }
          }
        },
        "/api/v1/targets/{name}": {
          "get": {
            "summary": "One configured target with its full SLO status and latency quantiles",
            "operationId": "getTarget",
            "parameters": [{"$ref": "#/components/parameters/Name"}],
            "responses": {
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "200": {"description": "The target", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TargetDetail"}}}},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/targets/{name}/results": {
          "get": {
            "summary": "Raw probe results, newest first, cursor-paginated (stable under concurrent inserts)",
            "operationId": "listResults",
            "parameters": [
              {"$ref": "#/components/parameters/Name"},
              {"name": "since", "in": "query", "description": "Results started at or after this time: RFC 3339 or Unix seconds, years 0001 to 9999.", "schema": {"$ref": "#/components/schemas/TimeParameter"}},
              {"name": "until", "in": "query", "description": "Results started before this time: RFC 3339 or Unix seconds, years 0001 to 9999.", "schema": {"$ref": "#/components/schemas/TimeParameter"}},
              {"name": "limit", "in": "query", "description": "Page size, 1 to 1000.", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
              {"name": "cursor", "in": "query", "description": "next_cursor of the previous page.", "schema": {"type": "string", "pattern": "^-?[0-9]+_[0-9]+$"}},
              {"$ref": "#/components/parameters/Connection"},
              {"$ref": "#/components/parameters/IP"}
            ],
            "responses": {
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "200": {"description": "One page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ResultsPage"}}}},
              "400": {"$ref": "#/components/responses/BadParameter"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/targets/{name}/latency": {
          "get": {
            "summary": "p50/p90/p95/p99 of the total and of each phase over a window, from the rollup sketches (relative error at most 1 %)",
            "operationId": "getLatency",
            "parameters": [
              {"$ref": "#/components/parameters/Name"},
              {"name": "window", "in": "query", "description": "A Prometheus duration (units largest first, each at most once) over 0 and up to the rollup retention.", "schema": {"type": "string", "minLength": 1, "pattern": "^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$", "default": "1h"}},
              {"$ref": "#/components/parameters/Connection"},
              {"$ref": "#/components/parameters/IP"}
            ],
            "responses": {
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "200": {"description": "Quantiles", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LatencyQuantiles"}}}},
              "400": {"$ref": "#/components/responses/BadParameter"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/targets/{name}/report": {
          "get": {
            "summary": "A configured target's probes, coverage, downtime, SLIs, budget consumed and latency per calendar period and in total (docs/api.md#get-apiv1targetsnamereport). CSV with Accept: text/csv.",
            "operationId": "getReport",
            "parameters": [
              {"$ref": "#/components/parameters/Name"},
              {"name": "from", "in": "query", "required": true, "description": "Start: RFC 3339 time or a date (YYYY-MM-DD, midnight in tz).", "schema": {"type": "string"}},
              {"name": "to", "in": "query", "required": true, "description": "End (excluded), as from.", "schema": {"type": "string"}},
              {"name": "step", "in": "query", "description": "Calendar period: minutes, hours, days (midnight to midnight), ISO weeks (from Monday), months (from the 1st). At most 10000 periods.", "schema": {"type": "string", "enum": ["1m", "1h", "1d", "1w", "1M"], "default": "1d"}},
              {"name": "tz", "in": "query", "description": "IANA time zone of the periods.", "schema": {"type": "string", "default": "UTC"}}
            ],
            "responses": {
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "200": {"description": "The report", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
                "text/csv": {"schema": {"type": "string", "description": "A header, one row per period (row = period), a total row; columns named as ReportRow's fields, nested names joined with _."}}
              }},
              "400": {"$ref": "#/components/responses/BadParameter"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/targets/{name}/probe": {
          "post": {
            "summary": "Probe a configured target now, exactly as the agent does (headers, TLS, expectations, retries), and answer with the result and what each attempt sent, received and judged. Not stored, not counted in metrics, state or SLOs. At most one probe per target at a time and 30 a minute in all.",
            "operationId": "probeTarget",
            "parameters": [{"$ref": "#/components/parameters/Name"}],
            "responses": {
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "200": {"description": "The probe's result (success or failure) and its debug detail", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProbeNow"}}}},
              "404": {"$ref": "#/components/responses/NotFound"},
              "429": {
                "description": "A probe of this target is running, or this minute's probes on demand are used up",
                "headers": {"Retry-After": {"description": "Seconds to wait.", "required": true, "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              }
            }
          }
        },
        "/api/v1/slo": {
          "get": {
            "summary": "SLO status of every target that has an slo section",
            "operationId": "listSLOs",
            "responses": {
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "200": {"description": "SLO statuses in config order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SLOList"}}}}
            }
          }
        },
        "/api/v1/openapi.json": {
          "get": {
            "summary": "This document",
            "operationId": "getOpenAPI",
            "responses": {"401": {"$ref": "#/components/responses/Unauthorized"}, "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}
          }
        },
        "/metrics": {
          "get": {
            "summary": "Prometheus metrics in the format the Accept header prefers: text format 0.0.4 (the default), OpenMetrics 1.0 with exemplars, or the protobuf format with native histograms; gzip when Accept-Encoding asks",
            "operationId": "getMetrics",
            "responses": {"401": {"$ref": "#/components/responses/Unauthorized"}, "200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}, "application/openmetrics-text": {"schema": {"type": "string"}}, "application/vnd.google.protobuf": {"schema": {"type": "string", "contentMediaType": "application/vnd.google.protobuf"}}}}}
          }
        },
        "/": {
          "get": {
            "summary": "Status page",
            "operationId": "getStatusPage",
            "responses": {"401": {"$ref": "#/components/responses/Unauthorized"}, "200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}
          }
        },
        "/-/healthy": {
          "get": {"summary": "Liveness", "operationId": "getHealthy", "responses": {"401": {"$ref": "#/components/responses/Unauthorized"}, "200": {"description": "Healthy", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
        },
        "/-/ready": {
          "get": {"summary": "Readiness", "operationId": "getReady", "responses": {"401": {"$ref": "#/components/responses/Unauthorized"}, "200": {"description": "Ready", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
        },
        "/-/reload": {
          "post": {
            "summary": "Reload the config file; a bad file is rejected and the running config stays",
            "operationId": "reload",
            "responses": {
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "200": {"description": "Reloaded", "content": {"text/plain": {"schema": {"type": "string"}}}},
              "400": {"description": "The new config is invalid; every error with file, line, column and key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
          }
        }
      },
      "components": {
        "parameters": {
          "Name": {"name": "name", "in": "path", "required": true, "description": "Target name.", "schema": {"type": "string", "pattern": "^[a-zA-Z0-9_.-]+$"}},
          "Connection": {"name": "connection", "in": "query", "description": "Only requests on a new connection (fresh) or on a kept one (reused). Results: both when absent; latency: the kind the target's SLOs judge.", "schema": {"$ref": "#/components/schemas/ConnectionKind"}},
          "IP": {"name": "ip", "in": "query", "description": "One address of an ip_policy: all target: that address's results instead of the target's own (docs/probing.md#addresses). Not with connection.", "schema": {"type": "string"}}
        },
        "securitySchemes": {
          "basicAuth": {"type": "http", "scheme": "basic", "description": "Required when the agent's web config (--web.config.file) has basic_auth_users; passwords are checked against bcrypt hashes."},
          "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Accepted when the agent's web config has bearer_auth_tokens (SHA-256 digests of the tokens)."}
        },
        "responses": {
          "Unauthorized": {"description": "The agent's web config requires credentials and none or wrong ones were sent (WWW-Authenticate names the schemes)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "NotFound": {"description": "No such target", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "BadParameter": {"description": "A parameter is invalid", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        },
        "schemas": {
          "Error": {
            "type": "object", "additionalProperties": false, "required": ["error"],
            "properties": {"error": {"type": "object", "additionalProperties": false, "required": ["code", "message"],
              "properties": {"code": {"type": "string", "examples": ["unknown_target", "bad_parameter", "config_invalid"]}, "message": {"type": "string"}}}}
          },
          "TimeParameter": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}], "description": "RFC 3339, or Unix seconds (a number)."},
          "Phase": {"type": "string", "enum": ["resolve", "connect", "tls", "processing", "transfer", "assert"]},
          "ConnectionKind": {"type": "string", "enum": ["fresh", "reused"]},
          "State": {"type": "string", "enum": ["unknown", "up", "degraded", "down"], "description": "up; degraded: too many recent failures or recent P99 above the latency threshold; down: failures in a row; unknown: no probe yet."},
          "ProbeResult": {
            "type": "object", "additionalProperties": false,
            "required": ["target", "url", "started_at", "success", "phases", "duration", "attempts", "connection_reused", "trace_id"],
            "properties": {
              "target": {"type": "string"},
              "url": {"type": "string"},
              "started_at": {"type": "string", "format": "date-time"},
              "success": {"type": "boolean"},
              "failure": {"type": "object", "additionalProperties": false, "required": ["phase", "reason", "message"],
                "properties": {"phase": {"$ref": "#/components/schemas/Phase"}, "reason": {"type": "string"}, "message": {"type": "string"}}},
              "phases": {"type": "object", "additionalProperties": false, "description": "Seconds per phase, summed over redirects; a phase never reached is absent.",
                "properties": {"resolve": {"type": "number"}, "connect": {"type": "number"}, "tls": {"type": "number"}, "processing": {"type": "number"}, "transfer": {"type": "number"}}},
              "duration": {"type": "number"},
              "http": {"type": "object", "additionalProperties": false, "required": ["status", "version", "redirects", "body_bytes"],
                "properties": {"status": {"type": "integer"}, "version": {"type": "string"}, "redirects": {"type": "integer"}, "content_length": {"type": "integer"}, "body_bytes": {"type": "integer"}}},
              "tls": {"type": "object", "additionalProperties": false,
                "properties": {"version": {"type": "string"}, "cipher": {"type": "string"}, "alpn": {"type": "string"}, "cert_not_after": {"type": "string", "format": "date-time"},
                  "chain_expiry": {"type": "string", "format": "date-time"}, "subject": {"type": "string"}, "issuer": {"type": "string"}, "sans": {"type": "array", "items": {"type": "string"}},
                  "resumed": {"type": "boolean", "description": "Whether the handshake resumed an earlier session; only with tls.resume."}}},
              "ip": {"type": "object", "additionalProperties": false, "required": ["address", "family"], "properties": {"address": {"type": "string"}, "family": {"type": "integer", "enum": [4, 6]}}},
              "attempts": {"type": "integer", "minimum": 1},
              "connection_reused": {"type": "boolean"},
              "connection": {"$ref": "#/components/schemas/ConnectionKind", "description": "Which request of its run: absent for targets with connection: fresh."},
              "connection_closed_reason": {"type": "string", "enum": ["idle_closed", "connection_close", "previous_failed"]},
              "connection_age": {"type": "number", "description": "Seconds the reused connection had been open."},
              "address": {"type": "string", "description": "The address probed: only on the per-address results of an ip_policy: all target."},
              "trace_id": {"type": "string"}
            }
          },
          "ProbeNow": {
            "type": "object", "additionalProperties": false, "required": ["result", "debug"],
            "properties": {"result": {"$ref": "#/components/schemas/ProbeResult"}, "debug": {"$ref": "#/components/schemas/ProbeDebug"}}
          },
          "ProbeDebug": {
            "type": "object", "additionalProperties": false, "required": ["attempts"],
            "properties": {"attempts": {"type": "array", "items": {"$ref": "#/components/schemas/DebugAttempt"}}}
          },
          "DebugAttempt": {
            "type": "object", "additionalProperties": false, "required": ["attempt", "traceparent", "success", "duration", "hops", "expectations"],
            "properties": {
              "attempt": {"type": "integer", "minimum": 1},
              "traceparent": {"type": "string", "description": "The W3C traceparent this attempt sent."},
              "success": {"type": "boolean"},
              "failure": {"type": "object", "additionalProperties": false, "required": ["phase", "reason", "message"],
                "properties": {"phase": {"$ref": "#/components/schemas/Phase"}, "reason": {"type": "string"}, "message": {"type": "string"}}},
              "duration": {"type": "number", "description": "Seconds, curl's total for this attempt."},
              "hops": {"type": "array", "items": {"$ref": "#/components/schemas/DebugHop"}, "description": "The target's URL, then each redirect followed."},
              "tls": {"$ref": "#/components/schemas/DebugTLS"},
              "expectations": {"type": "array", "items": {"$ref": "#/components/schemas/ExpectationVerdict"}, "description": "Every expect check in order; empty when no response arrived."},
              "expectations_skipped": {"type": "string", "description": "Why the expectations were not checked."}
            }
          },
          "DebugHop": {
            "type": "object", "additionalProperties": false, "required": ["url", "request_headers", "response_headers", "start", "phases"],
            "properties": {
              "url": {"type": "string", "description": "User info masked."},
              "ip": {"type": "string"},
              "request": {"type": "string", "description": "The request line as sent."},
              "request_headers": {"type": "array", "items": {"$ref": "#/components/schemas/HeaderLine"}, "description": "As sent; values set by the config and of secret-looking names are <redacted>."},
              "status": {"type": "integer"},
              "status_line": {"type": "string"},
              "location": {"type": "string", "description": "A redirect's Location, user info masked."},
              "response_headers": {"type": "array", "items": {"$ref": "#/components/schemas/HeaderLine"}, "description": "As received; secret-looking ones (Set-Cookie) <redacted>."},
              "start": {"type": "number", "description": "Seconds from the attempt's start."},
              "phases": {"type": "object", "additionalProperties": false, "description": "This hop's seconds per phase, timed by phasewatch at curl's callbacks (a complete status line stands for the first byte); close to, not exactly, curl's.",
                "properties": {"resolve": {"type": "number"}, "connect": {"type": "number"}, "tls": {"type": "number"}, "processing": {"type": "number"}, "transfer": {"type": "number"}}}
            }
          },
          "HeaderLine": {
            "type": "object", "additionalProperties": false, "required": ["name", "value"],
            "properties": {"name": {"type": "string"}, "value": {"type": "string"}}
          },
          "DebugTLS": {
            "type": "object", "additionalProperties": false, "required": ["server_name", "ca_file", "insecure_skip_verify", "handshake_completed", "verify", "sans"],
            "properties": {
              "server_name": {"type": "string", "description": "Sent as SNI and verified."},
              "ca_file": {"type": "string", "description": "The target's ca_file, or system."},
              "client_certificate": {"type": "string"},
              "insecure_skip_verify": {"type": "boolean"},
              "handshake_completed": {"type": "boolean"},
              "verify": {"type": "string", "description": "ok, or OpenSSL's words for the first failed check."},
              "version": {"type": "string"}, "cipher": {"type": "string"}, "alpn": {"type": "string"},
              "subject": {"type": "string"}, "issuer": {"type": "string"}, "sans": {"type": "array", "items": {"type": "string"}},
              "cert_not_before": {"type": "string", "format": "date-time"},
              "cert_not_after": {"type": "string", "format": "date-time"},
              "chain_expiry": {"type": "string", "format": "date-time"}
            }
          },
          "ExpectationVerdict": {
            "type": "object", "additionalProperties": false, "required": ["check", "expected", "actual", "pass"],
            "properties": {
              "check": {"type": "string", "enum": ["status", "body_matches", "body_not_matches", "header", "tls", "cert_min_days", "max_duration"]},
              "expected": {"type": "string"}, "actual": {"type": "string"}, "pass": {"type": "boolean"},
              "reason": {"type": "string", "description": "The failure reason, when it failed."}, "message": {"type": "string"}
            }
          },
          "ResultsPage": {
            "type": "object", "additionalProperties": false, "required": ["results", "next_cursor"],
            "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/ProbeResult"}},
              "next_cursor": {"type": ["string", "null"], "description": "Pass as cursor for the next (older) page; null after the last page."}}
          },
          "Quantiles": {
            "type": "object", "additionalProperties": false, "required": ["count"],
            "description": "Nearest-rank quantiles in seconds of successful probes; absent without any.",
            "properties": {"count": {"type": "integer"}, "p50": {"type": "number"}, "p90": {"type": "number"}, "p95": {"type": "number"}, "p99": {"type": "number"}}
          },
          "LatencyQuantiles": {
            "type": "object", "additionalProperties": false, "required": ["target", "window", "from", "to", "probes", "successful", "total", "phases"],
            "properties": {
              "target": {"type": "string"}, "window": {"type": "string"},
              "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
              "probes": {"type": "integer"}, "successful": {"type": "integer"},
              "total": {"$ref": "#/components/schemas/Quantiles"},
              "phases": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Quantiles"}}
            }
          },
          "SLOStatus": {
            "type": "object", "additionalProperties": false,
            "required": ["target", "slo", "objective", "window", "sli", "error_budget", "burn_rate", "alerts", "budget_by_phase", "probes", "coverage", "unobserved_seconds", "min_coverage", "data"],
            "properties": {
              "target": {"type": "string"},
              "slo": {"type": "string", "enum": ["availability", "latency"]},
              "objective": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
              "window": {"type": "string"},
              "threshold": {"type": "number", "description": "Latency SLOs: the threshold in seconds."},
              "sli": {"type": "object", "additionalProperties": {"type": "number"}, "description": "Good/total per window; a window without probes is absent. Final: a probe that ended good after retries is good."},
              "sli_first_attempt": {"type": "object", "additionalProperties": {"type": "number"}, "description": "Availability SLOs: the same windows with a probe good only when its first attempt was."},
              "basis": {"type": "string", "enum": ["final", "first_attempt"], "description": "Availability SLOs: the SLI the burn rates, error budget, budget_by_phase and alerts follow (slo.availability_basis)."},
              "error_budget": {"type": "object", "additionalProperties": false, "required": ["total"],
                "properties": {"total": {"type": "number"}, "consumed": {"type": "number"}, "remaining": {"type": "number", "description": "1 - consumed; below 0 once overspent. Absent without probes."}}},
              "burn_rate": {"type": "object", "additionalProperties": {"type": "number"}},
              "alerts": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["severity", "long", "short", "threshold", "firing"],
                "properties": {"severity": {"type": "string", "enum": ["page", "ticket"]}, "long": {"type": "string"}, "short": {"type": "string"}, "threshold": {"type": "number"}, "firing": {"type": "boolean"}}}},
              "budget_by_phase": {"type": "object", "additionalProperties": {"type": "number"}, "description": "Consumed budget split by failure phase (and too_slow for latency SLOs, retried for availability SLOs on the first_attempt basis)."},
              "probes": {"type": "object", "additionalProperties": false, "required": ["total", "good", "bad"],
                "properties": {"total": {"type": "integer"}, "good": {"type": "integer"}, "bad": {"type": "integer"},
                  "good_first_attempt": {"type": "integer", "description": "Availability SLOs: probes good at their first attempt."}}},
              "coverage": {"type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "Probes over the SLO window divided by the slots its configured time holds (each probe counted as the share of the interval it stands for), at most 1; null when the window holds no record of the target being configured (history from before coverage was recorded)."},
              "unobserved_seconds": {"type": "number", "minimum": 0, "description": "Seconds of the SLO window the target was configured but no agent ran."},
              "min_coverage": {"type": "number", "minimum": 0, "maximum": 1, "description": "slo.min_coverage."},
              "data": {"type": "string", "enum": ["ok", "insufficient"], "description": "insufficient while coverage is below min_coverage."}
            }
          },
          "Report": {
            "type": "object", "additionalProperties": false, "required": ["target", "from", "to", "step", "tz", "periods", "total"],
            "properties": {
              "target": {"type": "string"}, "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
              "step": {"type": "string", "enum": ["1m", "1h", "1d", "1w", "1M"]}, "tz": {"type": "string"},
              "periods": {"type": "array", "items": {"$ref": "#/components/schemas/ReportRow"}},
              "total": {"$ref": "#/components/schemas/ReportRow"}
            }
          },
          "ReportRow": {
            "type": "object", "additionalProperties": false,
            "required": ["start", "end", "probes", "good", "good_first_attempt", "expected", "coverage", "unobserved_seconds", "downtime_seconds", "downtime", "slo", "worst_phase", "latency"],
            "properties": {
              "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
              "probes": {"type": "integer", "minimum": 0}, "good": {"type": "integer", "minimum": 0, "description": "Successful probes."},
              "good_first_attempt": {"type": "integer", "minimum": 0, "description": "Probes successful at their first attempt."},
              "expected": {"type": "number", "minimum": 0, "description": "Probe slots of the time the target was configured; 0 without a record of it."},
              "coverage": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
              "unobserved_seconds": {"type": "number", "minimum": 0},
              "downtime_seconds": {"type": ["number", "null"], "minimum": 0, "description": "Time in state down; null where raw results are past retention."},
              "downtime": {"type": ["array", "null"], "items": {"type": "object", "additionalProperties": false, "required": ["from", "to"], "properties": {"from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"}}}},
              "slo": {"type": "object", "additionalProperties": false, "required": ["availability", "latency"], "properties": {
                "availability": {"oneOf": [{"$ref": "#/components/schemas/ReportSLO"}, {"type": "null"}]},
                "latency": {"oneOf": [{"$ref": "#/components/schemas/ReportSLO"}, {"type": "null"}]}
              }},
              "worst_phase": {"type": ["string", "null"], "description": "The failure phase with the most failed probes (the most availability budget); null without failures."},
              "latency": {"type": "object", "additionalProperties": false, "required": ["p50", "p95", "p99"], "properties": {
                "p50": {"type": ["number", "null"]}, "p95": {"type": ["number", "null"]}, "p99": {"type": ["number", "null"]}
              }}
            }
          },
          "ReportSLO": {
            "type": "object", "additionalProperties": false, "required": ["sli", "budget_consumed"],
            "properties": {
              "sli": {"type": ["number", "null"]},
              "sli_first_attempt": {"type": ["number", "null"], "description": "Availability only: the SLI counting a probe good only if its first attempt was."},
              "budget_consumed": {"type": ["number", "null"], "description": "Share of the period's own error budget used."}
            }
          },
          "SLOSummary": {
            "type": "object", "additionalProperties": false, "required": ["slo", "objective", "window", "firing", "data"],
            "properties": {
              "slo": {"type": "string", "enum": ["availability", "latency"]}, "objective": {"type": "number"}, "window": {"type": "string"},
              "sli": {"type": "number", "description": "Over the SLO window; absent without probes."},
              "error_budget_remaining": {"type": "number"},
              "firing": {"type": "array", "items": {"type": "string", "enum": ["page", "ticket"]}},
              "data": {"type": "string", "enum": ["ok", "insufficient"], "description": "As in SLOStatus."}
            }
          },
          "TargetFields": {
            "type": "object", "required": [
              "name", "url", "location", "interval", "interval_while_failing", "effective_interval", "state", "state_since",
              "state_reason", "last", "ip_policy"
            ],
            "properties": {
              "name": {"type": "string"}, "url": {"type": "string", "description": "A password in the URL is masked."},
              "location": {"type": "string"}, "interval": {"type": "string"},
              "interval_while_failing": {"type": ["string", "null"], "description": "The interval while the target is failing (not up, or its last probe failed); null when not set."},
              "effective_interval": {"type": "string", "description": "The interval the target runs at now: interval_while_failing while failing, else interval."},
              "state": {"$ref": "#/components/schemas/State"},
              "state_since": {"type": ["string", "null"], "format": "date-time"},
              "state_reason": {"type": "string"},
              "last": {"oneOf": [{"$ref": "#/components/schemas/ProbeResult"}, {"type": "null"}]},
              "ip_policy": {"type": "string", "enum": ["first", "all"]},
              "success": {"type": "string", "enum": ["any", "all"], "description": "Only for ip_policy: all: whether any or every address must answer well."},
              "addresses": {"type": "array", "description": "Only for ip_policy: all: the last run's addresses with their results.",
                "items": {"type": "object", "additionalProperties": false, "required": ["ip", "last"],
                  "properties": {"ip": {"type": "string"}, "last": {"$ref": "#/components/schemas/ProbeResult"}}}}
            }
          },
          "TargetListItem": {
            "allOf": [{"$ref": "#/components/schemas/TargetFields"}],
            "required": ["slo"],
            "properties": {"slo": {"type": "array", "items": {"$ref": "#/components/schemas/SLOSummary"}}},
            "unevaluatedProperties": false
          },
          "TargetList": {
            "type": "object", "additionalProperties": false, "required": ["as_of", "shard", "targets"],
            "properties": {"as_of": {"type": "string", "format": "date-time"}, "shard": {"$ref": "#/components/schemas/Shard"}, "targets": {"type": "array", "items": {"$ref": "#/components/schemas/TargetListItem"}}}
          },
          "Shard": {
            "type": "object", "additionalProperties": false, "required": ["index", "total", "targets", "configured_targets"],
            "description": "Which shard of its location this agent is (1/1 without sharding) and how many of the configured targets it owns and probes.",
            "properties": {
              "index": {"type": "integer", "minimum": 1}, "total": {"type": "integer", "minimum": 1},
              "targets": {"type": "integer", "minimum": 0}, "configured_targets": {"type": "integer", "minimum": 0}
            }
          },
          "TargetDetail": {
            "allOf": [{"$ref": "#/components/schemas/TargetFields"}],
            "required": ["as_of", "slo", "latency"],
            "properties": {
              "as_of": {"type": "string", "format": "date-time"},
              "slo": {"type": "array", "items": {"$ref": "#/components/schemas/SLOStatus"}},
              "latency": {"type": "array", "items": {"$ref": "#/components/schemas/LatencyQuantiles"}}
            },
            "unevaluatedProperties": false
          },
          "SLOList": {
            "type": "object", "additionalProperties": false, "required": ["as_of", "slos"],
            "properties": {"as_of": {"type": "string", "format": "date-time"}, "slos": {"type": "array", "items": {"$ref": "#/components/schemas/SLOStatus"}}}
          }
        }
      }
    }
    """#
}
