"""test_homeassistant.py -- Home Assistant discovery: configs, select commands, no ghosts

Each test starts a real mosquitto and the real daemon with [homeassistant] discovery on and
reads what it publishes under the discovery prefix through a real MQTT client. Home
Assistant itself is not run here: the configs are checked field by field against what its
MQTT discovery documents.
"""

import json
import re

import pytest

from conftest import (ORDER, OVERRIDE, READ, STATUS, ZONE_STATE, Barrier, MqttClient,
                      wait_until)

PREFIX = "homeassistant"
ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
REF = "on_below = 300\noff_above = 400\n[zone hall]\non_below = 200\n"


def fnv1a(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


def zone_id(name):
    return re.sub(r"[^A-Za-z0-9_-]", "_", (name or "default").encode().decode("latin-1")) + \
        "_" + fnv1a(name)


def node_of(d):
    return re.sub(r"[^A-Za-z0-9_-]", "_", d.client_id)


def topics_of(d, zone, lux=True):
    node, zid = node_of(d), zone_id(zone)
    out = {"light": f"{PREFIX}/binary_sensor/{node}/{zid}_light/config",
           "mode": f"{PREFIX}/select/{node}/{zid}_mode/config"}
    if lux:
        out["lux"] = f"{PREFIX}/sensor/{node}/{zid}_lux/config"
    return out


@pytest.fixture
def setup(daemon, mqtt):
    """setup(ref, ini) -> (daemon, client watching the prefix, orders and explanations)."""
    def make(ref=REF, ini=None, **kw):
        settings = {"homeassistant": {"discovery": "true"}}
        for section, keys in (ini or {}).items():
            settings.setdefault(section, {}).update(keys)
        d = daemon(ref=ref, ini=settings, **kw)
        c = mqtt(PREFIX + "/#", ORDER + "/#", ORDER, ZONE_STATE + "/#", ZONE_STATE)
        return d, c
    return make


def announced(c, after=0):
    """Configs received from `after` on, but those of the Barrier's own zones."""
    return [m for m in c.received(after=after) if m.topic.startswith(PREFIX + "/")
            and "/sync_" not in m.topic and m.topic != f"{PREFIX}/status"]


def config(c, topic, after=0):
    m = c.wait_for(topic, pred=lambda m: m.payload != "", after=after)
    return json.loads(m.payload)


def test_each_zone_of_ref_txt_is_announced_with_every_field(setup):
    d, c = setup()
    t = topics_of(d, "hall")
    node, zid = node_of(d), zone_id("hall")
    device = {"identifiers": [f"{node}_{zid}"], "name": "pylight hall",
              "manufacturer": "pylight", "model": "light zone"}
    common = {"availability_topic": STATUS, "payload_available": "online",
              "payload_not_available": "offline"}

    light = config(c, t["light"])
    assert light["unique_id"] == f"{node}_{zid}_light"
    assert light["default_entity_id"] == f"binary_sensor.{node.lower()}_{zid}_light"
    assert light["object_id"] == f"{node.lower()}_{zid}_light"
    assert light["state_topic"] == f"{ORDER}/hall"
    assert (light["payload_on"], light["payload_off"]) == ("ON", "OFF")
    assert light["device_class"] == "light"
    lux = config(c, t["lux"])
    assert lux["unique_id"] == f"{node}_{zid}_lux"
    assert lux["state_topic"] == f"{ZONE_STATE}/hall"
    assert lux["value_template"] == "{{ value_json.smoothed }}"
    assert (lux["unit_of_measurement"], lux["device_class"], lux["state_class"]) == \
        ("lx", "illuminance", "measurement")
    mode = config(c, t["mode"])
    assert mode["unique_id"] == f"{node}_{zid}_mode"
    assert mode["command_topic"] == f"{OVERRIDE}/hall"
    assert mode["options"] == ["AUTO", "ON", "OFF"]
    assert mode["state_topic"] == f"{ZONE_STATE}/hall"
    assert "value_json.mode == 'override'" in mode["value_template"]
    for doc in (light, lux, mode):
        for key, value in common.items():
            assert doc[key] == value
        assert {k: doc["device"][k] for k in device} == device
        assert doc["device"]["sw_version"] == doc["origin"]["sw"]
        assert doc["origin"]["name"] == "pylight"
        assert ID_RE.match(doc["unique_id"])
    # Retained at QoS 1: a new subscriber gets them from the broker.
    late = MqttClient(d.broker, [t["light"]])
    try:
        msg = late.wait_for(t["light"])
        assert msg.retain and json.loads(msg.payload)["unique_id"] == light["unique_id"]
    finally:
        late.close()
    # The default zone has no section: it is announced when it comes into being.
    assert not c.received(topics_of(d, "")["light"])
    c.publish(READ, "100")
    assert config(c, topics_of(d, "")["light"])["state_topic"] == ORDER
    assert config(c, topics_of(d, "")["mode"])["device"]["name"] == "pylight default zone"


def test_a_new_zone_is_announced_when_it_comes_into_being(setup):
    d, c = setup()
    mark = c.mark()
    c.publish(f"{READ}/attic", "900")
    assert config(c, topics_of(d, "attic")["light"], after=mark)["state_topic"] == \
        f"{ORDER}/attic"
    config(c, topics_of(d, "attic")["mode"], after=mark)  # the last of the three
    # Its second reading announces nothing again.
    mark = c.mark()
    c.publish(f"{READ}/attic", "950")
    Barrier(c)()
    assert not announced(c, after=mark)


def test_select_command_round_trips_to_an_override_and_back(setup):
    d, c = setup()
    mode = config(c, topics_of(d, "hall")["mode"])
    c.publish(f"{READ}/hall", "900")
    c.wait_for(f"{ORDER}/hall", "OFF")

    def select_state(doc):
        # The select's value_template, evaluated as Home Assistant would.
        return doc["state"] if doc["mode"] == "override" else "AUTO"

    def explained(mode_now, after):
        return json.loads(c.wait_for(mode["state_topic"], after=after, pred=lambda m: json.loads(
            m.payload)["mode"] == mode_now).payload)

    mark = c.mark()
    c.publish(mode["command_topic"], "ON")
    assert c.wait_for(f"{ORDER}/hall", after=mark).payload == "ON"
    assert select_state(explained("override", mark)) == "ON"
    mark = c.mark()
    c.publish(mode["command_topic"], "AUTO")
    assert c.wait_for(f"{ORDER}/hall", after=mark).payload == "OFF"
    assert select_state(explained("auto", mark)) == "AUTO"


def test_home_assistant_online_republishes_everything(setup):
    d, c = setup()
    c.publish(f"{READ}/attic", "900")
    t_hall, t_attic = topics_of(d, "hall"), topics_of(d, "attic")
    config(c, t_attic["mode"])
    mark = c.mark()
    c.publish(f"{PREFIX}/status", "online")
    for topic in list(t_hall.values()) + list(t_attic.values()):
        config(c, topic, after=mark)
    # "offline" republishes nothing.
    mark = c.mark()
    c.publish(f"{PREFIX}/status", "offline")
    Barrier(c)()
    assert not announced(c, after=mark)


def test_ghost_configs_are_cleared_and_live_ones_kept(setup, mqtt):
    d, c = setup(start=False)
    node = node_of(d)
    ghost = f"{PREFIX}/binary_sensor/{node}/gone_0badc0de_light/config"
    other_node = f"{PREFIX}/binary_sensor/someone_else/gone_0badc0de_light/config"
    hall = topics_of(d, "hall")["light"]
    planter = mqtt()
    for topic in (ghost, other_node, hall):
        planter.publish(topic, '{"name":"old"}', retain=True)
    d.start()
    # Cleared with an empty retained payload, about 2 s after connecting.
    c.wait_for(ghost, "", timeout=15)
    d.wait_log(r"^notice: homeassistant: cleared 1 config of zones that are gone$")
    # What a new subscriber gets: no ghost; the other node's and the live zone's remain.
    late = mqtt(PREFIX + "/#")
    # Retained messages come in no set order: wait for both that must be there.
    wait_until(lambda: late.received(hall) and late.received(other_node),
               what="the hall config and the other node's, retained")
    assert json.loads(late.received(hall)[-1].payload)["name"] == "Light"
    # The broker sends a subscription's retained messages before anything published later.
    late.publish(f"{PREFIX}/probe", "after the retained ones")
    late.wait_for(f"{PREFIX}/probe")
    assert not late.received(ghost)


def test_zone_names_give_valid_distinct_ids(setup):
    names = ["a/b", "a b", "a_b", "caf\u00e9", "floor1/hall"]
    d, c = setup()
    for name in names:
        c.publish(f"{READ}/{name}", "100")
    ids = set()
    for name in names:
        doc = config(c, topics_of(d, name)["light"])
        object_id = topics_of(d, name)["light"].split("/")[3]
        assert ID_RE.match(object_id), object_id
        assert ID_RE.match(doc["unique_id"]), doc["unique_id"]
        assert doc["device"]["name"] == f"pylight {name}"
        ids.add(doc["unique_id"])
    assert len(ids) == len(names)


def test_configs_without_explanations_have_no_lux_sensor(setup):
    d, c = setup(ini={"topics": {"zone_state": ""}})
    t = topics_of(d, "hall", lux=False)
    mode = config(c, t["mode"])
    assert "state_topic" not in mode
    config(c, t["light"])
    c.publish(f"{PREFIX}/status", "online")
    Barrier(c)()
    assert announced(c)
    assert not c.received(topics_of(d, "hall")["lux"])


def test_discovery_off_publishes_nothing_under_the_prefix(daemon, mqtt):
    daemon(ref=REF)
    c = mqtt(PREFIX + "/#", ORDER + "/#")
    c.publish(f"{READ}/hall", "100")
    c.publish(f"{PREFIX}/status", "online")
    Barrier(c)()  # proves the daemon has handled both
    assert not announced(c) and not c.received(pred=lambda m: "/sync_" in m.topic)


def test_reload_announces_a_new_section(setup):
    d, c = setup()
    config(c, topics_of(d, "hall")["light"])
    mark = c.mark()
    d.ref_path.write_text(REF + "[zone garage]\non_below = 50\n")
    config(c, topics_of(d, "garage")["light"], after=mark)
    assert not c.received(topics_of(d, "hall")["light"], after=mark)


def test_a_zone_with_presence_sensors_has_an_occupancy_sensor(setup):
    d, c = setup(ref=REF + "[zone room]\noccupancy = pir/room\n")
    node, zid = node_of(d), zone_id("room")
    occ = config(c, f"{PREFIX}/binary_sensor/{node}/{zid}_occupancy/config")
    assert occ["unique_id"] == f"{node}_{zid}_occupancy"
    assert occ["state_topic"] == f"{ZONE_STATE}/room"
    assert occ["device_class"] == "occupancy"
    assert occ["value_template"] == "{{ 'ON' if value_json.occupied else 'OFF' }}"
    assert occ["device"]["identifiers"] == [f"{node}_{zid}"]
    # Zones without presence sensors have none.
    Barrier(c)()
    assert not [m for m in announced(c) if m.topic.endswith("_occupancy/config")
                and f"/{zid}_" not in m.topic]
