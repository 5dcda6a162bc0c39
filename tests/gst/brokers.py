"""Real brokers for the publishing tests and the benchmark, started and stopped by them: mosquitto on 127.0.0.1 on
a free port (killed and restarted at will), librdkafka's mock Kafka cluster (tests/publish/kafka_mock_cluster.cpp,
its brokers taken down and up at will), and clients that read back what arrives (paho for MQTT, confluent-kafka,
on librdkafka, for Kafka)."""
import getpass
import json
import os
import socket
import subprocess
import threading
import time

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """A mosquitto broker of our own on 127.0.0.1:port; `conf` adds lines to its configuration."""

    def __init__(self, directory, port=None, conf=""):
        self.port = port or free_port()
        self.conf_path = os.path.join(directory, f"mosquitto-{self.port}.conf")
        self.log_path = os.path.join(directory, f"mosquitto-{self.port}.log")
        with open(self.conf_path, "w") as f:
            # Started as root, mosquitto would become the `mosquitto` user, who cannot read the test's files.
            f.write(f"listener {self.port} 127.0.0.1\npersistence false\nuser {getpass.getuser()}\n")
            f.write(conf if conf else "allow_anonymous true\n")
        self.proc = None

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf_path], stdout=log, stderr=log)
        log.close()
        if not wait_for(lambda: accepts(self.port) or self.proc.poll() is not None, 10) or self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto did not start: {open(self.log_path).read()}")
        return self

    def kill(self):
        """SIGKILL: the broker vanishes without a word, as a crashed one does."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class MqttSubscriber:
    """A paho client subscribed (QoS 1) to `topic`, re-subscribing after every reconnection; `messages` holds
    (topic, parsed payload) in arrival order, `raw` the payload bytes."""

    def __init__(self, port, topic, tls_ca=None, port_tls=None):
        import paho.mqtt.client as mqtt
        self.topic = topic
        self.messages, self.raw = [], []
        self.subscriptions = 0
        self.lock = threading.Lock()
        self.client = mqtt.Client(client_id=f"test-sub-{os.getpid()}-{port}-{id(self)}", clean_session=True)
        if tls_ca:
            self.client.tls_set(ca_certs=tls_ca)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = lambda c, u, f, rc: rc == 0 and c.subscribe(topic, qos=1)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port, keepalive=5)
        self.client.loop_start()

    def _on_subscribe(self, *args):
        with self.lock:
            self.subscriptions += 1

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.raw.append(msg.payload)
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def wait_subscribed(self, count=1, timeout=10):
        return wait_for(lambda: self.subscriptions >= count, timeout)

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class KafkaMockCluster:
    """librdkafka's mock cluster in a process of its own (tests/publish/kafka_mock_cluster.cpp)."""

    def __init__(self, program, topics=(("retinanet", 4),), brokers=1):
        args = [program, "--brokers", str(brokers)]
        for name, partitions in topics:
            args += ["--topic", f"{name}:{partitions}"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "bootstrap":
            raise RuntimeError("the Kafka mock cluster did not start")
        self.bootstrap = line[1]

    def command(self, word):
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(f"mock cluster: {word}: {answer}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read_all(self, topic, partitions, expected=None, timeout=10, quiet=1.0):
        """Every message of `topic` from the beginning, by a librdkafka consumer (confluent-kafka):
        [(partition, offset, key, parsed value)], until `expected` arrived or none came for `quiet` s."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"test-{os.getpid()}",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "log_level": 0})
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        found, deadline, last = [], time.monotonic() + timeout, time.monotonic()
        try:
            while time.monotonic() < deadline:
                msg = consumer.poll(0.1)
                if msg is None or msg.error():
                    if found and time.monotonic() - last > quiet and expected is None:
                        break
                    continue
                last = time.monotonic()
                found.append((msg.partition(), msg.offset(), msg.key().decode() if msg.key() else None,
                              json.loads(msg.value())))
                if expected is not None and len(found) >= expected:
                    break
        finally:
            consumer.close()
        return found
