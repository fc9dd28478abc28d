"""The Exoscale fake against the official python-exoscale client.

Not run by CI. Serve the fake, then run this with the client installed:

    cargo run -p volume-sim --example exoscale_fake -- 127.0.0.1:8091 &
    python3 -m venv /tmp/exo && /tmp/exo/bin/pip install exoscale==0.16.4
    /tmp/exo/bin/python crates/volume-sim/tests/python/exoscale_lifecycle.py http://127.0.0.1:8091/v2

Key and secret: EXOSCALE_API_KEY / EXOSCALE_API_SECRET, or the fake's
defaults. Exits non-zero on the first thing the client cannot take.
"""

import os
import sys

from exoscale.api.exceptions import (
    ExoscaleAPIAuthException,
    ExoscaleAPIClientException,
    ExoscaleAPIServerException,
)
from exoscale.api.v2 import Client

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8091/v2"
KEY = os.environ.get("EXOSCALE_API_KEY", "EXOvolumesim000000000000000")
SECRET = os.environ.get("EXOSCALE_API_SECRET", "volume-sim-exoscale-secret")

c = Client(KEY, SECRET, url=URL)
steps = 0


def step(what, value=None):
    global steps
    steps += 1
    print(f"ok {steps:2} {what}" + (f": {value}" if value is not None else ""))


def expect(exc, status, fn, **kw):
    try:
        fn(**kw)
    except exc as e:
        assert e.response.status_code == status, (e.response.status_code, e.response.text)
        return e.response.json()["message"]
    raise AssertionError(f"{fn.__name__} {kw} did not fail")


zones = c.list_zones()["zones"]
assert zones[0]["name"] == "ch-gva-2", zones
step("list-zones (unsigned)", [z["name"] for z in zones][:3])

instances = c.list_instances()["instances"]
running = next(i for i in instances if i["state"] == "running")
stopped = next(i for i in instances if i["state"] == "stopped")
assert c.get_instance(id=running["id"])["id"] == running["id"]
step("list-instances / get-instance", len(instances))

op = c.create_block_storage_volume(name="py-vol", size=10, labels={"env": "test"})
assert op["state"] in ("pending", "success"), op
assert op["reference"]["command"] == "get-block-storage-volume", op
done = c.wait(op["id"])
vid = done["reference"]["id"]
v = c.get_block_storage_volume(id=vid)
assert (v["state"], v["size"], v["labels"]) == ("detached", 10, {"env": "test"}), v
step("create + wait + get", v["state"])

vols = c.list_block_storage_volumes()["block-storage-volumes"]
assert [x["id"] for x in vols] == [vid], vols
step("list-block-storage-volumes", len(vols))

c.wait(c.update_block_storage_volume(id=vid, name="py-vol-2")["id"])
v = c.get_block_storage_volume(id=vid)
assert (v["name"], v["labels"]) == ("py-vol-2", {"env": "test"}), v
c.wait(c.update_block_storage_volume(id=vid, labels={"team": "storage"})["id"])
v = c.get_block_storage_volume(id=vid)
assert (v["name"], v["labels"]) == ("py-vol-2", {"team": "storage"}), v
step("rename and relabel", v["labels"])

v = c.resize_block_storage_volume(id=vid, size=12)
assert v["size"] == 12 and v["id"] == vid, v
step("resize detached (answers the volume)", v["size"])

c.wait(c.attach_block_storage_volume_to_instance(id=vid, instance={"id": running["id"]})["id"])
v = c.get_block_storage_volume(id=vid)
assert v["state"] == "attached" and v["instance"]["id"] == running["id"], v
by = c.list_block_storage_volumes(instance_id=running["id"])["block-storage-volumes"]
assert [x["id"] for x in by] == [vid], by
step("attach to running + list by instance-id", v["state"])

msg = expect(ExoscaleAPIClientException, 409, c.resize_block_storage_volume, id=vid, size=20)
step("resize attached to a running instance refused (409)", msg)
msg = expect(ExoscaleAPIClientException, 409, c.delete_block_storage_volume, id=vid)
step("delete attached refused (409)", msg)

c.wait(c.detach_block_storage_volume(id=vid)["id"])
v = c.get_block_storage_volume(id=vid)
assert v["state"] == "detached" and "instance" not in v, v
step("detach", v["state"])
msg = expect(ExoscaleAPIClientException, 409, c.detach_block_storage_volume, id=vid)
assert msg.endswith("Volume not attached"), msg
step("detach detached refused (409)", msg)

c.wait(c.attach_block_storage_volume_to_instance(id=vid, instance={"id": stopped["id"]})["id"])
v = c.resize_block_storage_volume(id=vid, size=20)
assert v["size"] == 20 and v["state"] == "attached", v
c.wait(c.detach_block_storage_volume(id=vid)["id"])
step("resize attached to a stopped instance", v["size"])

op = c.create_block_storage_snapshot(id=vid, name="py-snap", labels={"k": "v"})
done = c.wait(op["id"])
sid = done["reference"]["id"]
s = c.get_block_storage_snapshot(id=sid)
assert (s["state"], s["name"], s["block-storage-volume"]["id"]) == ("created", "py-snap", vid), s
step("create-snapshot + wait", s["state"])
done = c.wait(c.create_block_storage_snapshot(id=vid)["id"])
sid2 = done["reference"]["id"]
step("create-snapshot without a body", c.get_block_storage_snapshot(id=sid2)["name"])

snaps = c.list_block_storage_snapshots()["block-storage-snapshots"]
assert sorted(x["id"] for x in snaps) == sorted([sid, sid2]), snaps
c.wait(c.update_block_storage_snapshot(id=sid, name="py-snap-2", labels={"x": "y"})["id"])
s = c.get_block_storage_snapshot(id=sid)
assert (s["name"], s["labels"]) == ("py-snap-2", {"x": "y"}), s
step("list and update snapshots", s["name"])

done = c.wait(c.create_block_storage_volume(name="from-snap", block_storage_snapshot={"id": sid})["id"])
v2 = c.get_block_storage_volume(id=done["reference"]["id"])
assert (v2["size"], v2["state"]) == (20, "detached"), v2
done = c.wait(c.create_block_storage_volume(name="from-snap-big", size=25, block_storage_snapshot={"id": sid})["id"])
v3 = c.get_block_storage_volume(id=done["reference"]["id"])
assert v3["size"] == 25, v3
step("volume from snapshot (same size, larger)", (v2["size"], v3["size"]))

expect(ExoscaleAPIClientException, 400, c.create_block_storage_volume, name="x", size=0)
expect(ExoscaleAPIClientException, 400, c.create_block_storage_volume, name="x")
expect(ExoscaleAPIClientException, 400, c.resize_block_storage_volume, id=vid, size=5)
expect(ExoscaleAPIClientException, 404, c.get_block_storage_volume, id="00000000-0000-4000-8000-000000000000")
expect(ExoscaleAPIClientException, 404, c.get_block_storage_snapshot, id="00000000-0000-4000-8000-000000000000")
expect(ExoscaleAPIClientException, 404, c.get_operation, id="nope")
expect(ExoscaleAPIClientException, 404, c.attach_block_storage_volume_to_instance, id=vid, instance={"id": "nope"})
step("error cases (400, 404)")

wrong = Client(KEY, "not-the-secret", url=URL)
expect(ExoscaleAPIAuthException, 403, wrong.list_block_storage_volumes)
expect(ExoscaleAPIAuthException, 403, wrong.create_block_storage_volume, name="x", size=1)
assert len(c.list_block_storage_volumes()["block-storage-volumes"]) == 3
step("wrong secret refused (403), nothing changed")

for s_id in (sid, sid2):
    c.wait(c.delete_block_storage_snapshot(id=s_id)["id"])
expect(ExoscaleAPIClientException, 404, c.get_block_storage_snapshot, id=sid)
for v_id in (vid, v2["id"], v3["id"]):
    c.wait(c.delete_block_storage_volume(id=v_id)["id"])
expect(ExoscaleAPIClientException, 404, c.get_block_storage_volume, id=vid)
assert c.list_block_storage_volumes()["block-storage-volumes"] == []
step("deletes (then 404)")

print(f"all {steps} steps passed")
