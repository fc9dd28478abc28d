"""The LunaNode fake against LunaNode's own client, lndynamic3.py3.

Not run by CI. LunaNode's client is not on PyPI: take `lndynamic3.py3` from
github.com/LunaNode/lndynamic-api (it needs only `requests`), save it as
`lndynamic3.py` outside the repository, serve the fake, and run this:

    cargo build -p volume-sim --bin volume-sim
    target/debug/volume-sim --listen 127.0.0.1:18130 &
    python3 crates/volume-sim/tests/python/lunanode_lifecycle.py \
        http://127.0.0.1:18130/api /tmp/lndynamic3.py

The client's endpoint is a class attribute; it is pointed at the fake
here, and nothing else of it is changed. API id and key:
LNDYNAMIC_API_ID / LNDYNAMIC_API_KEY, or the fake's defaults. Exits
non-zero on the first thing the client cannot take.
"""

import importlib.util
import os
import sys
import time

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18130/api"
LIB = sys.argv[2] if len(sys.argv) > 2 else "/tmp/lndynamic3.py"
API_ID = os.environ.get("LNDYNAMIC_API_ID", "volumesim0000001")
API_KEY = os.environ.get(
    "LNDYNAMIC_API_KEY",
    "".join(f"volume-sim-lunanode-api-key-000{n}" for n in range(4)),
)

# Between two polls (`Paced` below spaces identical calls a second apart).
PAUSE = 0.2

spec = importlib.util.spec_from_file_location("lndynamic3", LIB)
lnd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lnd)
lnd.LNDynamic.LNDYNAMIC_URL = BASE.rstrip("/") + "/{CATEGORY}/{ACTION}/"

class Paced(lnd.LNDynamic):
    """LunaNode's client, unchanged, except that the same call is not sent
    twice within one second: its nonce is the current second, so such a
    call is byte for byte the one before, which the fake (by default)
    refuses as a replay."""

    last = {}

    def request(self, category, action, params={}):
        key = (category, action, repr(sorted(params.items())))
        while int(time.time()) == self.last.get(key):
            time.sleep(0.05)
        self.last[key] = int(time.time())
        return super().request(category, action, params)


api = Paced(API_ID, API_KEY)
steps = 0


def step(what, value=None):
    global steps
    steps += 1
    print(f"ok {steps:2} {what}" + (f": {value}" if value is not None else ""))


def refused(category, action, params, client=None):
    """The error text of a call that must fail."""
    try:
        (client or api).request(category, action, params)
    except lnd.APIException as e:
        text = str(e)
        assert text.startswith("API error: "), text
        return text[len("API error: "):]
    raise AssertionError(f"{category}/{action} {params} did not fail")


def info(vid):
    return api.request("volume", "info", {"volume_id": vid})["volume"]


def wait_info(vid, status, attempts=30):
    for _ in range(attempts):
        v = info(vid)
        if v["status"] == status:
            return v
        time.sleep(PAUSE)
    raise AssertionError(f"volume {vid} never {status}: {v}")


def wait_snapshot(region, sid, attempts=30):
    for _ in range(attempts):
        snaps = api.request("volume", "snapshot-list", {"region": region})["snapshots"]
        s = next((s for s in snaps if s["id"] == sid), None)
        if s and s["status"] == "available":
            return s
        time.sleep(PAUSE)
    raise AssertionError(f"snapshot {sid} never available")


# Create, list, info.
vid = api.request("volume", "create", {"region": "toronto", "label": "py-vol", "size": 10})["volume_id"]
assert isinstance(vid, str) and vid.isdigit(), vid
step("volume/create", vid)
listed = api.request("volume", "list", {"region": "toronto"})["volumes"]
mine = next(v for v in listed if v["id"] == vid)
assert mine["size"] == "10" and mine["status"] in ("pending", "active"), mine
step("volume/list", mine["status"])
v = wait_info(vid, "available")
assert v["attached"] == "" and v["name"] == "py-vol", v
step("volume/info", v["status"])

# Rename, extend (detached).
api.request("volume", "rename", {"volume_id": vid, "name": "py-vol-2"})
assert info(vid)["name"] == "py-vol-2"
step("volume/rename")
api.request("volume", "extend", {"volume_id": vid, "size": 20})
v = wait_info(vid, "available")
assert v["size"] == "20", v
step("volume/extend", v["size"])

# Attach to a seeded VM, detach.
vms = api.request("vm", "list")["vms"]
vm = next(m for m in vms if m["region"] == "toronto")
step("vm/list", len(vms))
api.request("volume", "attach", {"volume_id": vid, "vm_id": vm["vm_id"], "target": "auto"})
v = wait_info(vid, "in-use")
assert v["attached"] == vm["vm_id"], v
step("volume/attach", v["attached"])
text = refused("volume", "extend", {"volume_id": vid, "size": 30})
step("error: extend while attached", text)
api.request("volume", "detach", {"volume_id": vid})
wait_info(vid, "available")
step("volume/detach")

# Snapshots, a volume from one, an image in another region and a volume from it.
sid = api.request("volume", "snapshot-create", {"volume_id": vid, "label": "py-snap"})["snapshot_id"]
s = wait_snapshot("toronto", sid)
assert s["name"] == "py-snap" and s["volume"]["id"] == vid, s
step("volume/snapshot-create", sid)
step("volume/snapshot-list", s["status"])
from_snap = api.request(
    "volume", "create", {"region": "toronto", "label": "py-from-snap", "size": 20, "snapshot_id": sid}
)["volume_id"]
wait_info(from_snap, "available")
step("volume/create from a snapshot", from_snap)
image = api.request(
    "volume",
    "snapshot-replicate",
    {"region": "toronto", "snapshot_id": sid, "image_name": "py-image", "dst_region": "montreal"},
)["image_id"]
images = api.request("image", "list", {"region": "montreal"})["images"]
assert any(i["image_id"] == image for i in images), images
step("volume/snapshot-replicate to montreal", image)
from_image = api.request(
    "volume", "create", {"region": "montreal", "label": "py-from-image", "size": 25, "image": image}
)["volume_id"]
v = wait_info(from_image, "available")
assert v["size"] == "25", v
step("volume/create from the image", from_image)

# Errors.
step("error: unknown volume", refused("volume", "info", {"volume_id": "424242"}))
wrong = lnd.LNDynamic(API_ID, "x" * 128)
step("error: wrong key", refused("volume", "list", {}, client=wrong))
step("error: missing region", refused("volume", "snapshot-list", {}))

# Deletes.
for extra in (from_snap, from_image):
    api.request("volume", "delete", {"volume_id": extra})
step("volume/delete (the copies)")
step("error: delete with a snapshot", refused("volume", "delete", {"volume_id": vid}))
api.request("volume", "snapshot-delete", {"region": "toronto", "snapshot_id": sid})
for _ in range(30):
    if not any(s["id"] == sid for s in api.request("volume", "snapshot-list", {"region": "toronto"})["snapshots"]):
        break
    time.sleep(PAUSE)
step("volume/snapshot-delete")
api.request("volume", "delete", {"volume_id": vid})
for _ in range(30):
    if not any(v["id"] == vid for v in api.request("volume", "list")["volumes"]):
        break
    time.sleep(PAUSE)
assert not any(v["id"] == vid for v in api.request("volume", "list")["volumes"])
step("volume/delete")
print(f"all {steps} steps passed")
