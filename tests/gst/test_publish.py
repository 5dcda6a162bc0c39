#!/usr/bin/env python3
"""retinanetpublish against real brokers, started and stopped here: mosquitto on 127.0.0.1 on a free port, and
librdkafka's mock Kafka cluster read back by a librdkafka consumer. Every message is validated against
schema/frame.schema.json. Cases: every frame's message arrives once (MQTT QoS 1, Kafka acks=all) and equals the
JSON line retinanetjson writes for it; the broker killed mid-stream and restarted (the pipeline runs on, later
frames arrive); the broker absent at start; never reachable (the EOS flush is bounded); addresses that can never
work refused at start; username/password and TLS; Kafka's key per source keeps each camera in one partition, in
order; the example consumer's per-camera counts."""
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE)
from brokers import KafkaMockCluster, Mosquitto, MqttSubscriber, free_port, wait_for  # noqa: E402

MODEL = os.environ["RETINANET_TEST_MODEL"]
FRAME = os.path.join(os.environ["RETINANET_TEST_FRAMES"], "frame_317x239.ppm")
KAFKA_MOCK = os.environ["KAFKA_MOCK_CLUSTER"]
CONSUMER = os.path.join(ROOT, "pipelines", "detections_consumer.py")
with open(os.path.join(ROOT, "schema", "frame.schema.json")) as f:
    VALIDATOR = jsonschema.Draft202012Validator(json.load(f))


def frames(count, live=False, fps=20):
    """The test frame, repeated (`live`: at `fps` in real time), through the detector (interval=2: every other
    frame carries the one before's detections, stale)."""
    return (f'filesrc location="{FRAME}" ! pnmdec ! imagefreeze num-buffers={count} is-live={str(live).lower()} ! '
            f'video/x-raw,framerate={fps}/1 ! videoconvert ! retinanetdetect model="{MODEL}" interval=2')


def gst_launch(description, timeout=60):
    return subprocess.run(["gst-launch-1.0"] + shlex.split(description), capture_output=True, text=True,
                          timeout=timeout)


def gst_launch_background(description):
    return subprocess.Popen(["gst-launch-1.0"] + shlex.split(description), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def read_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except FileNotFoundError:
        return []


class PublishTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def assert_valid(self, messages):
        for m in messages:
            errors = list(VALIDATOR.iter_errors(m))
            self.assertFalse(errors, f"{m}: {[e.message for e in errors]}")

    def finish(self, proc, timeout=60):
        out, _ = proc.communicate(timeout=timeout)
        self.assertEqual(proc.returncode, 0, out)
        return out


class MqttTest(PublishTestCase):
    def test_every_frame_arrives_once_and_equals_the_json_line(self):
        with Mosquitto(self.dir) as broker:
            for qos in (1, 0, 2):
                with self.subTest(qos=qos):
                    sub = MqttSubscriber(broker.port, "cams/#")
                    self.assertTrue(sub.wait_subscribed())
                    lines_path = os.path.join(self.dir, f"lines{qos}.jsonl")
                    out = gst_launch(f"{frames(20)} ! retinanetpublish method=mqtt address=127.0.0.1:{broker.port} "
                                     f"mqtt-qos={qos} source-id=cam1 topic=cams/{{source}}/detections ! "
                                     f"retinanetjson source-id=cam1 location={lines_path} ! fakesink")
                    self.assertEqual(out.returncode, 0, out.stderr)
                    self.assertNotIn("WARNING", out.stdout + out.stderr)
                    lines = read_lines(lines_path)
                    self.assertEqual(len(lines), 20)
                    # EOS waited for the broker's acknowledgements; the subscriber's copies follow within moments.
                    self.assertTrue(wait_for(lambda: len(sub.snapshot()) >= 20, 5))
                    time.sleep(0.2)
                    got = sub.snapshot()
                    sub.close()
                    self.assertEqual({t for t, _ in got}, {"cams/cam1/detections"})
                    self.assertEqual([m for _, m in got], lines, "once each, in order, equal to the JSON lines")
                    self.assertTrue(any(m["detections"] for m in lines))
                    self.assertEqual([m["stale"] for m in lines[:4]], [False, True, False, True])
                    self.assert_valid([m for _, m in got])

    def test_broker_killed_mid_stream_and_restarted(self):
        broker = Mosquitto(self.dir).start()
        sub = MqttSubscriber(broker.port, "retinanet/#")
        try:
            self.assertTrue(sub.wait_subscribed())
            lines_path = os.path.join(self.dir, "lines.jsonl")
            proc = gst_launch_background(
                f"{frames(100, live=True)} ! retinanetpublish method=mqtt address=127.0.0.1:{broker.port} "
                f"source-id=cam2 mqtt-keep-alive=5 ! retinanetjson source-id=cam2 location={lines_path} ! fakesink")
            self.assertTrue(wait_for(lambda: len(sub.snapshot()) >= 15, 20), "messages before the kill")
            broker.kill()
            before = {m["frame"] for _, m in sub.snapshot()}
            time.sleep(1.0)
            broker.start()
            self.assertTrue(sub.wait_subscribed(2), "the subscriber is back")
            restart_frame = len(read_lines(lines_path))  # frames after this one are made after the restart
            self.assertLess(restart_frame, 95, "the restart came before the end of the stream")
            out = self.finish(proc)
            time.sleep(0.3)
            got = [m for _, m in sub.snapshot()]
            lines = read_lines(lines_path)
            self.assertEqual(len(lines), 100, "the pipeline ran on through the outage")
            self.assertEqual(before, set(range(max(before) + 1)), "every frame before the kill arrived")
            arrived = {m["frame"] for m in got}
            after = set(range(restart_frame + 1, 100))
            self.assertTrue(after <= arrived, f"missing after the restart: {sorted(after - arrived)}")
            by_frame = {m["frame"]: m for m in got}
            for line in lines:
                if line["frame"] in by_frame:
                    self.assertEqual(by_frame[line["frame"]], line)
            self.assertIn("Lost the connection to the broker", out)
            self.assertIn("connected again to mqtt://127.0.0.1", out)
            self.assert_valid(got)
        finally:
            sub.close()
            broker.stop()

    def test_broker_absent_at_start(self):
        port = free_port()
        lines_path = os.path.join(self.dir, "lines.jsonl")
        proc = gst_launch_background(
            f"{frames(60, live=True)} ! retinanetpublish method=mqtt address=127.0.0.1:{port} source-id=cam3 "
            f"max-queued=10 ! retinanetjson source-id=cam3 location={lines_path} ! fakesink")
        self.assertTrue(wait_for(lambda: len(read_lines(lines_path)) >= 25, 20), "frames flow without a broker")
        broker = Mosquitto(self.dir, port=port).start()
        sub = MqttSubscriber(port, "retinanet/cam3")
        try:
            self.assertTrue(sub.wait_subscribed())
            self.assertLess(len(read_lines(lines_path)), 55)
            out = self.finish(proc)
            time.sleep(0.3)
            got = [m for _, m in sub.snapshot()]
            arrived = {m["frame"] for m in got}
            # Once connected, the element sends the newest 10 it kept, then every frame: a tail without a gap.
            self.assertTrue(arrived, out)
            self.assertEqual(arrived, set(range(min(arrived), 60)), out)
            self.assertGreater(min(arrived), 0, "the oldest were dropped")
            self.assertIn("Could not reach the broker (mqtt://127.0.0.1:%d" % port, out)
            self.assertIn("Connection refused", out)
            # 25 frames or more passed before the broker came; the queue kept the newest 10.
            dropped = int(out.split("connected again to")[1].split(";")[1].split()[0])
            self.assertGreaterEqual(dropped, 15, out)
            self.assert_valid(got)
        finally:
            sub.close()
            broker.stop()

    def test_never_reachable_the_eos_flush_is_bounded(self):
        start = time.monotonic()
        out = gst_launch(f"{frames(20)} ! retinanetpublish method=mqtt address=127.0.0.1:{free_port()} "
                         "max-queued=5 flush-timeout=300 ! fakesink")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertLess(time.monotonic() - start, 20)
        self.assertIn("5 message(s) were not acknowledged by the broker", out.stdout)

    def test_addresses_that_can_never_work_are_refused_at_start(self):
        cases = {
            "address=\"bad host:1883\"": '"bad host" is not a valid host name',
            "address=127.0.0.1:99999": 'port "99999" is not a number from 1 to 65535',
            "address=::1:1883": "an IPv6 address goes in brackets",
            "address=mqtt://127.0.0.1:1883": "has a scheme",
            "address=,": "an empty entry",
            "topic=cams/+/x": "cannot be published to",
            "topic=cams/{camera}": "unknown placeholder {camera}",
            "tls-ca-file=/no/such/ca.pem": "/no/such/ca.pem",
            "method=kafka topic=a/b": "is not a legal topic name",
            "method=kafka kafka-acks=2": "expected all, 1 or 0",
            "method=kafka kafka-config=no.such=1": "No such configuration property",
            "method=file file-path=/no/such/dir/x.jsonl": "/no/such/dir/x.jsonl",
        }
        for properties, expected in cases.items():
            with self.subTest(properties=properties):
                out = gst_launch(f"videotestsrc num-buffers=1 ! retinanetpublish {properties} ! fakesink", 30)
                self.assertNotEqual(out.returncode, 0)
                text = out.stdout + out.stderr
                self.assertIn("Cannot publish with method", text)
                self.assertIn(expected, text)
        out = gst_launch("videotestsrc num-buffers=1 ! retinanetpublish method=amqp ! fakesink", 30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("method", out.stdout + out.stderr)

    def test_username_and_password(self):
        passwords = os.path.join(self.dir, "passwords")
        subprocess.run(["mosquitto_passwd", "-b", "-c", passwords, "camera", "s3cret"], check=True)
        conf = f"allow_anonymous false\npassword_file {passwords}\n"
        with Mosquitto(self.dir, conf=conf) as broker:
            out = gst_launch(f"{frames(5)} ! retinanetpublish method=mqtt address=127.0.0.1:{broker.port} "
                             "username=camera password=wrong flush-timeout=500 ! fakesink")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("the broker refused the connection", out.stdout)
            self.assertIn("5 message(s) were not acknowledged", out.stdout)
            # The subscriber needs credentials too (the broker refuses anonymous clients).
            import paho.mqtt.client as mqtt
            got = []
            client = mqtt.Client(client_id="test-auth-sub")
            client.username_pw_set("camera", "s3cret")
            client.on_connect = lambda c, u, f, rc: c.subscribe("retinanet/#", qos=1)
            client.on_message = lambda c, u, m: got.append(json.loads(m.payload))
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            try:
                time.sleep(0.5)
                out = gst_launch(f"{frames(5)} ! retinanetpublish method=mqtt address=127.0.0.1:{broker.port} "
                                 "username=camera password=s3cret ! fakesink")
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertNotIn("WARNING", out.stdout)
                self.assertTrue(wait_for(lambda: len(got) >= 5, 5))
                self.assertEqual([m["frame"] for m in got], list(range(5)))
                self.assertEqual(got[0]["source"], "retinanetpublish0", "source-id defaults to the element's name")
            finally:
                client.loop_stop()
                client.disconnect()

    def test_tls(self):
        ca_key, ca, key, csr, cert = (os.path.join(self.dir, n) for n in ("ca.key", "ca.pem", "s.key", "s.csr", "s.pem"))
        ext = os.path.join(self.dir, "san.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        quiet = {"capture_output": True, "check": True}
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=test-ca", "-keyout", ca_key, "-out", ca], **quiet)
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key,
                        "-out", csr], **quiet)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                        "-days", "2", "-extfile", ext, "-out", cert], **quiet)
        conf = f"allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
        with Mosquitto(self.dir, conf=conf) as broker:
            sub = MqttSubscriber(broker.port, "retinanet/#", tls_ca=ca)
            try:
                self.assertTrue(sub.wait_subscribed())
                out = gst_launch(f"{frames(5)} ! retinanetpublish method=mqtt address=127.0.0.1:{broker.port} "
                                 f"tls-ca-file={ca} source-id=tls ! fakesink")
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertNotIn("WARNING", out.stdout)
                self.assertTrue(wait_for(lambda: len(sub.snapshot()) >= 5, 5))
                self.assertEqual([m["frame"] for _, m in sub.snapshot()], list(range(5)))
            finally:
                sub.close()
            # Without the CA the broker's certificate is not trusted: nothing is delivered, the pipeline ends.
            other_ca = os.path.join(self.dir, "other.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                            "/CN=other", "-keyout", os.path.join(self.dir, "o.key"), "-out", other_ca], **quiet)
            out = gst_launch(f"{frames(3)} ! retinanetpublish method=mqtt address=127.0.0.1:{broker.port} "
                             f"tls-ca-file={other_ca} flush-timeout=500 ! fakesink")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("3 message(s) were not acknowledged", out.stdout)


class KafkaTest(PublishTestCase):
    def test_every_frame_arrives_once_keyed_by_source_in_order(self):
        with KafkaMockCluster(KAFKA_MOCK) as cluster:
            paths = {s: os.path.join(self.dir, f"{s}.jsonl") for s in ("door", "yard")}
            out = gst_launch(
                f"{frames(20)} ! tee name=t "
                + " ".join(f"t. ! queue ! retinanetpublish method=kafka address={cluster.bootstrap} source-id={s} "
                           f"kafka-compression=lz4 ! retinanetjson source-id={s} location={p} ! fakesink"
                           for s, p in paths.items()))
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertNotIn("WARNING", out.stdout)
            got = cluster.read_all("retinanet", 4, expected=40)
            self.assertEqual(len(got), 40)
            self.assert_valid([m for _, _, _, m in got])
            for source, path in paths.items():
                mine = [(p, o, m) for p, o, k, m in got if k == source]
                self.assertEqual({p for p, _, _ in mine}.__len__(), 1, "one source, one partition")
                mine.sort(key=lambda x: x[1])
                self.assertEqual([m for _, _, m in mine], read_lines(path), "once each, in order, the JSON lines")
                self.assertTrue(all(m["source"] == source for _, _, m in mine))

    def test_brokers_down_mid_stream_and_back(self):
        with KafkaMockCluster(KAFKA_MOCK) as cluster:
            lines_path = os.path.join(self.dir, "lines.jsonl")
            proc = gst_launch_background(
                f"{frames(80, live=True)} ! retinanetpublish method=kafka address={cluster.bootstrap} "
                f"source-id=cam4 ! retinanetjson source-id=cam4 location={lines_path} ! fakesink")
            self.assertTrue(wait_for(lambda: len(read_lines(lines_path)) >= 15, 20))
            cluster.command("down")
            time.sleep(1.5)
            cluster.command("up")
            self.assertLess(len(read_lines(lines_path)), 78)
            out = self.finish(proc)
            got = cluster.read_all("retinanet", 4, expected=80, timeout=15)
            frames_seen = {m["frame"] for _, _, _, m in got}
            self.assertEqual(frames_seen, set(range(80)), "a big enough queue loses nothing to the outage")
            self.assertEqual(len(read_lines(lines_path)), 80)
            self.assertIn("Lost the connection to the broker (kafka://", out)
            self.assertIn("connected again to kafka://", out)
            self.assert_valid([m for _, _, _, m in got])

    def test_brokers_absent_at_start(self):
        with KafkaMockCluster(KAFKA_MOCK) as cluster:
            cluster.command("down")
            lines_path = os.path.join(self.dir, "lines.jsonl")
            proc = gst_launch_background(
                f"{frames(40, live=True)} ! retinanetpublish method=kafka address={cluster.bootstrap} "
                f"source-id=cam5 ! retinanetjson location={lines_path} ! fakesink")
            self.assertTrue(wait_for(lambda: len(read_lines(lines_path)) >= 15, 20), "frames flow without brokers")
            cluster.command("up")
            out = self.finish(proc)
            got = cluster.read_all("retinanet", 4, expected=40, timeout=15)
            self.assertEqual({m["frame"] for _, _, _, m in got}, set(range(40)))
            self.assertIn("Could not reach the broker (kafka://", out)


class ConsumerTest(PublishTestCase):
    def test_counts_per_camera_per_class_per_second(self):
        with Mosquitto(self.dir) as broker:
            consumer = subprocess.Popen([sys.executable, CONSUMER, "--mqtt", f"127.0.0.1:{broker.port}",
                                         "--topic", "retinanet/+", "--messages", "40", "--seconds", "60"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertIn("subscribed", consumer.stderr.readline())
            runs = [gst_launch_background(f"{frames(20)} ! retinanetpublish method=mqtt "
                                          f"address=127.0.0.1:{broker.port} source-id={cam} ! retinanetjson "
                                          f"source-id={cam} location={self.dir}/{cam}.jsonl ! fakesink")
                    for cam in ("cam1", "cam2")]
            for run in runs:
                self.finish(run)
            out, err = consumer.communicate(timeout=30)
            self.assertEqual(consumer.returncode, 0, err)
            rows = [json.loads(line) for line in out.splitlines()]
            self.assertTrue(rows, err)
            for cam in ("cam1", "cam2"):
                lines = read_lines(f"{self.dir}/{cam}.jsonl")
                expected = {}
                for line in lines:
                    for d in line["detections"]:
                        expected[d["name"]] = expected.get(d["name"], 0) + 1
                mine = [r for r in rows if r["source"] == cam]
                self.assertEqual(sum(r["frames"] for r in mine), 20)
                totals = {}
                for r in mine:
                    for name, n in r["counts"].items():
                        totals[name] = totals.get(name, 0) + n
                self.assertEqual(totals, expected)


if __name__ == "__main__":
    unittest.main(verbosity=2)
