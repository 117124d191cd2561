"""test_homeassistant.py -- Home Assistant discovery: configs, states, ids, no lost entities

Each test starts a real mosquitto and the real daemon with [homeassistant] discovery on and
reads what it publishes under the discovery prefix through a real MQTT client. Home
Assistant itself is not run here: the configs are checked field by field against what its
MQTT discovery documents, and the templates they carry are rendered with Jinja2 (Debian's
python3-jinja2, what Home Assistant renders them with) against the payloads published.
"""

import json
import re

import jinja2
import pytest

from conftest import (ORDER, OVERRIDE, READ, STATUS, ZONE_STATE, Barrier, MqttClient,
                      wait_until)

PREFIX = "homeassistant"
ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# homeassistant/core.py
VALID_ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")
REF = "on_below = 300\noff_above = 400\n[zone hall]\non_below = 200\n"


def render(template, payload):
    """A state template as Home Assistant's MQTT entities render it: value and value_json."""
    try:
        value_json = json.loads(payload)
    except ValueError:
        value_json = None
    return jinja2.Environment().from_string(template).render(value=payload,
                                                             value_json=value_json)


def ascii_slug(text):
    """Home Assistant's slugify for ASCII text: lower case, runs of others one '_'."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def fnv1a(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


def zone_id(name):
    sanitized = re.sub(r"[^A-Za-z0-9_-]", "_", (name or "default").encode().decode("latin-1"))
    return sanitized[:255] + "_" + fnv1a(name)


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
            and m.topic.endswith("/config") and "/sync_" not in m.topic]


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
    # The client id here holds a '-', which an entity id may not.
    assert light["default_entity_id"] == f"binary_sensor.{ascii_slug(node)}_{zid}_light"
    assert light["object_id"] == f"{ascii_slug(node)}_{zid}_light"
    assert light["state_topic"] == f"{ZONE_STATE}/hall"
    assert (light["payload_on"], light["payload_off"]) == ("ON", "OFF")
    assert light["device_class"] == "light"
    lux = config(c, t["lux"])
    assert lux["unique_id"] == f"{node}_{zid}_lux"
    assert lux["state_topic"] == f"{PREFIX}/sensor/{node}/{zid}_lux/state"
    assert "value_template" not in lux
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
        assert VALID_ENTITY_ID.match(doc["default_entity_id"]), doc["default_entity_id"]
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
    assert config(c, topics_of(d, "")["light"])["state_topic"] == ZONE_STATE
    assert config(c, topics_of(d, "")["mode"])["device"]["name"] == "pylight default zone"


def test_a_new_zone_is_announced_when_it_comes_into_being(setup):
    d, c = setup()
    mark = c.mark()
    c.publish(f"{READ}/attic", "900")
    assert config(c, topics_of(d, "attic")["light"], after=mark)["state_topic"] == \
        f"{ZONE_STATE}/attic"
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

    def explained(mode_now, after):
        return c.wait_for(mode["state_topic"], after=after, pred=lambda m: json.loads(
            m.payload)["mode"] == mode_now).payload

    mark = c.mark()
    c.publish(mode["command_topic"], "ON")
    assert c.wait_for(f"{ORDER}/hall", after=mark).payload == "ON"
    assert render(mode["value_template"], explained("override", mark)) == "ON"
    mark = c.mark()
    c.publish(mode["command_topic"], "AUTO")
    assert c.wait_for(f"{ORDER}/hall", after=mark).payload == "OFF"
    assert render(mode["value_template"], explained("auto", mark)) == "AUTO"


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
    # Not one of our entities: cleared after the connect.
    ghost = f"{PREFIX}/binary_sensor/{node}/gone_0badc0de_bulb/config"
    # A zone this process has not heard from yet (it was just restarted): kept.
    known = f"{PREFIX}/binary_sensor/{node}/quiet_0badc0de_light/config"
    other_node = f"{PREFIX}/binary_sensor/someone_else/gone_0badc0de_light/config"
    hall = topics_of(d, "hall")["light"]
    planter = mqtt()
    for topic in (ghost, known, other_node, hall):
        planter.publish(topic, '{"name":"old"}', retain=True)
    d.start()
    # Cleared with an empty retained payload, about 2 s after connecting.
    c.wait_for(ghost, "", timeout=15)
    d.wait_log(r"^notice: homeassistant: cleared 1 config of zones that are gone$")
    # What a new subscriber gets: no ghost; the others remain.
    late = mqtt(PREFIX + "/#")
    # Retained messages come in no set order: wait for those that must be there.
    wait_until(lambda: late.received(hall) and late.received(other_node) and
               late.received(known), what="the hall config, the quiet one and the other node's")
    assert json.loads(late.received(hall)[-1].payload)["name"] == "Light"
    # The broker sends a subscription's retained messages before anything published later.
    late.publish(f"{PREFIX}/probe", "after the retained ones")
    late.wait_for(f"{PREFIX}/probe")
    assert not late.received(ghost)


def test_entity_ids_are_valid_and_valid_ones_unchanged(setup):
    d, c = setup()
    node = ascii_slug(node_of(d))
    # zone -> the entity id's part between "NODE_" and "_HASH_light"
    cases = {"hall": "hall", "floor1/hall": "floor1_hall", "a b": "a_b",
             "Floor 2 / Hall": "floor_2_hall", "k\u00fcche": "kuche",
             "Stra\u00dfe": "strasse", "_x_": "x", "a/b/": "a_b", "--caf\u00e9--": "cafe",
             "\u00c6r\u00f8": "aero", "\u0142\u00f3d\u017a": "lodz",
             "u\u0308ber": "uber", "\u65e5\u672c": ""}
    for name in cases:
        c.publish(f"{READ}/{name}", "100")
    for name, part in cases.items():
        doc = config(c, topics_of(d, name)["light"])
        middle = f"{part}_" if part else ""
        assert doc["default_entity_id"] == \
            f"binary_sensor.{node}_{middle}{fnv1a(name)}_light", name
        assert doc["object_id"] == doc["default_entity_id"].split(".", 1)[1]
        assert VALID_ENTITY_ID.match(doc["default_entity_id"]), name
        assert doc["device"]["name"] == f"pylight {name}"
    # A name as long as a topic allows is cut to Home Assistant's 255 characters.
    long_name = "z" * 400
    c.publish(f"{READ}/{long_name}", "100")
    doc = config(c, topics_of(d, long_name)["mode"])
    assert len(doc["default_entity_id"]) == 255
    assert VALID_ENTITY_ID.match(doc["default_entity_id"])


def test_zone_names_give_valid_distinct_ids(setup):
    names = ["a/b", "a b", "a_b", "caf\u00e9", "floor1/hall", "-", "/x/"]
    d, c = setup()
    for name in names:
        c.publish(f"{READ}/{name}", "100")
    ids, entity_ids = set(), set()
    for name in names:
        doc = config(c, topics_of(d, name)["light"])
        object_id = topics_of(d, name)["light"].split("/")[3]
        assert ID_RE.match(object_id), object_id
        assert ID_RE.match(doc["unique_id"]), doc["unique_id"]
        assert VALID_ENTITY_ID.match(doc["default_entity_id"]), doc["default_entity_id"]
        assert doc["device"]["name"] == f"pylight {name}"
        ids.add(doc["unique_id"])
        entity_ids.add(doc["default_entity_id"])
    assert len(ids) == len(entity_ids) == len(names)


def test_zone_names_with_wildcards_are_refused(tmp_path, run_pylightd):
    (tmp_path / "pylight.ini").write_text("[thresholds]\nfile = ref.txt\n")
    (tmp_path / "ref.txt").write_text("on_below = 1\n[zone a+b]\n[zone c#d]\n"
                                      "[zone e]\nsensors = f/+\n")
    res = run_pylightd("-t", "-c", str(tmp_path / "pylight.ini"))
    assert res.returncode == 1
    ref = tmp_path / "ref.txt"
    assert f"{ref}:2: zone name 'a+b' is not a topic: '+' is a wildcard" in res.stderr
    assert f"{ref}:3: missing ']' in section header" in res.stderr
    assert f"{ref}:5: sensor 'f/+' is not a topic: '+' is a wildcard" in res.stderr


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


def lux_topic(d, zone):
    return f"{PREFIX}/sensor/{node_of(d)}/{zone_id(zone)}_lux/state"


def test_lux_state_follows_readings_at_most_once_per_interval(setup):
    d, c = setup(ref=REF + "smoothing = 2\n", ini={"homeassistant": {"lux_interval": "2s"}})
    lux = config(c, topics_of(d, "hall")["lux"])
    mark = c.mark()
    c.publish(f"{READ}/hall", "150")
    m150 = c.wait_for(lux["state_topic"], "150", after=mark)
    # Readings that switch nothing still move the sensor; within the interval only the last.
    for value in ("250", "290", "350"):
        c.publish(f"{READ}/hall", value)
    # The decided lux: the mean of the last two readings.
    m320 = c.wait_for(lux["state_topic"], "320", after=mark)
    assert m320.time - m150.time >= 1.5
    assert c.payloads(lux["state_topic"], after=mark) == ["150", "320"]
    # A reading that leaves the decided lux as it is publishes nothing.
    mark = c.mark()
    c.publish(f"{READ}/hall", "290")
    Barrier(c)()
    c.expect_none(lux["state_topic"], within=2.5, after=mark)


def test_home_assistant_restart_reads_every_state_again(setup, mqtt):
    d, c = setup()
    t = topics_of(d, "hall")
    light, mode, lux = (config(c, t[k]) for k in ("light", "mode", "lux"))
    c.publish(f"{READ}/hall", "100")
    c.wait_for(f"{ORDER}/hall", "ON")
    c.wait_for(lux["state_topic"], "100")
    # Home Assistant restarts: its birth message, then it subscribes afresh.
    mark = c.mark()
    c.publish(f"{PREFIX}/status", "online")
    config(c, t["light"], after=mark)
    ha = mqtt(light["state_topic"], mode["state_topic"], lux["state_topic"])
    wait_until(lambda: ha.received(light["state_topic"]) and ha.received(lux["state_topic"]),
               what="the states, retained")
    state = ha.received(light["state_topic"])[-1].payload
    assert render(light["value_template"], state) == light["payload_on"]
    assert render(mode["value_template"], state) == "AUTO"
    assert float(ha.received(lux["state_topic"])[-1].payload) == 100


def test_broker_restart_gets_every_state_again(setup, mqtt, broker):
    d, c = setup()
    t = topics_of(d, "hall")
    light, lux = config(c, t["light"]), config(c, t["lux"])
    c.publish(f"{READ}/hall", "900")
    c.wait_for(lux["state_topic"], "900")
    c.wait_for(light["state_topic"])
    broker.restart()  # no persistence: every retained message is lost
    wait_until(lambda: d.log().count("connected to") >= 2, timeout=30,
               what="the reconnect")
    ha = mqtt(light["state_topic"], lux["state_topic"], t["light"])
    wait_until(lambda: ha.received(light["state_topic"]) and ha.received(lux["state_topic"])
               and ha.received(t["light"]), timeout=30, what="configs and states again")
    assert render(light["value_template"], ha.received(light["state_topic"])[-1].payload) \
        == light["payload_off"]
    assert ha.received(lux["state_topic"])[-1].payload == "900"


def test_a_restart_keeps_the_entities_of_zones_without_section(setup, mqtt):
    d, c = setup()
    default, attic = topics_of(d, ""), topics_of(d, "attic")
    c.publish(READ, "100")
    c.publish(f"{READ}/attic", "100")
    config(c, default["mode"])
    config(c, attic["mode"])
    d.stop()
    mark = c.mark()
    d.start()
    # The sweep is due ~2 s after the connect; a reading for a new zone after that shows it
    # has run, and nothing of ours was cleared.
    wait_until(lambda: d.log().count("connected to") >= 2, what="the second connect")
    c.expect_none(pred=lambda m: m.topic.startswith(PREFIX + "/") and m.payload == "",
                  within=3.5, after=mark)
    late = mqtt(PREFIX + "/#")
    wait_until(lambda: all(late.received(topic) for topic in
                           list(default.values()) + list(attic.values())),
               what="every config, retained")


def test_a_silent_zone_is_forgotten_and_comes_back(setup):
    d, c = setup(ini={"homeassistant": {"forget_after": "3s"}})
    attic = topics_of(d, "attic")
    c.publish(f"{READ}/attic", "100")
    config(c, attic["mode"])
    c.wait_for(lux_topic(d, "attic"), "100")
    mark = c.mark()
    for topic in list(attic.values()) + [lux_topic(d, "attic")]:
        c.wait_for(topic, "", after=mark, timeout=15)
    d.wait_log(r"^notice: homeassistant: cleared the entities of attic_[0-9a-f]{8}, "
               r"without a reading for 3s$")
    # A zone of ref.txt is never forgotten.
    assert not c.received(topics_of(d, "hall")["light"], "")
    # Its next reading brings it back.
    mark = c.mark()
    c.publish(f"{READ}/attic", "120")
    config(c, attic["light"], after=mark)


def test_reload_clears_the_entities_of_a_removed_section(setup):
    d, c = setup(ref=REF + "[zone garage]\non_below = 50\n")
    garage = topics_of(d, "garage")
    config(c, garage["mode"])
    mark = c.mark()
    d.ref_path.write_text(REF)
    for topic in garage.values():
        c.wait_for(topic, "", after=mark)
    d.wait_log(r"^notice: homeassistant: cleared the entities of zone 'garage', gone from ")
    assert not c.received(topics_of(d, "hall")["light"], "", after=mark)


def test_in_a_cluster_only_the_owner_publishes_the_lux_state(daemon, mqtt, broker):
    from test_cluster import NAMES, Cluster, pick

    ini = {n: {"homeassistant": {"discovery": "true", "lux_interval": "1s"}} for n in NAMES}
    cl = Cluster(daemon, mqtt, broker, ini=ini)
    cl.start(*NAMES)
    zone = pick("lux", "b")
    topic = f"{PREFIX}/sensor/Pylight/{zone_id(zone)}_lux/state"
    c = mqtt(topic)
    for value in ("150", "250"):
        c.publish(f"{READ}/{zone}", value)
        c.wait_for(topic, value)
    cl.sync()  # every node has handled both readings
    assert [t for t in cl.published("b", PREFIX) if t == topic] == [topic, topic]
    for n in ("a", "c"):
        assert topic not in cl.published(n, PREFIX)
