"""One requests-oauthlib-uma session (UMA2Session), driven a step at a time by uma-bench.

argv[1] is the requesting party's access token (the peer authenticates its RPT requests with it as a
Bearer token, as Keycloak allows). Prints "ready <python> <package version>", then for every URL read
from standard input GETs it through the same session and prints the final status, or "error <name>".
"""
import os
import sys

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback http only

from importlib.metadata import version

from requests_oauthlib_uma import UMA2Session

session = UMA2Session(client_id="app", token={"access_token": sys.argv[1], "token_type": "Bearer"})
print("ready", sys.version.split()[0], version("requests-oauthlib-uma"), flush=True)
for line in sys.stdin:
    url = line.strip()
    if not url:
        break
    try:
        response = session.get(url, timeout=10)
        print(response.status_code, flush=True)
    except Exception as e:  # the step's outcome is reported, the session goes on
        print("error", type(e).__name__, flush=True)
