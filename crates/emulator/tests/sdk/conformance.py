"""Conformance of the emulator with the official Scaleway Python SDK
(scaleway==2.12.0). Usage: python conformance.py BASE_URL

Runs the full life of a server and the error types; exits non-zero on the
first failure, printing what failed."""
import time
import urllib.request
import uuid

from scaleway.instance.v1 import InstanceV1API
from scaleway_core.api import ScalewayException

from sdk_common import BASE, KEY, ZONE, check, client, expect_error

api = InstanceV1API(client())


def wait(get, done, what):
    """Poll until done(resource) (bounded), like the SDK's waiters."""
    for _ in range(600):
        r = get()
        if done(r):
            return r
        time.sleep(0.02)
    check(False, f"timeout waiting for {what}")


def user_data(method, server_id, key, body=None):
    """User data values are raw text/plain (hand-written in the SDKs)."""
    req = urllib.request.Request(f"{BASE}/instance/v1/zones/{ZONE}/servers/{server_id}/user_data/{key}",
                                 data=body, method=method,
                                 headers={"X-Auth-Token": KEY, "Content-Type": "text/plain"})
    with urllib.request.urlopen(req) as r:
        return r.status, r.read()


# Server life.
srv = api._create_server(commercial_type="DEV1-S", image="ubuntu_noble", name="sdk-srv", zone=ZONE, protected=False).server
check(srv.state == "stopped", "create server is stopped")
api.server_action(server_id=srv.id, action="poweron")
srv = wait(lambda: api.get_server(server_id=srv.id).server, lambda s: s.state == "running", "running")
check(srv.state == "running", "server running after poweron")
check(user_data("PATCH", srv.id, "cloud-init", b"#cloud-config\n")[0] == 204, "user data set (204)")
check(user_data("GET", srv.id, "cloud-init") == (200, b"#cloud-config\n"), "user data round trip")
check("cloud-init" in api.list_server_user_data(server_id=srv.id).user_data, "user data listed")

# Snapshot and export of a local volume.
vol = api.create_volume(name="sdk-vol", volume_type="l_ssd", size=20_000_000_000).volume
snap = api.create_snapshot(volume_id=vol.id, name="sdk-snap").snapshot
snap = wait(lambda: api.get_snapshot(snapshot_id=snap.id).snapshot, lambda s: s.state == "available", "snapshot")
check(snap.state == "available", "snapshot available")
api.export_snapshot(snapshot_id=snap.id, bucket="bkt", key="snap.qcow2")
check(api.get_snapshot(snapshot_id=snap.id).snapshot.state == "exporting", "snapshot exporting")
snap = wait(lambda: api.get_snapshot(snapshot_id=snap.id).snapshot, lambda s: s.state == "available", "export")
check(snap.state == "available", "snapshot exported")

# Security group, rules, set-rules.
sg = api.create_security_group(name="sdk-sg", description="d", stateful=True).security_group
api.create_security_group_rule(security_group_id=sg.id, protocol="TCP", direction="inbound", action="accept",
                               ip_range="10.0.0.0/8", position=1, editable=True, dest_port_from=22)
rules = api.list_security_group_rules(security_group_id=sg.id).rules
check(len(rules) == 7 and not rules[0].editable, "6 default rules then the user rule")
rules = api.set_security_group_rules(security_group_id=sg.id, rules=[]).rules
check(len(rules) == 6, "set-rules with [] keeps only the default rules")

# Flexible IP, placement group, private NIC.
ip = api.create_ip(type_="routed_ipv4").ip
ip = api.update_ip(ip=ip.id, server=srv.id).ip
check(ip.server is not None and ip.server.id == srv.id, "IP attached")
pg = api.create_placement_group(name="sdk-pg").placement_group
api.set_placement_group_servers(placement_group_id=pg.id, servers=[srv.id])
check(len(api.get_placement_group_servers(placement_group_id=pg.id).servers) == 1, "placement group servers")
nic = api.create_private_nic(server_id=srv.id, private_network_id=str(uuid.uuid4())).private_nic
nic = wait(lambda: api.get_private_nic(server_id=srv.id, private_nic_id=nic.id).private_nic, lambda n: n.state == "available", "nic")
check(nic.state == "available", "private NIC available")

# Backup, terminate until 404.
href = api.server_action(server_id=srv.id, action="backup", name="sdk-backup").task.href_result
img = wait(lambda: api.get_image(image_id=href.rsplit("/", 1)[-1]).image, lambda i: i.state == "available", "backup image")
check(img.name == "sdk-backup" and img.from_server == srv.id, "backup produced an image")
api.server_action(server_id=srv.id, action="terminate")
e = None
for _ in range(600):
    try:
        api.get_server(server_id=srv.id)
    except ScalewayException as ex:
        e = ex
        break
    time.sleep(0.02)
check(e is not None and e.status_code == 404, "terminated server answers 404")

# Pagination over more than two pages.
for i in range(120):
    api.create_ip()
check(len(api.list_ips_all()) >= 121, "list_ips_all over 3 pages")

# Error types.
expect_error(400, lambda: api._create_server(commercial_type="NOPE-1", image="ubuntu_noble", zone=ZONE, protected=False), "invalid_arguments")
expect_error(404, lambda: api.get_server(server_id=str(uuid.uuid4())), "not_found")
s2 = api._create_server(commercial_type="DEV1-S", image="ubuntu_noble", name="s2", protected=False).server
expect_error(412, lambda: api.server_action(server_id=s2.id, action="poweroff"), "precondition_failed")
api.server_action(server_id=s2.id, action="poweron")
expect_error(409, lambda: api.server_action(server_id=s2.id, action="poweroff"), "transient_state")
bad = InstanceV1API(client(secret_key="00000000-0000-4000-8000-000000000000"))
expect_error(401, lambda: bad.list_servers(), "denied_authentication")
print("sdk conformance: all checks passed")
