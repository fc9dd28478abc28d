"""The linode_api4 half of the NBD walk-through in volume-sim's README.

    python nbd_walkthrough.py create LABEL LINODE_ID   # create, wait, attach
    python nbd_walkthrough.py clone VOLUME_ID LABEL LINODE_ID

Settings: LINODE_BASE_URL (e.g. http://127.0.0.1:PORT/v4, printed by the
nbd_serve example) and LINODE_TOKEN (default: the fake's public default).
Prints the volume's id and filesystem_path: the NBD export names.
"""

import os
import sys
import time

from linode_api4 import LinodeClient, Volume

client = LinodeClient(
    os.environ.get("LINODE_TOKEN", "volume-sim-linode-token"),
    base_url=os.environ["LINODE_BASE_URL"],
)


def wait_active(vol):
    for _ in range(60):
        if vol.status == "active":
            return vol
        time.sleep(1)
        vol.invalidate()
    sys.exit(f"volume {vol.id} still {vol.status}")


def attach(vol, linode_id):
    vol.attach(linode_id)
    vol.invalidate()
    print(vol.id, vol.filesystem_path, f"attached to {vol.linode_id}")


if sys.argv[1] == "create":
    label, linode_id = sys.argv[2], int(sys.argv[3])
    vol = wait_active(client.volume_create(label, region="us-east", size=10))
    attach(vol, linode_id)
elif sys.argv[1] == "clone":
    source, label, linode_id = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    # Linode has no volume snapshots: a clone is its point-in-time copy.
    vol = wait_active(client.load(Volume, source).clone(label))
    attach(vol, linode_id)
else:
    sys.exit(__doc__)
