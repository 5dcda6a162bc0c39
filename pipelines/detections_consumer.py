#!/usr/bin/env python3
"""An example consumer of what retinanetpublish sends: subscribes to several cameras' messages and prints, once a
second, one JSON line per camera with the frames received in that second and the detections per class:

    pipelines/detections_consumer.py --mqtt broker:1883 --topic 'retinanet/+'        # every camera's topic
    pipelines/detections_consumer.py --kafka k1:9092,k2:9092 --topic retinanet       # one topic, keyed by camera

    {"second": 1718000000, "source": "cam1", "frames": 20, "counts": {"circle": 31, "square": 12}}

`source` is each message's "source" (the publishing element's source-id), so cameras are told apart whatever the
topic layout. Messages are checked against schema/frame.schema.json when python3-jsonschema is installed
(--no-validate skips it); one that does not match is reported on stderr and not counted. --seconds N stops
after N seconds, --messages N after N messages (printing the last, partial, second). MQTT needs python3-paho-mqtt, Kafka python3-confluent-kafka.
"""
import argparse
import json
import os
import queue
import sys
import threading
import time

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema", "frame.schema.json")


def mqtt_source(address, topics, messages):
    import paho.mqtt.client as mqtt
    host, _, port = address.rpartition(":")
    client = mqtt.Client(client_id=f"detections-consumer-{os.getpid()}", clean_session=True)
    client.on_connect = lambda c, u, f, rc: [c.subscribe(t, qos=1) for t in topics]
    client.on_subscribe = lambda *a: print(f"detections_consumer: subscribed to {' '.join(topics)}", file=sys.stderr,
                                           flush=True)
    client.on_message = lambda c, u, m: messages.put(m.payload)
    client.connect_async(host or "127.0.0.1", int(port or 1883))
    client.loop_start()
    return client.loop_stop


def kafka_source(address, topics, messages):
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": address, "group.id": f"detections-consumer-{os.getpid()}",
                         "auto.offset.reset": "latest", "enable.auto.commit": False})
    consumer.subscribe(topics, on_assign=lambda c, p: print(f"detections_consumer: subscribed to {' '.join(topics)}",
                                                            file=sys.stderr, flush=True))
    running = [True]

    def loop():
        while running[0]:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                messages.put(msg.value())
        consumer.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return lambda: (running.__setitem__(0, False), thread.join())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    broker = parser.add_mutually_exclusive_group(required=True)
    broker.add_argument("--mqtt", metavar="HOST:PORT")
    broker.add_argument("--kafka", metavar="HOST:PORT[,...]")
    parser.add_argument("--topic", action="append", required=True, help="repeat for several (MQTT wildcards work)")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    parser.add_argument("--messages", type=int, default=0, help="stop after this many messages (0: never)")
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args()

    validator = None
    if not args.no_validate:
        try:
            import jsonschema
            with open(SCHEMA) as f:
                validator = jsonschema.Draft202012Validator(json.load(f))
        except ImportError:
            pass

    messages = queue.Queue()
    stop = (mqtt_source(args.mqtt, args.topic, messages) if args.mqtt
            else kafka_source(args.kafka, args.topic, messages))
    end = time.monotonic() + args.seconds if args.seconds else None
    second, per_source, received = int(time.time()), {}, 0

    def report():
        for source in sorted(per_source):
            frames, counts = per_source[source]
            print(json.dumps({"second": second, "source": source, "frames": frames, "counts": dict(sorted(counts.items()))}),
                  flush=True)
        per_source.clear()

    try:
        while (end is None or time.monotonic() < end) and (not args.messages or received < args.messages):
            try:
                payload = messages.get(timeout=0.1)
            except queue.Empty:
                payload = None
            now = int(time.time())
            if now != second:
                report()
                second = now
            if payload is None:
                continue
            try:
                frame = json.loads(payload)
                if validator:
                    validator.validate(frame)
            except Exception as e:  # noqa: BLE001 (a consumer reports a bad message and goes on)
                print(f"detections_consumer: skipped a message: {e}", file=sys.stderr)
                continue
            received += 1
            frames, counts = per_source.setdefault(frame["source"], [0, {}])
            per_source[frame["source"]][0] = frames + 1
            for d in frame["detections"]:
                counts[d["name"]] = counts.get(d["name"], 0) + 1
    except KeyboardInterrupt:
        pass
    finally:
        report()
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
