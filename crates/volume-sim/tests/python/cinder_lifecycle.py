"""The Cinder fake (Keystone + Cinder v3 + Nova attach) against the official
OpenStack clients: openstacksdk and python-cinderclient.

Not run by CI. Serve the fake, then run this with the clients installed:

    cargo build -p volume-sim --bin volume-sim
    target/debug/volume-sim --listen 127.0.0.1:18110 &
    pip install openstacksdk python-cinderclient
    python crates/volume-sim/tests/python/cinder_lifecycle.py http://127.0.0.1:18110/identity/v3

Credentials: OS_USERNAME / OS_PASSWORD / OS_PROJECT_NAME, or the fake's
defaults. Every step runs even when one before it failed; each prints
`ok` or `FAIL` with the reason, and the exit status is the number of
failures.
"""

import os
import sys
import time
import traceback

import openstack
from openstack import exceptions as sdk_exc

AUTH_URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18110/identity/v3"
USER = os.environ.get("OS_USERNAME", "demo")
PASSWORD = os.environ.get("OS_PASSWORD", "volume-sim-cinder-password")
PROJECT = os.environ.get("OS_PROJECT_NAME", "demo")

results = []


def step(name):
    """Runs the decorated function now, as one reported step."""

    def run(fn):
        try:
            value = fn()
            results.append((name, True, value))
            print(f"ok   {len(results):2} {name}" + (f": {value}" if value is not None else ""))
        except Exception as e:  # noqa: BLE001 - every failure is reported
            results.append((name, False, repr(e)))
            print(f"FAIL {len(results):2} {name}: {e!r}")
            if os.environ.get("VERBOSE"):
                traceback.print_exc()
        return fn

    return run


state = {}

# ----- openstacksdk ------------------------------------------------------------------

conn = openstack.connect(
    auth_url=AUTH_URL,
    username=USER,
    password=PASSWORD,
    project_name=PROJECT,
    user_domain_name="Default",
    project_domain_name="Default",
    region_name="RegionOne",
)
bs = conn.block_storage


def wait(resource, status, timeout=30):
    return bs.wait_for_status(resource, status=status, failures=["error"], interval=0.5, wait=timeout)


@step("sdk: authenticate and find the block-storage endpoint")
def _():
    ep = conn.session.get_endpoint(service_type="block-storage", interface="public")
    state["project_id"] = conn.current_project_id
    return ep


@step("sdk: create a volume (size, name, description, metadata) and wait for available")
def _():
    v = bs.create_volume(size=1, name="sdk-a", description="first", metadata={"env": "test"})
    assert v.status == "creating", v.status
    v = wait(v, "available")
    state["a"] = v
    return v.id


@step("sdk: get the volume")
def _():
    v = bs.get_volume(state["a"].id)
    assert v.name == "sdk-a" and v.size == 1 and v.metadata == {"env": "test"}, v
    return v.status


@step("sdk: find the volume by name")
def _():
    v = bs.find_volume("sdk-a")
    assert v is not None and v.id == state["a"].id, v
    return v.id


@step("sdk: list volumes with paging (limit=1)")
def _():
    b = bs.create_volume(size=1, name="sdk-b")
    state["b"] = wait(b, "available")
    ids = [v.id for v in bs.volumes(details=True, limit=1)]
    assert state["a"].id in ids and state["b"].id in ids, ids
    assert len(ids) == len(set(ids)), ids
    return len(ids)


@step("sdk: update name and description")
def _():
    v = bs.update_volume(state["a"], name="sdk-a2", description="renamed")
    v = bs.get_volume(state["a"].id)
    assert v.name == "sdk-a2" and v.description == "renamed", v
    return v.name


@step("sdk: extend to 2 GiB and wait")
def _():
    bs.extend_volume(state["a"], 2)
    v = wait(bs.get_volume(state["a"].id), "available")
    assert v.size == 2, v.size
    return v.size


@step("sdk: attach through Nova and wait for in-use")
def _():
    server = next(s for s in conn.compute.servers() if s.status == "ACTIVE")
    state["server"] = server
    att = conn.compute.create_volume_attachment(server, volume_id=state["a"].id)
    v = wait(bs.get_volume(state["a"].id), "in-use")
    assert v.attachments and v.attachments[0]["server_id"] == server.id, v.attachments
    return att.device


@step("sdk: list the server's volume attachments")
def _():
    atts = list(conn.compute.volume_attachments(state["server"]))
    assert [a.volume_id for a in atts] == [state["a"].id], atts
    return len(atts)


@step("sdk: detach through Nova and wait for available")
def _():
    conn.compute.delete_volume_attachment(state["server"], state["a"].id)
    v = wait(bs.get_volume(state["a"].id), "available")
    return v.status


@step("sdk: snapshot and wait for available")
def _():
    s = bs.create_snapshot(volume_id=state["a"].id, name="sdk-snap", description="snap")
    s = bs.wait_for_status(s, status="available", failures=["error"], interval=0.5, wait=30)
    state["snap"] = s
    assert any(x.id == s.id for x in bs.snapshots(details=True)), "snapshot not listed"
    return s.id


@step("sdk: volume from the snapshot")
def _():
    v = bs.create_volume(snapshot_id=state["snap"].id, name="sdk-from-snap", size=3)
    v = wait(v, "available")
    assert v.snapshot_id == state["snap"].id and v.size == 3, v
    state["from_snap"] = v
    return v.id


@step("sdk: clone the volume")
def _():
    v = bs.create_volume(source_volume_id=state["a"].id, name="sdk-clone")
    v = wait(v, "available")
    assert v.source_volume_id == state["a"].id and v.size == 2, v
    state["clone"] = v
    return v.id


@step("sdk: backup and wait for available")
def _():
    b = bs.create_backup(volume_id=state["a"].id, name="sdk-backup")
    b = bs.wait_for_status(b, status="available", failures=["error"], interval=0.5, wait=30)
    state["backup"] = b
    return b.id


@step("sdk: restore the backup to a new volume")
def _():
    r = bs.restore_backup(state["backup"], name="sdk-restored")
    vid = r["volume_id"] if isinstance(r, dict) else r.volume_id
    v = wait(bs.get_volume(vid), "available")
    state["restored"] = v
    return v.id


@step("sdk: retype to ssd")
def _():
    bs.retype_volume(state["a"], "ssd", migration_policy="never")
    deadline = time.time() + 30
    while time.time() < deadline:
        v = bs.get_volume(state["a"].id)
        if v.volume_type == "ssd" and v.status == "available":
            return v.volume_type
        time.sleep(0.5)
    raise AssertionError(f"still {v.volume_type} {v.status}")


@step("sdk: quotas with usage, and limits")
def _():
    q = bs.get_quota_set(state["project_id"], usage=True)
    lim = bs.get_limits()
    return (q.usage.get("volumes") if q.usage else q.volumes, lim.absolute.total_volumes_used)


@step("sdk: volume types and availability zones")
def _():
    types = [t.name for t in bs.types()]
    zones = [z.name for z in bs.availability_zones()]
    assert "ssd" in types and zones == ["nova"], (types, zones)
    return types


@step("sdk: errors: a missing volume is NotFound")
def _():
    try:
        bs.get_volume("00000000-0000-4000-8000-000000000000")
    except sdk_exc.NotFoundException as e:
        return e.status_code
    raise AssertionError("no error")


@step("sdk: errors: shrinking is BadRequest")
def _():
    try:
        bs.extend_volume(state["a"], 1)
    except sdk_exc.BadRequestException as e:
        return str(e)[:60]
    raise AssertionError("no error")


@step("sdk: errors: deleting a volume with snapshots is BadRequest")
def _():
    try:
        bs.delete_volume(state["a"])
    except sdk_exc.BadRequestException as e:
        return e.status_code
    raise AssertionError("no error")


@step("sdk: delete snapshot, backup and volumes, wait for them to go")
def _():
    bs.delete_volume(state["from_snap"])
    bs.wait_for_delete(state["from_snap"], interval=0.5, wait=30)
    bs.delete_snapshot(state["snap"])
    bs.wait_for_delete(state["snap"], interval=0.5, wait=30)
    bs.delete_backup(state["backup"])
    bs.wait_for_delete(state["backup"], interval=0.5, wait=30)
    for key in ("a", "b", "clone", "restored"):
        bs.delete_volume(state[key])
    for key in ("a", "b", "clone", "restored"):
        bs.wait_for_delete(state[key], interval=0.5, wait=30)
    left = [v.name for v in bs.volumes() if v.name and v.name.startswith("sdk-")]
    assert not left, left
    return "all gone"


# ----- python-cinderclient ------------------------------------------------------------------

from keystoneauth1 import session as ks_session  # noqa: E402
from keystoneauth1.identity import v3 as ks_v3  # noqa: E402
from cinderclient import api_versions  # noqa: E402
from cinderclient import client as cinder_client  # noqa: E402
from cinderclient import exceptions as cinder_exc  # noqa: E402

sess = ks_session.Session(
    auth=ks_v3.Password(
        auth_url=AUTH_URL,
        username=USER,
        password=PASSWORD,
        project_name=PROJECT,
        user_domain_name="Default",
        project_domain_name="Default",
    )
)
cc = {}


@step("cinderclient: negotiate the microversion")
def _():
    base = cinder_client.Client("3.0", session=sess, region_name="RegionOne")
    version = api_versions.discover_version(base, api_versions.APIVersion(api_versions.MAX_VERSION))
    cc["c"] = cinder_client.Client(version.get_string(), session=sess, region_name="RegionOne")
    return version.get_string()


@step("cinderclient: create, wait, get, list, extend")
def _():
    c = cc["c"]
    v = c.volumes.create(1, name="cc-a", metadata={"k": "v"})
    for _ in range(60):
        v = c.volumes.get(v.id)
        if v.status == "available":
            break
        time.sleep(0.5)
    assert v.status == "available", v.status
    assert any(x.id == v.id for x in c.volumes.list())
    c.volumes.extend(v, 2)
    for _ in range(60):
        v = c.volumes.get(v.id)
        if v.status == "available" and v.size == 2:
            break
        time.sleep(0.5)
    assert v.size == 2, v.size
    cc["v"] = v
    return v.id


@step("cinderclient: snapshot and backup")
def _():
    c = cc["c"]
    s = c.volume_snapshots.create(cc["v"].id, name="cc-snap")
    b = c.backups.create(cc["v"].id, name="cc-backup")
    for _ in range(60):
        s, b = c.volume_snapshots.get(s.id), c.backups.get(b.id)
        if s.status == "available" and b.status == "available":
            break
        time.sleep(0.5)
    assert (s.status, b.status) == ("available", "available"), (s.status, b.status)
    cc["s"], cc["b"] = s, b
    return (s.id, b.id)


@step("cinderclient: limits, quotas with usage, messages")
def _():
    c = cc["c"]
    lim = c.limits.get()
    absolute = {x.name: x.value for x in lim.absolute}
    q = c.quotas.get(conn.current_project_id, usage=True)
    msgs = c.messages.list()
    return (absolute.get("totalVolumesUsed"), q.volumes, len(msgs))


@step("cinderclient: attachments API (reserve, connect, complete, delete)")
def _():
    c = cc["c"]
    server = state.get("server") or next(s for s in conn.compute.servers() if s.status == "ACTIVE")
    # `create` answers a dict, `update` a resource (cinderclient's own note).
    made = c.attachments.create(cc["v"].id, None, server.id)
    assert made["status"] == "reserved", made
    a = c.attachments.update(made["id"], {"host": "h", "initiator": "iqn.x", "platform": "x86_64", "os_type": "linux"})
    c.attachments.complete(a.id)
    for _ in range(60):
        v = c.volumes.get(cc["v"].id)
        if v.status == "in-use":
            break
        time.sleep(0.5)
    assert v.status == "in-use", v.status
    c.attachments.delete(a.id)
    for _ in range(60):
        v = c.volumes.get(cc["v"].id)
        if v.status == "available":
            break
        time.sleep(0.5)
    assert v.status == "available", v.status
    return a.id


@step("cinderclient: errors and deletes")
def _():
    c = cc["c"]
    try:
        c.volumes.get("00000000-0000-4000-8000-000000000000")
        raise AssertionError("no error")
    except cinder_exc.NotFound:
        pass
    c.volume_snapshots.delete(cc["s"])
    c.backups.delete(cc["b"])
    for _ in range(60):
        if not [x for x in c.volume_snapshots.list() if x.id == cc["s"].id]:
            break
        time.sleep(0.5)
    c.volumes.delete(cc["v"])
    for _ in range(60):
        try:
            c.volumes.get(cc["v"].id)
        except cinder_exc.NotFound:
            return "gone"
        time.sleep(0.5)
    raise AssertionError("volume still there")


failed = [r for r in results if not r[1]]
print(f"\n{len(results) - len(failed)} of {len(results)} steps passed")
sys.exit(len(failed))
