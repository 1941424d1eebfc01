#!/usr/bin/env python3
"""A tollgate REST client in Python, standard library only (urllib + json), and the whole flow:
quote, submit with an Idempotency-Key, replay it, poll the job to its end, and handle 402 and 404.

    TOLLGATE_URL=http://127.0.0.1:3000 TOLLGATE_TOKEN=<tenant token> python3 rest_client.py

test/rest.python.test.ts runs it against a real gateway and simulator (with TOLLGATE_POOR_TOKEN, a
tenant whose balance is too low, for the 402). It prints one JSON line of what it saw and exits 1
on the first expectation that does not hold.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

TERMINAL = {"completed", "failed", "cancelled", "rejected"}


class Problem(Exception):
    """An RFC 9457 problem answer (application/problem+json): branch on .reason."""

    def __init__(self, status, body, headers):
        super().__init__(f"{status} {body.get('reason')}: {body.get('detail')}")
        self.status = status
        self.reason = body.get("reason")
        self.details = body.get("details") or {}
        self.body = body
        self.headers = headers


class Tollgate:
    def __init__(self, base_url, token):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def request(self, method, path, body=None, headers=None):
        """Returns (status, parsed JSON, headers); raises Problem for any 4xx/5xx."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("authorization", f"Bearer {self.token}")
        req.add_header("accept", "application/json, application/problem+json")
        if data is not None:
            req.add_header("content-type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, json.load(res), res.headers
        except urllib.error.HTTPError as err:
            content_type = err.headers.get("content-type", "")
            if not content_type.startswith("application/problem+json"):
                raise
            raise Problem(err.code, json.load(err), err.headers) from None

    def quote(self, model, model_input):
        return self.request("POST", "/v1/quote", {"model": model, "input": model_input})[1]

    def submit(self, model, model_input, idempotency_key):
        status, job, _ = self.request(
            "POST",
            "/v1/jobs",
            {"model": model, "input": model_input},
            {"Idempotency-Key": idempotency_key},
        )
        return status, job

    def job(self, job_id):
        return self.request("GET", f"/v1/jobs/{job_id}")[1]

    def account(self):
        return self.request("GET", "/v1/account")[1]

    def wait(self, job_id, timeout_s=30.0):
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job["status"] in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']}")
            time.sleep(0.1)


def expect(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    base = os.environ["TOLLGATE_URL"]
    client = Tollgate(base, os.environ["TOLLGATE_TOKEN"])
    model = os.environ.get("TOLLGATE_MODEL", "google/nano-banana-dev/text-to-image")
    model_input = {"prompt": "a red fox in the snow"}
    seen = {}

    quote = client.quote(model, model_input)
    seen["quoteMicroCents"] = quote["costMicroCents"]
    before = client.account()["availableMicroCents"]

    key = f"py-{uuid.uuid4()}"
    status, job = client.submit(model, model_input, key)
    expect(status == 201, f"a new job is 201, got {status}")
    expect(job["costMicroCents"] == quote["costMicroCents"], "charged the quote")
    replay_status, replay = client.submit(model, model_input, key)
    expect(replay_status == 200, f"a replay is 200, got {replay_status}")
    expect(replay["id"] == job["id"], "a replay returns the same job")
    seen.update(jobId=job["id"], submitStatus=status, replayStatus=replay_status)

    done = client.wait(job["id"])
    seen["finalStatus"] = done["status"]
    after = client.account()["availableMicroCents"]
    seen["chargedMicroCents"] = before - after
    expect(before - after == quote["costMicroCents"], "charged once for the submit and its replay")

    try:
        client.job("job_doesnotexist0000000")
        expect(False, "an unknown job is a 404")
    except Problem as p:
        expect(p.status == 404 and p.reason == "JOB_NOT_FOUND", f"404 JOB_NOT_FOUND, got {p}")
        seen["notFound"] = {"status": p.status, "reason": p.reason}

    poor_token = os.environ.get("TOLLGATE_POOR_TOKEN")
    if poor_token:
        try:
            Tollgate(base, poor_token).submit(model, model_input, f"py-{uuid.uuid4()}")
            expect(False, "a tenant without the balance gets a 402")
        except Problem as p:
            expect(p.status == 402 and p.reason == "INSUFFICIENT_BALANCE", f"402, got {p}")
            required = p.details["requiredMicroCents"]
            expect(required == quote["costMicroCents"], "the 402 says what the job needs")
            seen["paymentRequired"] = {
                "status": p.status,
                "reason": p.reason,
                "requiredMicroCents": required,
                "availableMicroCents": p.details["availableMicroCents"],
            }

    print(json.dumps(seen))


if __name__ == "__main__":
    main()
