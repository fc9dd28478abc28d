"""The Rancher (Cattle) fake against the official Python clients.

Not run by CI. Serve the fake, then run this with the clients installed
(`cattle` and `gdapi-python` from PyPI; both bootstrap from the schemas):

    cargo run -p volume-sim --bin volume-sim -- --listen 127.0.0.1:18120 &
    python3 -m venv /tmp/cattle && /tmp/cattle/bin/pip install cattle gdapi-python
    /tmp/cattle/bin/python crates/volume-sim/tests/python/rancher_lifecycle.py \
        http://127.0.0.1:18120/v2-beta/projects/1a5

Keys: CATTLE_ACCESS_KEY / CATTLE_SECRET_KEY, or the fake's defaults.
Prints one line per step; exits non-zero on the first thing a client
cannot take.
"""

import os
import sys

import cattle
import gdapi

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18120/v2-beta/projects/1a5"
ACCESS = os.environ.get("CATTLE_ACCESS_KEY", "volume-sim-rancher-access-key")
SECRET = os.environ.get("CATTLE_SECRET_KEY", "volume-sim-rancher-secret-key")

steps = 0


def step(what, value=None):
    global steps
    steps += 1
    print(f"ok {steps:2} {what}" + (f": {value}" if value is not None else ""))


def api_error(status, code, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except gdapi.ApiError as e:
        err = e.error
        assert err.status == status, (err.status, err.code, err.message)
        assert err.code == code, (err.code, err.message)
        return err
    raise AssertionError(f"{fn} did not fail")


# --- cattle: the schema bootstrap, then a whole lifecycle ---------------------
c = cattle.Client(url=URL, access_key=ACCESS, secret_key=SECRET)
assert "volume" in c.schema.types and "snapshot" in c.schema.types
step("cattle.Client bootstraps from X-API-Schemas", sorted(t for t in c.schema.types)[:6])

drivers = {d.name: d for d in c.list_storage_driver()}
assert "snapshot" in drivers["rancher-longhorn"].volumeCapabilities
step("list_storage_driver", sorted(drivers))
hosts = c.list_host()
step("list_host", [h.id for h in hosts])

v = c.create_volume(name="py-vol", driver="rancher-longhorn", sizeMb=2048,
                    driverOpts={"size": "2G"}, description="from cattle")
assert v.state in ("requested", "registering", "inactive"), v.state
step("create_volume", (v.id, v.state, v.transitioning))
v = c.wait_success(v)
assert v.state == "inactive" and v.transitioning == "no", v.state
assert v.uri == "rancher-longhorn:///py-vol", v.uri
step("wait_success", v.state)

local = c.wait_success(c.create_volume(name="py-local", driver="local"))
assert not hasattr(local.actions, "snapshot")
step("local volume offers no snapshot action", sorted(vars(local.actions)))

found = c.list_volume(name_prefix="py-", sort="name", order="desc")
assert [x.name for x in found] == ["py-vol", "py-local"], [x.name for x in found]
found = c.list_volume(storageDriverId=drivers["local"].id)
assert [x.name for x in found] == ["py-local"], [x.name for x in found]
found = c.list_volume(sizeMb_gt=1000, limit=1)
assert len(found.data) == 1 and found.pagination.limit == 1
step("list_volume with filters, sort, limit", [x.name for x in found])

v = c.update(v, description="updated", name="ignored")
assert v.description == "updated" and v.name == "py-vol"
step("update (PUT links.self)", v.description)

v = c.wait_success(v.allocate())
assert v.state == "active", v.state
step("allocate -> active", v.state)
err = api_error(405, "Method not allowed", c.delete, v)
step("delete of an active volume -> 405", err.code)
v = c.wait_success(v.deallocate())
step("deallocate -> inactive", v.state)

snap = v.snapshot(name="py-snap")
assert snap.type == "snapshot" and snap.volumeId == v.id
snap = c.wait_success(snap)
assert snap.state == "created", snap.state
step("snapshot action (200, snapshot) + wait_success", (snap.id, snap.state))

targets = c.list_backup_target()
backup = c.wait_success(snap.backup(backupTargetId=targets.data[0].id, name="py-backup"))
assert backup.state == "created" and backup.snapshotId == snap.id
step("backup action on the snapshot + wait_success", (backup.id, backup.state))

v = c.reload(v)
v = c.wait_success(v.reverttosnapshot(snapshotId=snap.id))
assert v.state == "inactive"
step("reverttosnapshot", v.state)
v = c.wait_success(v.restorefrombackup(backupId=backup.id))
assert v.state == "inactive"
step("restorefrombackup", v.state)

assert [s.id for s in c.list_snapshot(volumeId=v.id)] == [snap.id]
assert [b.id for b in c.list_backup(volumeId=v.id)] == [backup.id]
step("list_snapshot / list_backup filtered by volumeId")

# --- errors --------------------------------------------------------------------
err = api_error(422, "MissingRequired", c.create_volume, name="no-driver")
assert err.message == "Either driver or storageDriverId is required", err.message
step("missing driver -> 422 MissingRequired", err.message)
err = api_error(422, "NotUnique", c.create_volume, name="py-vol", driver="rancher-longhorn")
assert err.fieldName == "name"
step("duplicate name -> 422 NotUnique", err.fieldName)
err = api_error(422, "InvalidOption", c.create_volume, name="sized", driver="local", sizeMb=5)
step("sizeMb on local -> 422 InvalidOption", err.message)
try:
    cattle.Client(url=URL, access_key=ACCESS, secret_key="wrong")
    raise AssertionError("a wrong key was accepted")
except gdapi.ApiError as e:
    assert e.error.status == 401 and e.error.code == "Unauthorized", vars(e.error)
step("wrong key -> 401 Unauthorized")

# --- remove and purge ------------------------------------------------------------
c.delete(snap)
c.delete(backup)
removed = c.wait_success(c.delete(v))
assert removed.state == "removed" and removed.removed is not None
assert c.by_id_volume(v.id).state == "removed"
assert v.id not in [x.id for x in c.list_volume()]
assert v.id in [x.id for x in c.list_volume(_removed="true")]
step("remove (DELETE) -> removed; hidden from lists, readable by id", removed.state)
purged = c.wait_success(removed.purge())
assert purged.state == "purged"
step("purge -> purged", purged.state)
c.wait_success(c.delete(local))
step("remove the local volume")

# --- gdapi-python directly, on the bare /v2-beta path ------------------------------
g = gdapi.Client(url=URL.split("/projects/")[0], access_key=ACCESS, secret_key=SECRET)
gv = g.create_volume(name="gd-vol", driver="local")
assert gv.type == "volume"
page = g.list_volume(limit=1)
assert page.pagination.limit == 1
assert g.by_id_volume(gv.id).name == "gd-vol"
assert g.by_id_volume("1v999999") is None
step("gdapi.Client on /v2-beta: create, list, by_id (404 -> None)", gv.id)

v1 = cattle.Client(url=URL.replace("/v2-beta", "/v1"), access_key=ACCESS, secret_key=SECRET)
assert "gd-vol" in [x.name for x in v1.list_volume()]
step("cattle.Client on /v1 sees the same volumes")

print(f"all {steps} steps passed")
