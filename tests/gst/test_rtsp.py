#!/usr/bin/env python3
"""RTSP end to end: a real gst-rtsp-server on 127.0.0.1 (pipelines/rtsp_serve.py on a free port) serving x264enc's
encoding of a videotestsrc; `rtspsrc ! decodebin ! videoconvert ! retinanetdetect ! retinanetjson ! fakesink`
receives, detects and writes lines; stopping the server mid-stream ends the client with an error or EOS within a
timeout, never a hang. Also: the annotated stream re-served by rtsp_serve.py reaches a plain client."""
import atexit
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(HERE, "..", "..", "pipelines", "rtsp_serve.py")
MODEL = os.environ["RETINANET_TEST_MODEL"]


def _die_with_parent():
    """In the server's process: SIGTERM when the test process ends, however it ends (os._exit, a signal)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


SERVERS = set()  # running servers: stopped at exit and by the watchdog, so that none outlives the tests


def start_server(*args, port=0):
    """rtsp_serve.py on 127.0.0.1 and a free port (or `port`); its URL."""
    proc = subprocess.Popen([sys.executable, SERVE, "test", "--address", "127.0.0.1", "--port", str(port), *args],
                            stdout=subprocess.PIPE, text=True, preexec_fn=_die_with_parent)
    SERVERS.add(proc)
    url = proc.stdout.readline().strip()
    if not url.startswith("rtsp://"):
        stop_server(proc)
        raise RuntimeError("rtsp_serve.py did not start")
    return proc, url


def stop_server(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()
    SERVERS.discard(proc)


def stop_all_servers():
    for proc in list(SERVERS):
        stop_server(proc)


atexit.register(stop_all_servers)


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
        self.timer = threading.Timer(seconds, lambda: self.fire(what))

    @staticmethod
    def fire(what):
        print(f"HANG: {what}", flush=True)
        for proc in list(SERVERS):  # os._exit runs no atexit handler
            proc.kill()
        os._exit(3)

    def __enter__(self):
        self.timer.start()

    def __exit__(self, *exc):
        self.timer.cancel()


class RtspTest(unittest.TestCase):
    def receive_then_lose_server(self, protocols):
        server, url = start_server("--plain")
        pipeline = None
        with tempfile.TemporaryDirectory() as tmp:
            json_path = os.path.join(tmp, "rtsp.jsonl")
            try:
                pipeline = Gst.parse_launch(
                    f"rtspsrc location={url} latency=100 protocols={protocols} timeout=3000000 ! decodebin ! "
                    f"videoconvert ! retinanetdetect model={MODEL} ! retinanetjson location={json_path} ! "
                    "fakesink sync=false")
                bus = pipeline.get_bus()
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
                if pipeline:
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

    def test_no_server_outlives_a_failing_test(self):
        """A pipeline that does not parse, and the watchdog's os._exit, leave no rtsp_serve.py behind (they did,
        and meson test then waited minutes for the servers' open pipes)."""
        child = textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {HERE!r})
            import test_rtsp
            from gi.repository import Gst
            Gst.init(None)
            server, url = test_rtsp.start_server("--plain")
            print(server.pid, flush=True)
            if sys.argv[1] == "parse":
                Gst.parse_launch("no_such_element_here")
            with test_rtsp.Watchdog(0.5, "a hang, on purpose"):
                time.sleep(30)
        """)
        for how in ("parse", "watchdog"):
            out = subprocess.run([sys.executable, "-c", child, how], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(out.returncode, 0, how)
            pid = int(out.stdout.split()[0])
            deadline = time.monotonic() + 10
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertFalse(process_alive(pid), f"rtsp_serve.py (pid {pid}) outlived the test ({how})")


def process_alive(pid):
    """True while `pid` runs (a zombie, dead but not yet reaped by init, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


if __name__ == "__main__":
    Gst.init(None)
    unittest.main(verbosity=2)
