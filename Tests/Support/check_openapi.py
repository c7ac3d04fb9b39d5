#!/usr/bin/env python3
"""Checks a running phasewatch against its own OpenAPI document.

Usage: check_openapi.py BASE_URL METHOD:PATH:STATUS ...

Fetches BASE_URL/api/v1/openapi.json, validates it as OpenAPI 3.1 (openapi-spec-validator),
then sends each request and checks the status and that the body matches the schema the
document gives for that path, method, status and content type (jsonschema, draft 2020-12).
Fails when a path of the document is never requested. Prints one line per request.
Talks to BASE_URL only (the tests pass 127.0.0.1).
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import jsonschema
from openapi_spec_validator import validate


def fetch(base, method, path):
    request = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def template_of(doc, path):
    """The document's path template that `path` (without query) matches."""
    parts = path.split("?")[0].rstrip("/").split("/") if path != "/" else [""]
    for template in doc["paths"]:
        tparts = template.rstrip("/").split("/") if template != "/" else [""]
        if len(tparts) == len(parts) and all(t.startswith("{") or t == p for t, p in zip(tparts, parts)):
            return template
    return None


def deref(doc, node):
    if isinstance(node, dict) and "$ref" in node:
        target = doc
        for key in node["$ref"].lstrip("#/").split("/"):
            target = target[key]
        return deref(doc, target)
    return node


def main():
    base = sys.argv[1].rstrip("/")
    status, _, body = fetch(base, "GET", "/api/v1/openapi.json")
    assert status == 200, f"openapi.json: HTTP {status}"
    doc = json.loads(body)
    validate(doc)
    print(f"ok   openapi.json is valid OpenAPI {doc['openapi']} with {len(doc['paths'])} paths")
    seen = set()
    failures = []
    for spec in sys.argv[2:]:
        method, path, expected = spec.split(":", 2)
        status, ctype, body = fetch(base, method, path)
        template = template_of(doc, path)
        where = f"{method} {path}"
        if template is None:
            failures.append(f"{where}: no path of the document matches")
            continue
        seen.add((template, method.lower()))
        if status != int(expected):
            failures.append(f"{where}: HTTP {status}, expected {expected}: {body[:300]!r}")
            continue
        operation = doc["paths"][template].get(method.lower())
        if operation is None:
            failures.append(f"{where}: the document has no {method} for {template}")
            continue
        response = operation["responses"].get(str(status))
        if response is None:
            failures.append(f"{where}: the document has no {status} response for {template}")
            continue
        response = deref(doc, response)
        media = ctype.split(";")[0].strip()
        if media not in response.get("content", {}):
            failures.append(f"{where}: content type {ctype!r} not documented ({list(response.get('content', {}))})")
            continue
        schema = response["content"][media]["schema"]
        if media == "application/json":
            instance = json.loads(body)
            validator = jsonschema.Draft202012Validator(
                {**schema, "components": doc["components"]}, format_checker=jsonschema.FormatChecker())
            errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
            if errors:
                failures += [f"{where}: {'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]]
                continue
        print(f"ok   {where} -> {status} {media} ({len(body)} bytes)")
    for template, item in doc["paths"].items():
        for method in item:
            if (template, method) not in seen:
                failures.append(f"{method.upper()} {template}: documented but never requested")
    for failure in failures:
        print("FAIL " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
