# A JSON answer from Python's standard library only.
import json
import os
import time

print("Content-Type: application/json")
print()
print(json.dumps({
    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "script": os.environ.get("SCRIPT_NAME"),
    "method": os.environ.get("REQUEST_METHOD"),
}))
