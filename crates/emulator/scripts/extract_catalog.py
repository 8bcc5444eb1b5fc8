#!/usr/bin/env python3
"""Extract catalogue facts (instance types, availability, volume types, public
images and their labels, the default size of SBS image roots) from the
recorded cassettes into data/*.json.

Facts only: the emulator embeds these files with include_str!. Zones and
labels that were never recorded are filled deterministically (uuid5 ids) so
every current zone serves the same catalogue shape.

Usage: python3 scripts/extract_catalog.py [cassette_root]
"""
import collections, glob, json, os, re, sys, uuid

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../shared/conformance/cassettes")
OUT = os.path.join(HERE, "../data")
ZONES = ["fr-par-1", "fr-par-2", "fr-par-3", "nl-ams-1", "nl-ams-2", "nl-ams-3",
         "pl-waw-1", "pl-waw-2", "pl-waw-3", "it-mil-1"]
PUBLIC_ORG = "51b656e3-4865-41e8-adbc-0c45bdd780db"
NS = uuid.UUID("6f0c1a52-9d1e-4c55-9a8e-2b1f0e7c4d10")
LABELS = {
    "ubuntu_noble": "Ubuntu 24.04 Noble Numbat",
    "ubuntu_jammy": "Ubuntu 22.04 Jammy Jellyfish",
    "ubuntu_focal": "Ubuntu 20.04 Focal Fossa",
    "debian_bookworm": "Debian Bookworm",
    "debian_bullseye": "Debian Bullseye",
    "rockylinux_9": "Rocky Linux 9",
    "almalinux_9": "AlmaLinux 9",
    "fedora_40": "Fedora 40",
    "centos_stream_9": "CentOS Stream 9",
}

types = {}          # zone -> (date, order, map)
avail = {}
vtypes = {}
images = {}         # id -> image object
label_rows = {}     # (label, zone, arch, type) -> row

def date_of(rs):
    return (rs.get("headers", {}).get("Date") or [""])[0]

root_sizes = {}     # image name -> bytes of the SBS root a server gets when unsized

def learn_root_sizes(interactions):
    """The Block size of every server root created without a size, by image name."""
    unsized = {}  # volume id -> image name
    for it in interactions:
        rq, rs = it["request"], it["response"]
        url = rq["url"].split("?")[0]
        try:
            body = json.loads(rq.get("body") or "null")
            js = json.loads(rs.get("body") or "null")
        except ValueError:
            continue
        if (rq["method"] == "POST" and "/instance/v1/" in url and url.endswith("/servers")
                and rs.get("code") == 201 and isinstance(body, dict)):
            v0 = (body.get("volumes") or {}).get("0") or {}
            srv = js.get("server", {})
            root = srv.get("volumes", {}).get("0")
            if not ({"size", "id", "base_snapshot"} & set(v0)) and root and srv.get("image") \
                    and root.get("volume_type") == "sbs_volume":
                unsized[root["id"]] = srv["image"]["name"]
        if rq["method"] == "GET" and "/block/" in url and rs.get("code") == 200 \
                and isinstance(js, dict) and js.get("id") in unsized:
            root_sizes[unsized[js["id"]]] = js["size"]

pages = collections.defaultdict(dict)  # (zone, page-kind) -> {type: obj}
for f in sorted(glob.glob(os.path.join(ROOT, "**/*.yaml"), recursive=True)):
    d = yaml.load(open(f), Loader=yaml.CSafeLoader)
    learn_root_sizes(d["interactions"])
    for it in d["interactions"]:
        rq, rs = it["request"], it["response"]
        url = rq["url"]
        path = url.split("api.scaleway.com")[-1].split("?")[0]
        body = rs.get("body", "")
        if rs.get("code") != 200 and not (rs.get("code") == 201):
            continue
        try:
            js = json.loads(body) if body else None
        except ValueError:
            continue
        m = re.match(r"/instance/v1/zones/([^/]+)/products/(servers|servers/availability|volumes)$", path)
        if m and isinstance(js, dict):
            zone, kind = m.group(1), m.group(2)
            key = "volumes" if kind == "volumes" else "servers"
            target = {"servers": types, "servers/availability": avail, "volumes": vtypes}[kind]
            target.setdefault(zone, {}).update(js.get(key, {}))
        if "marketplace/v2/local-images" in url and isinstance(js, dict):
            for li in js.get("local_images", []):
                label_rows[(li["label"], li["zone"], li["arch"], li["type"], li["id"])] = li
        if path.startswith("/instance/v1/") and isinstance(js, dict):
            cands = []
            if isinstance(js.get("image"), dict):
                cands.append(js["image"])
            if isinstance(js.get("server"), dict) and isinstance(js["server"].get("image"), dict):
                cands.append(js["server"]["image"])
            for s in js.get("servers", []) if isinstance(js.get("servers"), list) else []:
                if isinstance(s.get("image"), dict):
                    cands.append(s["image"])
            for im in cands:
                if im.get("public") and im.get("id"):
                    images[im["id"]] = im

# Images referenced by label rows but never fetched: synthesise from a template.
def synth_image(img_id, label, zone, arch, typ):
    local = typ == "instance_local"
    root_id = str(uuid.uuid5(NS, "root:" + img_id))
    return {
        "id": img_id, "name": LABELS.get(label, label), "organization": PUBLIC_ORG, "project": PUBLIC_ORG,
        "root_volume": ({"id": root_id, "name": label + "_root", "volume_type": "l_ssd", "size": 10000000000}
                        if local else {"volume_type": "sbs_snapshot", "id": root_id, "size": 0, "name": ""}),
        "extra_volumes": {}, "public": True, "arch": arch,
        "creation_date": "2025-09-12T09:11:41.420846+00:00",
        "modification_date": "2025-09-12T09:11:41.420846+00:00",
        "default_bootscript": None, "from_server": "", "state": "available", "tags": [], "zone": zone,
    }

labels_out = []
seen = set()
for (label, zone, arch, typ, img_id), li in sorted(label_rows.items()):
    if (label, zone, arch, typ) in seen:
        continue  # keep one image per (label, zone, arch, type); others stay fetchable by id
    seen.add((label, zone, arch, typ))
    labels_out.append({"label": label, "zone": zone, "arch": arch, "type": typ, "id": img_id,
                       "compatible_commercial_types": li.get("compatible_commercial_types", [])})
for (label, zone, arch, typ, img_id), li in label_rows.items():
    if img_id not in images:
        images[img_id] = synth_image(img_id, label, zone, arch, typ)

# Fill every (label, zone, arch, type) so all current zones resolve the common labels.
x86_compat = next((r["compatible_commercial_types"] for r in labels_out
                   if r["label"] == "ubuntu_jammy" and r["arch"] == "x86_64" and r["type"] == "instance_sbs"), [])
arm_compat = next((r["compatible_commercial_types"] for r in labels_out
                   if r["label"] == "ubuntu_jammy" and r["arch"] == "arm64"), [])
local_compat = [t for t in x86_compat if t.startswith(("DEV1", "GP1", "START1", "VC1", "X64", "STARDUST1"))]
for label in LABELS:
    for zone in ZONES:
        for arch, typ, compat in (("x86_64", "instance_sbs", x86_compat), ("arm64", "instance_sbs", arm_compat),
                                  ("x86_64", "instance_local", local_compat)):
            if (label, zone, arch, typ) in seen:
                continue
            seen.add((label, zone, arch, typ))
            img_id = str(uuid.uuid5(NS, f"{label}:{zone}:{arch}:{typ}"))
            images[img_id] = synth_image(img_id, label, zone, arch, typ)
            labels_out.append({"label": label, "zone": zone, "arch": arch, "type": typ, "id": img_id,
                               "compatible_commercial_types": compat})

# Recordings span months: normalise every type to the newest key set
# (e.g. scratch_storage_max_volumes_count appeared later).
canon = max((list(t.keys()) for m in types.values() for t in m.values()), key=len)
DEFAULTS = {"scratch_storage_max_volumes_count": 0}
for m in types.values():
    for name, t in list(m.items()):
        m[name] = {k: t.get(k, DEFAULTS.get(k)) for k in canon}

os.makedirs(OUT, exist_ok=True)
def dump(name, obj):
    with open(os.path.join(OUT, name), "w") as o:
        json.dump(obj, o, indent=1, sort_keys=False)
        o.write("\n")
dump("server_types.json", {z: dict(sorted(m.items())) for z, m in sorted(types.items())})
dump("availability.json", {z: dict(sorted(m.items())) for z, m in sorted(avail.items())})
dump("volume_types.json", vtypes)
dump("images.json", {"images": sorted(images.values(), key=lambda i: (i["zone"], i["id"])), "labels": labels_out})
dump("sbs_root_sizes.json", dict(sorted(root_sizes.items())))
print("types:", {z: len(m) for z, m in types.items()}, "avail:", {z: len(m) for z, m in avail.items()},
      "vtypes:", list(vtypes), "images:", len(images), "labels:", len(labels_out),
      "sbs root sizes:", root_sizes)
