#!/usr/bin/env python3
"""The example apps (C++ and Python pad probes; the C++ one with several sources sharing a model), retinanetjson on stdout, and the README's main job (the
sample video through pipelines/file_to_mp4.sh) from the build tree. The detections the apps print equal
retinanet-detect's on the same image, and the apps' lines are retinanetjson's, key for key and value for value."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINES = os.path.join(HERE, "..", "..", "pipelines")
MODEL = os.environ["RETINANET_TEST_MODEL"]
FRAME = os.path.join(os.environ["RETINANET_TEST_FRAMES"], "frame_317x239.ppm")
TIMEOUT = 120


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)


def tool_detections(image):
    out = run([os.environ["RETINANET_DETECT"], "--weights", MODEL, image])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["detections"]


def still_source(frames):
    """The PPM frame, repeated: pnmdec gives RGB, which videoconvert passes on unchanged."""
    return f'filesrc location="{FRAME}" ! pnmdec ! imagefreeze num-buffers={frames}'


CPP_APP = [os.environ["DETECT_APP"]]
PYTHON_APP = [sys.executable, os.path.join(PIPELINES, "detect_app.py")]


class AppsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.expected = tool_detections(FRAME)
        assert cls.expected, "the test model finds objects in the test frame"

    def assert_matches_tool(self, detections):
        self.assertEqual(len(detections), len(self.expected))
        for got, want in zip(detections, self.expected):
            self.assertEqual(set(got), {"label", "name", "score", "box"})
            self.assertEqual(got["label"], want["label"])
            self.assertEqual(got["name"], want["name"])
            self.assertAlmostEqual(got["score"], want["score"], delta=2e-6)
            for a, b in zip(got["box"], want["box"]):
                self.assertAlmostEqual(a, b, delta=2e-4)

    def app_lines(self, command, source):
        out = run(command + ["--model", MODEL, "--source", source])
        self.assertEqual(out.returncode, 0, out.stderr)
        return [json.loads(line) for line in out.stdout.splitlines()]

    def check_app(self, command):
        lines = self.app_lines(command, still_source(3))
        self.assertEqual([line["frame"] for line in lines], [0, 1, 2])
        for line in lines:
            self.assert_matches_tool(line["detections"])
        bad = run(command + ["--model", "/no/such/model.safetensors", "--source", still_source(1)])
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("/no/such/model.safetensors", bad.stderr)

    def test_cpp_app_reads_the_metas(self):
        self.check_app(CPP_APP)

    def test_python_app_reads_the_metas(self):
        self.check_app(PYTHON_APP)

    def test_cpp_app_takes_several_sources_sharing_one_model(self):
        # Two sources, one model instance: each source's lines under its own id, each frame's detections its own.
        out = run(CPP_APP + ["--model", MODEL, "--max-frames", "3", "--source", still_source(4), "--source",
                             "videotestsrc num-buffers=4 ! video/x-raw,width=160,height=120", "--source-id", "still"])
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        by_source = {}
        for line in lines:
            by_source.setdefault(line["source"], []).append(line)
        self.assertEqual(sorted(by_source), ["cam1", "still"])
        self.assertEqual([line["frame"] for line in by_source["still"]], [0, 1, 2])
        self.assertEqual([line["frame"] for line in by_source["cam1"]], [0, 1, 2])
        for line in by_source["still"]:
            self.assertEqual((line["width"], line["height"]), (317, 239))
            self.assert_matches_tool(line["detections"])
        for line in by_source["cam1"]:
            self.assertEqual((line["width"], line["height"]), (160, 120))

    def test_apps_write_retinanetjsons_lines(self):
        # One schema: on the same input, every key and value of the apps' lines is retinanetjson's, numbers exactly;
        # interval=2 makes the second frame carry the first one's detections (stale).
        source, options = still_source(3), "interval=2"
        out = run(["gst-launch-1.0", "-q"] + f"{source} ! videoconvert ! retinanetdetect model={MODEL} {options} ! "
                  "retinanetjson source-id=cam7 ! fakesink".split())
        self.assertEqual(out.returncode, 0, out.stderr)
        element = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertEqual([line["stale"] for line in element], [False, True, False])
        for line in element:
            self.assertEqual(set(line), {"frame", "pts", "timestamp", "width", "height", "stale", "source",
                                         "detections"})
            self.assertEqual(line["source"], "cam7")
            self.assertEqual((line["width"], line["height"]), (317, 239))
            self.assertEqual(line["detections"], self.expected)
        for name, command in (("detect-app", CPP_APP), ("detect_app.py", PYTHON_APP)):
            with self.subTest(app=name):
                self.assertEqual(self.app_lines(command + ["--detect-options", options, "--source-id", "cam7"],
                                                source), element)

    def test_cpp_app_finds_the_build_trees_plugin_or_says_it_is_missing(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items()
                   if k not in ("GST_PLUGIN_PATH", "GST_PLUGIN_PATH_1_0", "RETINANET_BUILD")}
            env["GST_REGISTRY"] = os.path.join(tmp, "registry.bin")  # not the shared one: it loses our plugin here
            found = run(CPP_APP + ["--model", MODEL, "--source", still_source(1)], env=env)
            self.assertEqual(found.returncode, 0, found.stderr)
            self.assertEqual(len(found.stdout.splitlines()), 1)
            # A copy outside the build tree finds no plugin: one line saying which element is missing.
            copy = os.path.join(tmp, "detect-app")
            shutil.copy(CPP_APP[0], copy)
            missing = run([copy, "--source", still_source(1)], env=env)
            self.assertNotEqual(missing.returncode, 0)
            self.assertEqual(missing.stderr.strip(), 'detect-app: no element "retinanetdetect"')

    def test_webcam_script_without_a_display_or_camera_says_so(self):
        script = os.path.join(PIPELINES, "webcam.sh")
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        no_display = run(["bash", script], env=env)
        self.assertEqual(no_display.returncode, 1)
        self.assertEqual(len(no_display.stderr.splitlines()), 1, no_display.stderr)
        self.assertIn("no display", no_display.stderr)
        env["DISPLAY"] = ":99"
        no_camera = run(["bash", script, "/dev/no-such-video"], env=env)
        self.assertEqual(no_camera.returncode, 1)
        self.assertEqual(len(no_camera.stderr.splitlines()), 1, no_camera.stderr)
        self.assertIn("no camera at /dev/no-such-video", no_camera.stderr)

    def test_export_script_offline_says_where_to_put_the_weights(self):
        """Network refused (a proxy on a closed port) and an empty hub cache: one line, no traceback."""
        with tempfile.TemporaryDirectory() as tmp:
            proxy = "http://127.0.0.1:9"
            env = dict(os.environ, TORCH_HOME=tmp, https_proxy=proxy, HTTPS_PROXY=proxy, http_proxy=proxy,
                       HTTP_PROXY=proxy)
            out = run([sys.executable, os.path.join(HERE, "..", "..", "model", "files", "export_torchvision.py"),
                       "--output", os.path.join(tmp, "coco.safetensors")], env=env)
            self.assertNotEqual(out.returncode, 0)
            self.assertNotIn("Traceback", out.stderr)
            last = out.stderr.strip().splitlines()[-1]
            self.assertIn("need the internet", last)
            self.assertIn(os.path.join(tmp, "hub", "checkpoints"), last)

    def test_json_lines_on_stdout(self):
        out = run(["gst-launch-1.0", "-q"] + f"{still_source(2)} ! videoconvert ! retinanetdetect model={MODEL} ! "
                  "retinanetjson ! fakesink".split())
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertEqual(len(lines), 2)
        for line in lines:
            self.assertEqual((line["width"], line["height"]), (317, 239))
            self.assertEqual(line["detections"], self.expected)

    def test_main_job_sample_video_to_annotated_mp4_and_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            video = os.path.join(tmp, "sample.mp4")
            out = run([sys.executable, os.path.join(PIPELINES, "make_sample_video.py"), video, "--seconds", "2",
                       "--width", "320", "--height", "240", "--fps", "10"])
            self.assertEqual(out.returncode, 0, out.stderr)
            with open(os.path.join(tmp, "sample.truth.jsonl")) as f:
                self.assertEqual(len(f.readlines()), 20)
            env = dict(os.environ, MODEL=MODEL, DETECT_OPTIONS="interval=2")
            out = run(["bash", os.path.join(PIPELINES, "file_to_mp4.sh"), video], env=env)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            with open(os.path.join(tmp, "sample.detections.jsonl")) as f:
                lines = [json.loads(line) for line in f]
            self.assertEqual(len(lines), 20)
            self.assertEqual([line["stale"] for line in lines[:4]], [False, True, False, True])
            # The annotated file decodes to as many frames as went in.
            annotated = os.path.join(tmp, "sample.annotated.mp4")
            out = run(["gst-launch-1.0", "-q", "filesrc", f"location={annotated}", "!", "decodebin", "!",
                       "videoconvert", "!", "retinanetjson", f"location={tmp}/count.jsonl", "!", "fakesink"])
            self.assertEqual(out.returncode, 0, out.stderr)
            with open(f"{tmp}/count.jsonl") as f:
                self.assertEqual(len(f.readlines()), 20)


if __name__ == "__main__":
    unittest.main(verbosity=2)
