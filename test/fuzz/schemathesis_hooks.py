"""Schemathesis hooks for test/fuzz/schemathesis.test.ts (loaded through SCHEMATHESIS_HOOKS).

The fuzzer sends credentials it fetches from the test's credential server on loopback (OC_FUZZ_CREDENTIALS_URL):
a session token of a fresh admin, or the secret of a freshly enrolled device. When a request answers 401 —
because the fuzzer signed itself out, changed its own password, or whatever else ends a credential —
Schemathesis fetches new credentials and replays the request, so no operation can end the run.
"""

import json
import os
import urllib.request

import schemathesis

CREDENTIALS_URL = os.environ["OC_FUZZ_CREDENTIALS_URL"]


@schemathesis.auth(retry_on=[401])
class FreshCredentials:
    def get(self, case, context):
        with urllib.request.urlopen(CREDENTIALS_URL, timeout=30) as response:
            return json.load(response)["bearer"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
