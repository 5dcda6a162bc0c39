#!/usr/bin/env python3
"""retinanetcamerasrc against a real gst-rtsp-server (pipelines/rtsp_serve.py) that is killed, frozen and restarted
on the same port: the pipeline stays up (no EOS, no ERROR), a WARNING says the camera is lost, frames come again
after the restart with a DISCONT buffer and a `retinanetcamerasrc-reconnected` message; with reconnect-attempts
exhausted, one ERROR naming the camera."""
import json
import os
import signal
import socket
import sys
import tempfile
import time
import unittest

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_rtsp import Watchdog, count_lines, start_server, stop_server  # noqa: E402

MODEL = os.environ["RETINANET_TEST_MODEL"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """retinanetcamerasrc ! videoconvert ! retinanetdetect ! retinanetjson ! fakesink, with its bus read as it goes."""

    def __init__(self, url, json_path, extra=""):
        self.pipeline = Gst.parse_launch(
            f"retinanetcamerasrc name=cam location={url} timeout=5000 reconnect-interval=300 {extra} ! "
            f"videoconvert ! retinanetdetect model={MODEL} ! retinanetjson location={json_path} ! "
            "fakesink name=sink sync=false signal-handoffs=true")
        self.json_path = json_path
        self.frames = 0
        self.discont_at = []
        self.pipeline.get_by_name("sink").connect("handoff", self.on_buffer)
        self.bus = self.pipeline.get_bus()
        self.warnings, self.reconnected, self.errors, self.eos = [], [], [], 0

    def on_buffer(self, sink, buffer, pad):
        self.frames += 1
        if buffer.has_flags(Gst.BufferFlags.DISCONT):
            self.discont_at.append(self.frames)

    def poll(self, seconds, until):
        """Reads the bus until `until()` holds or `seconds` pass; True if it held."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if until():
                return True
            msg = self.bus.timed_pop(100 * Gst.MSECOND)
            if msg is None:
                continue
            if msg.type == Gst.MessageType.WARNING:
                self.warnings.append(msg.parse_warning()[0].message)
            elif msg.type == Gst.MessageType.ERROR:
                self.errors.append(msg.parse_error()[0].message)
            elif msg.type == Gst.MessageType.EOS:
                self.eos += 1
            elif msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == "retinanetcamerasrc-reconnected":
                self.reconnected.append(msg.get_structure().get_value("attempts"))
        return until()

    def stop(self):
        with Watchdog(30, "setting the camera pipeline to NULL"):
            self.pipeline.set_state(Gst.State.NULL)


class CameraSrcTest(unittest.TestCase):
    def lose_and_get_back(self, lose, get_back):
        port = free_port()
        server, url = start_server("--plain", port=port)
        client = None
        try:
            with tempfile.TemporaryDirectory() as tmp:
                json_path = os.path.join(tmp, "camera.jsonl")
                client = Client(url, json_path)
                client.pipeline.set_state(Gst.State.PLAYING)
                self.assertTrue(client.poll(90, lambda: count_lines(json_path) >= 30 or client.errors or client.eos),
                                "frames before the camera is lost")
                self.assertEqual((client.errors, client.eos), ([], 0))
                self.assertGreaterEqual(count_lines(json_path), 30)

                server = lose(server)
                # rtspsrc may warn first ("Could not read from resource"); ours names the camera.
                ours = lambda: [w for w in client.warnings if w.startswith(f"Camera {url} lost")]  # noqa: E731
                self.assertTrue(client.poll(30, ours), f"a WARNING when the camera is lost ({client.warnings})")
                before = client.frames
                time.sleep(1)
                client.poll(1, lambda: False)

                server = get_back(server, port)
                self.assertTrue(client.poll(90, lambda: client.reconnected and client.frames >= before + 5),
                                f"frames again after the camera is back (warnings: {client.warnings})")
                self.assertEqual(client.errors, [], "the pipeline stays up")
                self.assertEqual(client.eos, 0, "downstream sees no EOS")
                self.assertTrue(any(n > before for n in client.discont_at),
                                f"a DISCONT buffer after the gap (at {client.discont_at}, gap after {before})")
                client.stop()
                with open(json_path) as f:
                    lines = [json.loads(line) for line in f]
                self.assertEqual([line["frame"] for line in lines], list(range(len(lines))))
        finally:
            if client:
                client.pipeline.set_state(Gst.State.NULL)
            stop_server(server)

    def test_killed_and_restarted_on_the_same_port(self):
        def kill(server):
            server.send_signal(signal.SIGKILL)
            server.wait()
            stop_server(server)
            return server

        def restart(server, port):
            return start_server("--plain", port=port)[0]

        self.lose_and_get_back(kill, restart)

    def test_frozen_then_thawed(self):
        """SIGSTOP: the connection stays open and no frame comes; `timeout` says the camera is lost."""
        def freeze(server):
            server.send_signal(signal.SIGSTOP)
            return server

        def thaw(server, port):
            server.send_signal(signal.SIGCONT)
            return server

        self.lose_and_get_back(freeze, thaw)

    def test_attempts_exhausted_is_one_error(self):
        url = f"rtsp://127.0.0.1:{free_port()}/detections"  # nobody serves there
        with tempfile.TemporaryDirectory() as tmp:
            client = Client(url, os.path.join(tmp, "none.jsonl"), "reconnect-attempts=2")
            client.pipeline.set_state(Gst.State.PLAYING)
            self.assertTrue(client.poll(60, lambda: client.errors), "an ERROR once the attempts are spent")
            client.stop()
            self.assertEqual(len(client.errors), 1, client.errors)
            self.assertIn(f"Camera {url} lost", client.errors[0])
            self.assertIn("not back after 2 reconnection attempt(s)", client.errors[0])
            self.assertEqual(len([w for w in client.warnings if w.startswith(f"Camera {url} lost")]), 2,
                             client.warnings)
            self.assertEqual(client.eos, 0)


if __name__ == "__main__":
    Gst.init(None)
    unittest.main(verbosity=2)
