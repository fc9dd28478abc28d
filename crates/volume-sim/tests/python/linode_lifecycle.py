#!/usr/bin/env python3
"""A full volume lifecycle against the volume-sim Linode fake, through
Linode's official Python client (linode_api4) and, when it is installed,
libcloud's Linode driver. Not run by CI: see the "Serving fakes" section of
crates/volume-sim/README.md.

    cargo run -p volume-sim --bin volume-sim -- --listen 127.0.0.1:8080
    python3 crates/volume-sim/tests/python/linode_lifecycle.py

Environment: LINODE_BASE_URL (default http://127.0.0.1:8080/v4) and
LINODE_TOKEN (default volume-sim-linode-token). Exits 0 when every check
passed.
"""

import os
import sys
import time
from urllib.parse import urlparse

from linode_api4 import ApiError, Instance, LinodeClient, Volume

BASE = os.environ.get("LINODE_BASE_URL", "http://127.0.0.1:8080/v4")
TOKEN = os.environ.get("LINODE_TOKEN", "volume-sim-linode-token")
PREFIX = "py%d" % (int(time.time() * 1000) % 100000)

checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def expect_error(status, fn, field=None, what=""):
    try:
        fn()
    except ApiError as e:
        check(e.status == status, "%s: status %s, wanted %s (%s)" % (what, e.status, status, e.errors))
        check(len(e.errors) >= 1, "%s: no errors" % what)
        if field is not None:
            fields = [x.get("field") for x in (e.json or {}).get("errors", [])]
            check(field in fields, "%s: fields %s, wanted %s" % (what, fields, field))
        return e
    raise AssertionError("%s: no error" % what)


def wait_status(client, vid, status, timeout=30.0):
    deadline = time.time() + timeout
    while True:
        v = client.load(Volume, vid)
        if v.status == status:
            return v
        if time.time() > deadline:
            raise AssertionError("volume %s still %s, wanted %s" % (vid, v.status, status))
        time.sleep(0.2)


def linode_api4_lifecycle():
    client = LinodeClient(TOKEN, base_url=BASE)

    regions = [r.id for r in client.regions()]
    check("us-east" in regions, "regions: %s" % regions)
    instances = list(client.linode.instances())
    running = [i for i in instances if i.region.id == "us-east" and i.status == "running"][0]
    offline = [i for i in instances if i.region.id == "us-east" and i.status == "offline"][0]
    elsewhere = [i for i in instances if i.region.id == "us-ord"][0]
    check(len(client.linode.instances(Instance.region == "us-east")) == 3, "instances filter")
    types = client.volumes.types()
    check(types[0].id == "volume", "volume types")

    # create, wait until active
    label = PREFIX + "-data"
    v = client.volumes.create(label, region="us-east", size=15, tags=[PREFIX])
    check(v.status == "creating", "created: %s" % v.status)
    check(v.size == 15 and v.region.id == "us-east", "create fields")
    check(v.filesystem_path == "/dev/disk/by-id/scsi-0Linode_Volume_" + label, v.filesystem_path)
    check(v.linode_id is None, "unattached")
    v = wait_status(client, v.id, "active")
    check(v.created is not None and v.updated is not None, "timestamps parse")

    # list and filter
    check(any(x.id == v.id for x in client.volumes()), "listed")
    check([x.id for x in client.volumes(Volume.label == label)] == [v.id], "label filter")
    check([x.id for x in client.volumes(Volume.tags == PREFIX)] == [v.id], "tags filter")
    check(len(client.volumes(Volume.label.contains(PREFIX))) == 1, "+contains")
    check(len(client.volumes((Volume.label == label) | (Volume.label == "nothing"))) == 1, "+or")
    check(len(client.volumes(Volume.size > 14)) >= 1, "+gt")
    check(len(client.volumes(Volume.size > 15, Volume.label == label)) == 0, "+and")
    ordered = client.volumes((Volume.label.contains(PREFIX)).order_by(Volume.label, desc=True))
    check(len(ordered) == 1, "+order_by")

    # rename and retag
    v.label = label + "-2"
    v.tags = [PREFIX, "renamed"]
    v.save()
    v = client.load(Volume, v.id)
    check(v.label == label + "-2", "renamed")
    check(v.filesystem_path.endswith(label + "-2"), "path follows the label")
    check(sorted(v.tags) == sorted([PREFIX, "renamed"]), "tags: %s" % v.tags)

    # resize (grow only)
    v.resize(25)
    check(v.status == "resizing" and v.size == 25, "resizing: %s %s" % (v.status, v.size))
    v = wait_status(client, v.id, "active")
    check(v.size == 25, "resized")
    expect_error(400, lambda: v.resize(20), "size", "shrink")
    expect_error(400, lambda: v.resize(25), "size", "same size")
    expect_error(400, lambda: v.resize(20000), "size", "too big")

    # attach, and the attached-volume rules
    v.attach(running.id)
    check(v.linode_id == running.id, "attached: %s" % v.linode_id)
    check(v.linode_label == running.label, "linode_label")
    check([x.id for x in running.volumes()] == [v.id], "listed under the Linode")
    expect_error(400, lambda: v.attach(running.id), "linode_id", "attach twice")
    expect_error(400, lambda: v.delete(), None, "delete while attached to a running Linode")

    # clone (allowed while attached)
    c = v.clone(label + "-c")
    check(c.status == "creating" and c.size == 25 and c.linode_id is None, "clone")
    c = wait_status(client, c.id, "active")
    expect_error(400, lambda: c.attach(elsewhere.id), "linode_id", "attach across regions")

    # detach
    v.detach()
    v = client.load(Volume, v.id)
    check(v.linode_id is None, "detached")
    check(len(running.volumes()) == 0, "no longer listed under the Linode")

    # attach while creating (recorded), then delete from an offline Linode
    w = client.volumes.create(label + "-w", region="us-east")
    w.attach(offline.id)
    check(w.linode_id == offline.id, "attach while creating")
    w = wait_status(client, w.id, "active")
    check(w.linode_id == offline.id, "still attached once active")
    w.delete()
    expect_error(404, lambda: client.load(Volume, w.id), None, "deleted")

    # bad input
    expect_error(400, lambda: client.volumes.create("x", region="us-east"), "label", "short label")
    expect_error(400, lambda: client.volumes.create("bad--label", region="us-east"), "label", "label --")
    expect_error(400, lambda: client.volumes.create(label + "-r", region="mars-1"), "region", "region")
    expect_error(400, lambda: client.volumes.create(label + "-s", region="us-east", size=5), "size", "small")
    expect_error(404, lambda: client.load(Volume, 987654321), None, "not found")
    expect_error(400, lambda: list(client.volumes(Volume.hardware_type == "nvme")), None, "unfilterable field")
    expect_error(401, lambda: LinodeClient("wrong-token", base_url=BASE).volumes(), None, "bad token")

    # pagination: 30 more volumes, a client with 25 per page walks both pages
    many = [client.volumes.create("%s-p%02d" % (PREFIX, n), region="ap-south") for n in range(30)]
    paged = LinodeClient(TOKEN, base_url=BASE, page_size=25)
    listed = [x.id for x in paged.volumes(Volume.label.contains(PREFIX + "-p"))]
    check(sorted(listed) == sorted(m.id for m in many), "paged: %d of 30" % len(listed))
    for m in many:
        wait_status(client, m.id, "active")
        m.delete()

    # delete
    for x in (v, c):
        x.delete()
        expect_error(404, lambda: client.load(Volume, x.id), None, "deleted")
    check(len(client.volumes(Volume.label.contains(PREFIX))) == 0, "all gone")


def libcloud_lifecycle():
    try:
        from libcloud.common.exceptions import BaseHTTPError
        from libcloud.common.types import LibcloudError
        from libcloud.compute.providers import get_driver
        from libcloud.compute.types import NodeState, Provider, StorageVolumeState
    except ImportError:
        print("libcloud: not installed, skipped")
        return
    url = urlparse(BASE)
    driver = get_driver(Provider.LINODE)(
        TOKEN, api_version="4.0", secure=False, host=url.hostname, port=url.port
    )
    api = LinodeClient(TOKEN, base_url=BASE)

    def fresh(vol):
        return driver.ex_get_volume(vol.id)

    locations = {l.id: l for l in driver.list_locations()}
    check("us-east" in locations, "libcloud locations")
    nodes = [n for n in driver.list_nodes() if n.extra["location"] == "us-east"]
    running = [n for n in nodes if n.state == NodeState.RUNNING]
    check(len(nodes) == 3 and len(running) == 2, "libcloud nodes")
    vol = driver.create_volume(PREFIX + "-lc", 20, location=locations["us-east"], tags=[PREFIX])
    check(vol.extra["state"] == StorageVolumeState.CREATING, "libcloud create")
    wait_status(api, int(vol.id), "active")
    vol = fresh(vol)
    check(vol.extra["state"] == StorageVolumeState.AVAILABLE, "libcloud active")
    check(any(x.id == vol.id for x in driver.list_volumes()), "libcloud list")
    attached = driver.attach_volume(running[0], vol)
    check(attached.extra["linode_id"] == int(running[0].id), "libcloud attach")
    vol = fresh(vol)
    clone = driver.ex_clone_volume(vol, PREFIX + "-lc-c")
    check(clone.extra["state"] == StorageVolumeState.CREATING and clone.size == 20, "libcloud clone")
    check(driver.detach_volume(vol), "libcloud detach")
    vol = fresh(vol)
    check(vol.extra["linode_id"] is None, "libcloud detached")
    check(driver.ex_resize_volume(vol, 30), "libcloud resize")
    check(fresh(vol).extra["state"] == StorageVolumeState.UPDATING, "libcloud resizing")
    wait_status(api, int(vol.id), "active")
    wait_status(api, int(clone.id), "active")
    vol = fresh(vol)
    check(vol.size == 30, "libcloud size %s" % vol.size)
    try:
        driver.create_volume(PREFIX + "-small", 5, location=locations["us-east"])
        raise AssertionError("libcloud: no error for size 5")
    except (BaseHTTPError, LibcloudError) as e:
        check("Size must be between" in str(e), "libcloud error text: %s" % e)
    for x in (vol, clone):
        check(driver.destroy_volume(fresh(x)), "libcloud destroy")
    check(all(x.id not in (vol.id, clone.id) for x in driver.list_volumes()), "libcloud gone")


def main():
    started = time.time()
    linode_api4_lifecycle()
    print("linode_api4: ok (%d checks)" % checks)
    libcloud_lifecycle()
    print("all %d checks passed against %s in %.1f s" % (checks, BASE, time.time() - started))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAILED after %d checks: %s" % (checks, e), file=sys.stderr)
        sys.exit(1)
