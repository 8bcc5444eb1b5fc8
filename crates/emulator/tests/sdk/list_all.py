"""Every `*_all` list helper of the official SDK's InstanceV1API
(scaleway==2.12.0) against the emulator. Usage: python list_all.py BASE_URL

The helpers are found by introspection, so a helper a newer SDK adds fails
this script until it has a case below. Each helper pages with a small
per_page over resources made for it, under a time limit: the SDK's pager
only stops on an empty page, so an emulator that ignores `page` makes it
loop instead of returning. Exits non-zero on the first failure."""
import dataclasses
import inspect
import signal
import time
import uuid

from scaleway.instance.v1 import InstanceV1API

from sdk_common import check, client, eq

api = InstanceV1API(client())

# Small pages, so that the few resources made below span several pages.
PER_PAGE = 2
# Items made for each helper: more than two pages of PER_PAGE.
COUNT = 5
# Seconds one helper call may take; the emulator answers a page in
# milliseconds, so only a pager that never ends reaches it.
CALL_LIMIT = 30


class CallTimeout(Exception):
    pass


def bounded(fn, what):
    """fn(), failing the script when it runs longer than CALL_LIMIT."""
    def expire(_signum, _frame):
        raise CallTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(CALL_LIMIT)
    try:
        return fn()
    except CallTimeout:
        check(False, f"{what} did not return within {CALL_LIMIT} s (its pager never ends)")
    except RecursionError:
        # The SDK's pager recurses once per page: endless pages end here.
        check(False, f"{what} recursed without end (its pager never ends)")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def wait_snapshot(snapshot_id):
    """Poll the snapshot until it is available (bounded; the SDK's waiter
    sleeps a second at least, the emulator settles in 50 ms)."""
    for _ in range(CALL_LIMIT * 50):
        if api.get_snapshot(snapshot_id=snapshot_id).snapshot.state == "available":
            return
        time.sleep(0.02)
    check(False, f"snapshot {snapshot_id} available")


def items_of(response):
    """The one list field of a List*Response (`servers`, `rules`, …)."""
    lists = [f.name for f in dataclasses.fields(response) if isinstance(getattr(response, f.name), list)]
    check(len(lists) == 1, f"{type(response).__name__} has one list field ({lists})")
    return getattr(response, lists[0])


# Parents of the nested lists; the helpers' required arguments name them.
parent_server = api._create_server(commercial_type="DEV1-S", image="ubuntu_noble", name="la-parent",
                                   protected=False).server
parent_group = api.create_security_group(name="la-parent", description="parent", stateful=True).security_group
parents = {"server_id": parent_server.id, "security_group_id": parent_group.id}

volumes = [api.create_volume(name=f"la-vol-{i}", volume_type="l_ssd", size=20_000_000_000).volume.id
           for i in range(COUNT)]
snapshots = [api.create_snapshot(volume_id=volumes[0], name=f"la-snap-{i}").snapshot.id for i in range(COUNT)]
for s in snapshots:
    wait_snapshot(s)

# Per helper: the ids made for it (all must be listed) and the filters that
# keep its whole list within one page of 100, the oracle it is compared to.
CASES = {
    "list_servers_all": ([parent_server.id] + [
        api._create_server(commercial_type="DEV1-S", image="ubuntu_noble", name=f"la-srv-{i}",
                           protected=False).server.id for i in range(COUNT)], {}),
    "list_volumes_all": (volumes, {}),
    "list_snapshots_all": (snapshots, {}),
    # Our own images only: the public catalog is larger than one page.
    "list_images_all": ([api.create_image(root_volume=s, arch="x86_64", name=f"la-img-{i}").image.id
                         for i, s in enumerate(snapshots)], {"public": False}),
    "list_security_groups_all": ([parent_group.id] + [
        api.create_security_group(name=f"la-sg-{i}", description="d", stateful=True).security_group.id
        for i in range(COUNT)], {}),
    # After the 6 default rules, renumbered from position 1.
    "list_security_group_rules_all": ([
        api.create_security_group_rule(security_group_id=parent_group.id, protocol="TCP", direction="inbound",
                                       action="accept", ip_range="10.0.0.0/8", position=i + 1, editable=True,
                                       dest_port_from=1000 + i).rule.id for i in range(COUNT)], {}),
    "list_placement_groups_all": ([api.create_placement_group(name=f"la-pg-{i}").placement_group.id
                                   for i in range(COUNT)], {}),
    "list_ips_all": ([api.create_ip(type_="routed_ipv4").ip.id for _ in range(COUNT)], {}),
    "list_private_ni_cs_all": ([
        api.create_private_nic(server_id=parent_server.id, private_network_id=str(uuid.uuid4())).private_nic.id
        for _ in range(COUNT)], {}),
}

helpers = sorted(n for n in dir(InstanceV1API) if n.endswith("_all") and callable(getattr(InstanceV1API, n)))
check(not sorted(set(helpers) - set(CASES)), f"every *_all helper has a case (missing: {sorted(set(helpers) - set(CASES))})")
check(not sorted(set(CASES) - set(helpers)), f"every case is an SDK helper (stale: {sorted(set(CASES) - set(helpers))})")

for name in helpers:
    made, filters = CASES[name]
    params = inspect.signature(getattr(api, name)).parameters
    required = [p for p in params.values() if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY]
    unknown = [p.name for p in required if p.name not in parents]
    check(not unknown, f"{name}: a parent for each required argument (none for {unknown})")
    check("per_page" in params, f"{name} takes per_page")
    args = {p.name: parents[p.name] for p in required} | filters

    listed = [i.id for i in bounded(lambda: getattr(api, name)(**args, per_page=PER_PAGE), name)]
    one_page = items_of(getattr(api, name.removesuffix("_all"))(**args, per_page=100))
    check(len(one_page) < 100, f"{name}: the oracle fits in one page ({len(one_page)} items)")
    first = items_of(getattr(api, name.removesuffix("_all"))(**args, per_page=PER_PAGE))
    eq([i.id for i in first], [i.id for i in one_page[:PER_PAGE]], f"{name}: page 1 of {PER_PAGE}")
    check(len(listed) > PER_PAGE, f"{name}: {len(listed)} items over {-(-len(listed) // PER_PAGE)} pages")
    eq(len(set(listed)), len(listed), f"{name}: no item twice")
    eq(sorted(set(made) - set(listed)), [], f"{name}: every item made is listed")
    eq(listed, [i.id for i in one_page], f"{name}: the pages, in order, are the one-page list")

rules = api.list_security_group_rules_all(security_group_id=parent_group.id, per_page=PER_PAGE)
eq([r.position for r in rules], list(range(1, 7)) + list(range(1, COUNT + 1)),
   "rules: 6 default rules, then the user rules from position 1")
eq([r.editable for r in rules], [False] * 6 + [True] * COUNT, "rules: only the user rules are editable")
print(f"sdk list_all: {len(helpers)} helpers passed")
