#!/usr/bin/env python3
"""The plugin in a Python host that imports OpenCV before GStreamer (the order most video apps have), and what it
says about model paths that are not model files.

`import cv2` brings libunwind.so.8 (through OpenCV's GStreamer videoio) into the process beside libgcc_s: then
libstdc++ raises exceptions through one unwinder while the plugin's code would resume them through the other, and
any exception crossing a destructor aborted the host (common/unwind_resume.cpp). Each host runs in its own
process, so an abort is a failed test with its signal, not a dead test runner."""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest

MODEL = os.environ["RETINANET_TEST_MODEL"]
TIMEOUT = 120

HOST = textwrap.dedent("""
    import sys
    if sys.argv[1] == "cv2-first":
        import cv2  # noqa: F401  (before GStreamer, on purpose)
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    pipeline = Gst.parse_launch(sys.argv[2])
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(100 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is None:
        print("TIMEOUT")
    elif msg.type == Gst.MessageType.ERROR:
        print("ERROR", msg.parse_error()[0].message)
    else:
        print("EOS")
""")


def run_host(order, pipeline):
    out = subprocess.run([sys.executable, "-c", HOST, order, pipeline], capture_output=True, text=True,
                         timeout=TIMEOUT)
    if out.returncode < 0:
        raise AssertionError(f"the host died of {signal.Signals(-out.returncode).name} ({order}):\n{out.stderr[-3000:]}")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def detect_pipeline(model, width=640, height=480):
    return (f"videotestsrc num-buffers=2 pattern=ball ! video/x-raw,width={width},height={height} ! videoconvert ! "
            f"retinanetdetect model=\"{model}\" ! fakesink")


class HostOrderTest(unittest.TestCase):
    def test_cv2_first_runs_frames(self):
        # 640x480: the Winograd chains plan their layers (oneDNN asked which algorithms it has) on the first frame.
        for order in ("cv2-first", "gst-only"):
            self.assertEqual(run_host(order, detect_pipeline(MODEL)), "EOS", order)

    def test_cv2_first_bad_models_are_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            truncated = os.path.join(tmp, "truncated.safetensors")
            with open(MODEL, "rb") as src, open(truncated, "wb") as dst:
                dst.write(src.read(5000))
            bad_metadata = os.path.join(tmp, "bad_metadata.safetensors")
            header = b'{"__metadata__":{"num_classes":"\\"x\\""}}'
            with open(bad_metadata, "wb") as f:
                f.write(len(header).to_bytes(8, "little") + header)
            for model, says in ((truncated, "truncated"), (bad_metadata, "num_classes")):
                line = run_host("cv2-first", detect_pipeline(model, 64, 48))
                self.assertTrue(line.startswith("ERROR") and says in line, line)

    def test_not_a_model_file(self):
        """A directory, a device and a FIFO are refused before anything opens them (a FIFO would block), each by
        what it is: one check (model/files/model_source.cpp) for the element and the tool."""
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "model.fifo")
            os.mkfifo(fifo)
            cases = ((tmp, "is a directory"), ("/dev/zero", "not a regular file"), (fifo, "not a regular file"),
                     (os.path.join(tmp, "absent.safetensors"), "cannot open: no such file"))
            for path, says in cases:
                line = run_host("cv2-first", detect_pipeline(path, 64, 48))
                self.assertTrue(line.startswith("ERROR") and f"{path}: {says}" in line, line)
                tool = subprocess.run([os.environ["RETINANET_DETECT"], "--weights", path, "/nonexistent.png"],
                                      capture_output=True, text=True, timeout=TIMEOUT)
                self.assertNotEqual(tool.returncode, 0)
                lines = tool.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, tool.stderr)
                self.assertIn(f"{path}: {says}", lines[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
