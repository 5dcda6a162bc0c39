#!/usr/bin/env python3
"""RTSP end to end: a real gst-rtsp-server on 127.0.0.1 (pipelines/rtsp_serve.py on a free port) serving x264enc's
encoding of a videotestsrc; `rtspsrc ! decodebin ! videoconvert ! retinanetdetect ! retinanetjson ! fakesink`
receives, detects and writes lines; stopping the server mid-stream ends the client with an error or EOS within a
timeout, never a hang. Also: the annotated stream re-served by rtsp_serve.py reaches a plain client."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(HERE, "..", "..", "pipelines", "rtsp_serve.py")
MODEL = os.environ["RETINANET_TEST_MODEL"]


def start_server(*args):
    """rtsp_serve.py on 127.0.0.1 and a free port; its URL."""
    proc = subprocess.Popen([sys.executable, SERVE, "test", "--address", "127.0.0.1", "--port", "0", *args],
                            stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("rtsp://"):
        proc.kill()
        raise RuntimeError("rtsp_serve.py did not start")
    return proc, url


def stop_server(proc):
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)
    proc.stdout.close()


def bus_text(msg):
    """What an ERROR or EOS message says, for an assertion's message (an EOS has no error to parse)."""
    if msg is None:
        return None
    if msg.type == Gst.MessageType.ERROR:
        err, debug = msg.parse_error()
        return f"error from {msg.src.get_name()}: {err.message} ({debug})"
    return f"{Gst.MessageType.get_name(msg.type)} from {msg.src.get_name()} before enough frames"


def count_lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


class Watchdog:
    """Ends the process if a state change hangs: a hang is the failure this test exists to catch."""

    def __init__(self, seconds, what):
        self.timer = threading.Timer(seconds, lambda: (print(f"HANG: {what}", flush=True), os._exit(3)))

    def __enter__(self):
        self.timer.start()

    def __exit__(self, *exc):
        self.timer.cancel()


class RtspTest(unittest.TestCase):
    def receive_then_lose_server(self, protocols):
        server, url = start_server("--plain")
        with tempfile.TemporaryDirectory() as tmp:
            json_path = os.path.join(tmp, "rtsp.jsonl")
            pipeline = Gst.parse_launch(
                f"rtspsrc location={url} latency=100 protocols={protocols} timeout=3000000 ! decodebin ! videoconvert ! "
                f"retinanetdetect model={MODEL} ! retinanetjson location={json_path} ! fakesink sync=false")
            bus = pipeline.get_bus()
            try:
                pipeline.set_state(Gst.State.PLAYING)
                deadline = time.monotonic() + 90
                while count_lines(json_path) < 5 and time.monotonic() < deadline:
                    msg = bus.timed_pop_filtered(200 * Gst.MSECOND, Gst.MessageType.ERROR | Gst.MessageType.EOS)
                    self.assertIsNone(msg, bus_text(msg))
                self.assertGreaterEqual(count_lines(json_path), 5, "frames detected before the server stops")

                stop_server(server)
                msg = bus.timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.ERROR | Gst.MessageType.EOS)
                self.assertIsNotNone(msg, "no error or EOS within 60 s of the server stopping")
                with Watchdog(30, "setting the pipeline to NULL"):
                    pipeline.set_state(Gst.State.NULL)
            finally:
                stop_server(server)
                pipeline.set_state(Gst.State.NULL)
            with open(json_path) as f:
                lines = [json.loads(line) for line in f]
            for i, line in enumerate(lines):
                self.assertEqual(line["frame"], i)
                self.assertEqual((line["width"], line["height"]), (640, 480))
                self.assertIsInstance(line["detections"], list)

    def test_tcp_server_stopped_mid_stream(self):
        self.receive_then_lose_server("tcp")

    def test_udp_server_stopped_mid_stream(self):
        self.receive_then_lose_server("udp")

    def test_annotated_stream_served_again(self):
        server, url = start_server("--model", MODEL)
        try:
            pipeline = Gst.parse_launch(f"rtspsrc location={url} protocols=tcp ! decodebin ! videoconvert ! "
                                        "fakesink name=sink sync=false signal-handoffs=true")
            frames = []
            pipeline.get_by_name("sink").connect("handoff", lambda *args: frames.append(1))
            pipeline.set_state(Gst.State.PLAYING)
            deadline = time.monotonic() + 90
            bus = pipeline.get_bus()
            while len(frames) < 3 and time.monotonic() < deadline:
                msg = bus.timed_pop_filtered(200 * Gst.MSECOND, Gst.MessageType.ERROR | Gst.MessageType.EOS)
                self.assertIsNone(msg, bus_text(msg))
            self.assertGreaterEqual(len(frames), 3)
            with Watchdog(30, "setting the pipeline to NULL"):
                pipeline.set_state(Gst.State.NULL)
        finally:
            stop_server(server)


if __name__ == "__main__":
    Gst.init(None)
    unittest.main(verbosity=2)
