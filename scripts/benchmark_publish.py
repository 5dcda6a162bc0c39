#!/usr/bin/env python3
"""Benchmark (not a test) of retinanetpublish against a local mosquitto that it starts on a free port:

1. messages/s sustained from 8 streams: 8 pipelines in one process, each `filesrc ! pnmdec ! imagefreeze !
   videoconvert ! retinanetdetect ! retinanetpublish method=mqtt` (QoS 1, topic bench/cam<k>) running as fast as
   they can, while a paho subscriber (QoS 1) counts what the broker delivers; the rate is delivered messages over
   the time from the first to the last, and the publishers' `published`/`dropped` counters are printed.
2. the element's added time per frame: one stream with and without retinanetpublish (same frames, same detector),
   alternating for several rounds; wall time and process CPU time (which includes the publisher's worker thread
   and libmosquitto) per frame, medians, and their difference.

The detector runs on the first frame only (interval larger than the run) and carries its detections to the
others (`stale`), so the frames carry realistic detections while the network's cost stays out of the figures.
Defaults use the build tree's test model and frame (tests/gst/make_test_model.py) with score-threshold 0.2
(about a dozen detections, messages of about 1.5 KB).

    /usr/bin/python3 scripts/benchmark_publish.py [--frames 2000] [--streams 8] [--rounds 5]
"""
import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "gst"))
from brokers import Mosquitto, wait_for  # noqa: E402

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def stream(index, frame, model, frames, publish):
    element = (f" ! retinanetpublish name=pub{index} method=mqtt address=127.0.0.1:{publish} source-id=cam{index} "
               f"topic=bench/{{source}} max-queued={frames}") if publish else ""
    return (f'filesrc location="{frame}" ! pnmdec ! imagefreeze num-buffers={frames} ! videoconvert ! '
            f'retinanetdetect model="{model}" model-instance-id=bench interval={frames + 1} score-threshold=0.2'
            f"{element} ! fakesink name=sink{index} sync=false")


def run_to_eos(pipeline, timeout=600):
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(timeout * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        raise RuntimeError(msg.parse_error()[0].message if msg else "timed out")


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def throughput(args, port):
    import paho.mqtt.client as mqtt
    state = {"count": 0, "first": None, "last": None, "bytes": 0}
    lock = threading.Lock()

    def on_message(client, userdata, msg):
        now = time.perf_counter()
        with lock:
            state["count"] += 1
            state["bytes"] += len(msg.payload)
            state["first"] = state["first"] or now
            state["last"] = now

    subscribed = threading.Event()
    sub = mqtt.Client(client_id="bench-sub", clean_session=True)
    sub.on_connect = lambda c, u, f, rc: c.subscribe("bench/#", qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    subscribed.wait(10)
    total = args.streams * args.frames
    pipeline = Gst.parse_launch(" ".join(stream(i, args.frame, args.model, args.frames, port)
                                         for i in range(args.streams)))
    pubs = [pipeline.get_by_name(f"pub{i}") for i in range(args.streams)]
    acked = []  # (time, messages the broker acknowledged so far), sampled while the streams run
    sampling = [True]

    def sample():
        while sampling[0]:
            acked.append((time.perf_counter(), sum(p.get_property("published") for p in pubs)))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    start = time.perf_counter()
    sampler.start()
    run_to_eos(pipeline)
    eos = time.perf_counter()
    sampling[0] = False
    sampler.join()
    acked.append((eos, sum(p.get_property("published") for p in pubs)))  # EOS waited for the last
    wait_for(lambda: state["count"] >= total, 60)
    published = sum(pipeline.get_by_name(f"pub{i}").get_property("published") for i in range(args.streams))
    dropped = sum(pipeline.get_by_name(f"pub{i}").get_property("dropped") for i in range(args.streams))
    pipeline.set_state(Gst.State.NULL)
    sub.loop_stop()
    sub.disconnect()
    span = state["last"] - state["first"]
    first = next(t for t, n in acked if n > 0)
    last = next(t for t, n in acked if n >= published)
    print(f"{args.streams} streams x {args.frames} frames: {published} acknowledged by the broker (QoS 1), "
          f"{dropped} dropped, {state['count']}/{total} delivered to a subscriber, "
          f"{state['bytes'] / max(state['count'], 1):.0f} B each")
    print(f"  acknowledged: {published / (last - first):.0f} messages/s (first to last acknowledgement, "
          f"{last - first:.2f} s); delivered: {state['count'] / span:.0f} messages/s ({span:.2f} s); "
          f"pipelines to EOS {eos - start:.2f} s (model load included)")


def overhead(args, port):
    rows = {False: [], True: []}
    for _ in range(args.rounds):
        for with_publish in (False, True):
            pipeline = Gst.parse_launch(stream(0, args.frame, args.model, args.frames, port if with_publish else 0))
            pipeline.set_state(Gst.State.PAUSED)  # model loaded and prerolled outside the timing
            pipeline.get_state(Gst.CLOCK_TIME_NONE)
            wall, cpu = time.perf_counter(), cpu_seconds()
            run_to_eos(pipeline)
            rows[with_publish].append(((time.perf_counter() - wall) / args.frames * 1e6,
                                       (cpu_seconds() - cpu) / args.frames * 1e6))
            pipeline.set_state(Gst.State.NULL)
    for name, index in (("wall", 0), ("CPU", 1)):
        bare = statistics.median(r[index] for r in rows[False])
        pub = statistics.median(r[index] for r in rows[True])
        print(f"per frame, {name} time: without {bare:.1f} us, with retinanetpublish {pub:.1f} us, "
              f"added {pub - bare:.1f} us (medians of {args.rounds} rounds of {args.frames} frames)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    build = os.path.join(ROOT, "build")
    parser.add_argument("--build", default=build)
    parser.add_argument("--model", default=os.path.join(build, "tests", "gst", "gst_test_model.safetensors"))
    parser.add_argument("--frame", default=os.path.join(build, "tests", "gst", "frame_317x239.ppm"))
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("GST_PLUGIN_PATH", os.path.join(args.build, "gst"))
    Gst.init(None)
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} cores")
    # No per-client queue limit at the broker: the subscriber may lag behind without the broker dropping.
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(tmp, conf="allow_anonymous true\nmax_queued_messages 0\n") as broker:
        throughput(args, broker.port)
        overhead(args, broker.port)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
