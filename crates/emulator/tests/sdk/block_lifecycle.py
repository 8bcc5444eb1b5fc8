"""The Block Storage (SBS) lifecycle with the official Scaleway Python SDK
(scaleway==2.12.0: BlockV1API with InstanceV1API, and the SDK's waiters).
Usage: python block_lifecycle.py BASE_URL

A label-made server, its Block root volume, a new volume attached, resized,
snapshotted, exported; an import, restores, an image from a Block snapshot, a
backup, terminate leaving the volumes detached, then every deletion. Each
step asserts the answers as recorded from the real API (see
shared/reference/scaleway-block-api.md); exits non-zero on the first
failure, printing what failed."""
from scaleway.block.v1 import (
    BlockV1API,
    CreateVolumeRequestFromEmpty,
    CreateVolumeRequestFromSnapshot,
)
from scaleway.block.v1.content import REFERENCE_TRANSIENT_STATUSES, SNAPSHOT_TRANSIENT_STATUSES, VOLUME_TRANSIENT_STATUSES
from scaleway.block.v1alpha1 import BlockV1Alpha1API
from scaleway.instance.v1 import ServerActionRequestVolumeBackupTemplate
from scaleway.instance.v1.custom_api import InstanceUtilsV1API
from scaleway_core.api import ScalewayException
from scaleway_core.utils import WaitForOptions, wait_for_resource

from sdk_common import check, client, eq, expect_error

GB = 1_000_000_000

block = BlockV1API(client())
inst = InstanceUtilsV1API(client())


def settled(stop=None):
    """The SDK waiters' options: a bounded wait (the emulator's transitions
    are short) with the default stop condition unless one is given."""
    return WaitForOptions(timeout=60, min_delay=1, max_delay=2, stop=stop)


def volume_settled(v):
    """Like the Go SDK's WaitForVolumeAndReferences: status and every
    reference out of their transient states."""
    return v.status not in VOLUME_TRANSIENT_STATUSES and all(
        r.status not in REFERENCE_TRANSIENT_STATUSES for r in v.references)


def detached(v):
    return v.status == "available" and not v.references


def snapshot_unreferenced(s):
    return s.status not in SNAPSHOT_TRANSIENT_STATUSES and not s.references


def wait_volume(volume_id, stop=volume_settled):
    return block.wait_for_volume(volume_id=volume_id, options=settled(stop))


def wait_snapshot(snapshot_id, stop=None):
    return block.wait_for_snapshot(snapshot_id=snapshot_id, options=settled(stop))


def server_or_none(server_id):
    try:
        return inst.get_server(server_id=server_id).server
    except ScalewayException as e:
        if e.status_code == 404:
            return None
        raise


def one_reference(obj, product_resource_type, product_resource_id, type_, what):
    """obj has exactly one reference, to that resource, attached."""
    refs = [(r.product_resource_type, r.product_resource_id, r.type_, r.status) for r in obj.references]
    eq(refs, [(product_resource_type, product_resource_id, type_, "attached")], what)


def not_found(fn, resource, resource_id, what):
    """A 404 whose body names the resource type and id (Block and Instance
    error bodies alike)."""
    body = expect_error(404, fn, what).response.json()
    eq((body.get("type"), body.get("resource"), body.get("resource_id")), ("not_found", resource, resource_id),
       f"{what}: error body")


def client_error(fn, what):
    """A refusal: a 4xx answer (its exact code was not recorded)."""
    try:
        fn()
    except ScalewayException as e:
        check(400 <= e.status_code < 500, f"{what} -> {e.status_code} {e.response.text}")
        return
    check(False, f"{what} raised nothing")


# 1. A server made from an image label: its root is a Block volume.
srv = inst._create_server(commercial_type="DEV1-S", image="ubuntu_noble", name="sdk-sbs", protected=False).server
eq(srv.state, "stopped", "label-made server is stopped")
eq(sorted(srv.volumes), ["0"], "one volume, the root")
root_id = srv.volumes["0"].id
eq(srv.volumes["0"].volume_type, "sbs_volume", "root volume is sbs_volume in the server")
root = block.get_volume(volume_id=root_id)
eq(root.name, f"{srv.image.name}_sbs_volume_0", "Block root volume name")
eq((root.type_, root.size, root.status), ("sbs_5k", 10 * GB, "in_use"), "Block root volume type, size, status")
eq((root.specs.perf_iops, root.specs.class_), (5000, "sbs"), "Block root volume specs")
eq(root.parent_snapshot_id, srv.image.root_volume.id, "root volume made from the image's Block snapshot")
eq(srv.image.root_volume.volume_type, "sbs_snapshot", "label image root is an sbs_snapshot")
one_reference(root, "instance_server", srv.id, "exclusive", "root volume referenced by its server")
not_found(lambda: inst.get_volume(volume_id=root_id), "instance_volume", root_id, "Instance GET of the SBS root")
check(root_id not in [v.id for v in inst.list_volumes_all()], "SBS root not in Instance volumes")
alpha = BlockV1Alpha1API(client()).get_volume(volume_id=root_id)
eq((alpha.id, alpha.status, alpha.size), (root_id, "in_use", 10 * GB), "v1alpha1 serves the same volume")

# 2. A new Block volume, attached through the Instance API.
data = block.create_volume(name="sdk-data", from_empty=CreateVolumeRequestFromEmpty(size=20 * GB), perf_iops=5000,
                           tags=["sdk-data"])
eq((data.status, data.type_, data.size, data.references), ("creating", "sbs_5k", 20 * GB, []),
   "create volume answers creating, sbs_5k, 20 GB, no reference")
eq((data.specs.perf_iops, data.parent_snapshot_id), (5000, None), "new volume specs and no parent snapshot")
data = wait_volume(data.id)
eq((data.status, data.references), ("available", []), "new volume available")
eq([v.id for v in block.list_volumes(include_deleted=False, tags=["sdk-data"]).volumes], [data.id], "tags filter")
attached = inst.attach_server_volume(server_id=srv.id, volume_id=data.id, volume_type="sbs_volume").server
eq({k: (v.id, v.volume_type) for k, v in attached.volumes.items()},
   {"0": (root_id, "sbs_volume"), "1": (data.id, "sbs_volume")}, "attach answers the server with both volumes")
data = wait_volume(data.id)
eq(data.status, "in_use", "attached volume in_use")
one_reference(data, "instance_server", srv.id, "exclusive", "attached volume referenced by the server")
by_server = block.list_volumes(include_deleted=False, product_resource_id=srv.id)
eq((sorted(v.id for v in by_server.volumes), by_server.total_count), (sorted([root_id, data.id]), 2),
   "Block volumes of the server (product_resource_id filter)")
client_error(lambda: block.delete_volume(volume_id=data.id), "delete refused while in_use")
eq(block.get_volume(volume_id=data.id).status, "in_use", "refused delete changed nothing")
inst.server_action(server_id=srv.id, action="poweron")
eq(inst.wait_instance_server(server_id=srv.id, zone=None).server.state, "running", "server running (SDK waiter)")

# 3. Resize and IOPS change: the answer says updating with the old values.
resized = block.update_volume(volume_id=data.id, size=30 * GB)
eq((resized.status, resized.size), ("updating", 20 * GB), "resize answers updating with the old size")
data = wait_volume(data.id)
eq((data.status, data.size, data.type_), ("in_use", 30 * GB, "sbs_5k"), "resized to 30 GB, still attached")
tuned = block.update_volume(volume_id=data.id, perf_iops=15000)
eq((tuned.status, tuned.specs.perf_iops, tuned.type_), ("updating", 5000, "sbs_5k"),
   "IOPS change answers updating with the old specs")
data = wait_volume(data.id)
eq((data.status, data.specs.perf_iops, data.type_, data.size), ("in_use", 15000, "sbs_15k", 30 * GB),
   "IOPS 15000: type flips to sbs_15k")
one_reference(data, "instance_server", srv.id, "exclusive", "resized volume still attached")
client_error(lambda: block.update_volume(volume_id=data.id, size=10 * GB), "shrink refused")
eq(block.get_volume(volume_id=data.id).size, 30 * GB, "refused shrink changed nothing")

# 4. Snapshot of the attached volume (Block create_snapshot).
snap = block.create_snapshot(volume_id=data.id, name="sdk-snap", public=False)
eq((snap.status, snap.references, snap.size, snap.class_), ("creating", [], 30 * GB, "sbs"),
   "create snapshot answers creating, no reference, the volume's size")
eq((snap.parent_volume.id, snap.parent_volume.name, snap.parent_volume.type_), (data.id, "sdk-data", "sbs_15k"),
   "snapshot parent volume")
snap = wait_snapshot(snap.id)
eq((snap.status, snap.references), ("available", []), "snapshot available, transient reference gone")
not_found(lambda: inst.get_snapshot(snapshot_id=snap.id), "instance_snapshot", snap.id,
          "Instance GET of the Block snapshot")
listed = block.list_snapshots(include_deleted=False, volume_id=data.id)
eq(([s.id for s in listed.snapshots], listed.total_count), ([snap.id], 1), "snapshots of the volume")

# 5. Export to Object Storage.
exporting = block.export_snapshot_to_object_storage(snapshot_id=snap.id, bucket="sdk-bucket", key="sdk-snap.qcow2")
eq((exporting.id, exporting.status), (snap.id, "exporting"), "export answers the snapshot exporting")
snap = wait_snapshot(snap.id)
eq(snap.status, "available", "snapshot available after the export")

# 6. Import from Object Storage.
# No size: as recorded, the import of an exported object has the exported snapshot's size.
imported = block.import_snapshot_from_object_storage(bucket="sdk-bucket", key="sdk-snap.qcow2", name="sdk-imported",
                                                     tags=["sdk-import"])
eq((imported.status, imported.parent_volume, imported.references, imported.size, imported.tags),
   ("creating", None, [], 30 * GB, ["sdk-import"]), "import answers creating with no parent volume")
imported = wait_snapshot(imported.id)
eq((imported.status, imported.name), ("available", "sdk-imported"), "imported snapshot available")

# 7. Restore: volumes from snapshots, as is and grown.
restored = block.create_volume(name="sdk-restored", perf_iops=5000,
                               from_snapshot=CreateVolumeRequestFromSnapshot(snapshot_id=imported.id))
eq((restored.status, restored.parent_snapshot_id, restored.size, restored.type_),
   ("creating", imported.id, 30 * GB, "sbs_5k"), "restore answers creating from the imported snapshot")
grown = block.create_volume(name="sdk-grown", perf_iops=5000,
                            from_snapshot=CreateVolumeRequestFromSnapshot(snapshot_id=snap.id, size=40 * GB))
eq((grown.parent_snapshot_id, grown.size), (snap.id, 40 * GB), "restore with a larger size")
for v in (restored, grown):
    v = wait_volume(v.id)
    eq((v.status, v.references), ("available", []), f"restored volume {v.name} available")
page = block.list_volumes(include_deleted=False, page=1, page_size=3)
eq((len(page.volumes), page.total_count), (3, 4), "Block list: page_size 3 of total_count 4")
eq(sorted(v.id for v in block.list_volumes_all(include_deleted=False, page_size=3)),
   sorted([root_id, data.id, restored.id, grown.id]), "Block list over two pages")

# 8. An image from a Block snapshot.
img = inst.create_image(root_volume=snap.id, arch="x86_64", name="sdk-img").image
eq((img.state, img.root_volume.id, img.root_volume.volume_type), ("available", snap.id, "sbs_snapshot"),
   "image from a Block snapshot")
snap = wait_snapshot(snap.id)
eq(snap.status, "in_use", "snapshot in_use by the image")
one_reference(snap, "instance_image", img.id, "link", "snapshot referenced by the image")
client_error(lambda: block.delete_snapshot(snapshot_id=snap.id), "delete refused while the image uses the snapshot")
inst.delete_image(image_id=img.id)
snap = wait_snapshot(snap.id, stop=snapshot_unreferenced)
eq((snap.status, snap.references), ("available", []), "image deleted: snapshot available again")

# 9. Backup of the server: Block snapshots, one per SBS volume.
backup_volumes = {vid: ServerActionRequestVolumeBackupTemplate(volume_type="sbs_snapshot") for vid in (root_id, data.id)}
task = inst.server_action(server_id=srv.id, action="backup", name="sdk-backup", volumes=backup_volumes).task
# The task's description was recorded both as "instance_backup" (an SBS backup, 2025) and
# "fake task" (an l_ssd backup, 2026): not asserted.
check(task.href_result.startswith("/images/"), f"backup task points at an image: {task.href_result}")
backup = inst.get_image(image_id=task.href_result.rsplit("/", 1)[-1]).image
eq((backup.name, backup.from_server, backup.root_volume.volume_type), ("sdk-backup", srv.id, "sbs_snapshot"),
   "backup image with an sbs_snapshot root")
eq([v.volume_type for v in backup.extra_volumes.values()], ["sbs_snapshot"], "backup image extra volume")
backup_snaps = [backup.root_volume.id] + [v.id for v in backup.extra_volumes.values()]
# Recorded names: "<backup name>_snap_<n>" (backup "backup" -> "backup_snap_0").
for n, (sid, parent) in enumerate(zip(backup_snaps, (root_id, data.id))):
    s = wait_snapshot(sid)
    eq((s.name, s.parent_volume.id, s.status), (f"sdk-backup_snap_{n}", parent, "in_use"), f"backup snapshot {n}")
    one_reference(s, "instance_image", backup.id, "link", f"backup snapshot {n} referenced by the image")
inst.delete_image(image_id=backup.id)
for sid in backup_snaps:
    s = wait_snapshot(sid, stop=snapshot_unreferenced)
    eq((s.status, s.references), ("available", []), "backup image deleted: its snapshot stays, available")

# 10. Terminate: the SBS volumes are detached, not deleted.
inst.server_action(server_id=srv.id, action="terminate")
wait_for_resource(fetcher=server_or_none, options=settled(lambda s: s is None), args={"server_id": srv.id})
not_found(lambda: inst.get_server(server_id=srv.id), "instance_server", srv.id, "terminated server")
for vid, size in ((root_id, 10 * GB), (data.id, 30 * GB)):
    v = wait_volume(vid, stop=detached)
    eq((v.status, v.references, v.size), ("available", [], size), "terminate left the volume detached")
    check(v.last_detached_at is not None, "last_detached_at set")

# 11. Delete everything through Block; each is gone (404 resource volume/snapshot).
for vid in (root_id, data.id, restored.id, grown.id):
    block.delete_volume(volume_id=vid)
    not_found(lambda: block.get_volume(volume_id=vid), "volume", vid, "deleted volume")
for sid in [snap.id, imported.id] + backup_snaps:
    block.delete_snapshot(snapshot_id=sid)
    not_found(lambda: block.get_snapshot(snapshot_id=sid), "snapshot", sid, "deleted snapshot")
eq(block.list_volumes_all(include_deleted=False), [], "no Block volume left")
eq(block.list_snapshots_all(include_deleted=False), [], "no Block snapshot left")
print("sdk block lifecycle: all checks passed")
