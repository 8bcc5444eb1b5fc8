"""What the SDK scripts share: the client for the emulator given on the
command line, and checks that print what they saw and exit non-zero on the
first failure."""
import sys
import uuid

from scaleway import Client
from scaleway_core.api import ScalewayException

BASE = sys.argv[1]
# The test's tokens file knows this key; it is also the organization and project.
KEY = str(uuid.UUID("6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c"))
ZONE = "fr-par-1"


def client(secret_key=KEY):
    return Client(access_key="SCWXXXXXXXXXXXXXXXXX", secret_key=secret_key, default_project_id=KEY,
                  default_organization_id=KEY, default_zone=ZONE, default_region="fr-par", api_url=BASE)


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def eq(actual, expected, what):
    """Check actual == expected, printing both on failure."""
    check(actual == expected, what if actual == expected else f"{what}: got {actual!r}, want {expected!r}")


def expect_error(status, fn, what):
    """fn() must raise the SDK's error with this HTTP status; returns it."""
    try:
        fn()
    except ScalewayException as e:
        check(e.status_code == status, f"{what} -> {e.status_code} (want {status}) {e.response.text}")
        return e
    check(False, f"{what} raised nothing")
