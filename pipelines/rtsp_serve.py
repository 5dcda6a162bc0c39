#!/usr/bin/env python3
"""Re-serves a video with its detections drawn as an RTSP stream (H.264), with gst-rtsp-server.

    pipelines/rtsp_serve.py SOURCE [--port 8554] [--path /detections] [--model FILE] [--detect "interval=2"]

SOURCE is a video file, an rtsp:// URL (a camera: its stream is annotated and served again), or `test` (a
videotestsrc). Watch it with e.g. `gst-launch-1.0 playbin uri=rtsp://127.0.0.1:8554/detections` or VLC.
--plain serves SOURCE without detection (the tests use it as a camera stand-in); --port 0 picks a free port, and
the URL is printed on the first line of standard output either way. Stops on Ctrl-C or SIGTERM.

Needs python3-gi, gir1.2-gst-rtsp-server-1.0 and x264enc (gstreamer1.0-plugins-ugly); the retinanet plugin is
found like the shell scripts find it (pipelines/env.sh): build tree first, then the installed one."""
import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def use_build_tree_plugin():
    """As pipelines/env.sh: the plugin of this checkout's build tree, if there is one, goes first."""
    here = os.path.dirname(os.path.abspath(__file__))
    for build in (os.environ.get("RETINANET_BUILD"), os.path.join(here, "..", "build"), os.path.join(here, "..", "build-gst")):
        if build and os.path.exists(os.path.join(build, "gst", "libgstretinanet.so")):
            paths = [os.path.abspath(os.path.join(build, "gst"))] + [p for p in [os.environ.get("GST_PLUGIN_PATH")] if p]
            os.environ["GST_PLUGIN_PATH"] = os.pathsep.join(paths)
            return


def source_description(source):
    if source == "test":
        return "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=480,framerate=15/1"
    if "://" in source:
        return f'rtspsrc location="{source}" latency=200 ! decodebin'
    return f'filesrc location="{source}" ! decodebin'


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--path", default="/detections")
    parser.add_argument("--model", default=os.environ.get("MODEL", ""))
    parser.add_argument("--detect", default="", help="more retinanetdetect properties, e.g. 'score-threshold=0.5'")
    parser.add_argument("--plain", action="store_true", help="serve SOURCE without detection")
    args = parser.parse_args()

    use_build_tree_plugin()
    Gst.init(None)
    analysis = ""
    if not args.plain:
        model = f'model="{args.model}" ' if args.model else ""
        analysis = f"retinanetdetect {model}{args.detect} ! retinanetoverlay ! "
    # tune=zerolatency: no B-frames or lookahead, so a client sees frames as they are made.
    launch = (f"( {source_description(args.source)} ! videoconvert ! {analysis}videoconvert ! "
              "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay0 pt=96 )")

    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    # With detection every client watches the one pipeline (one detector). A plain camera stand-in gives each client
    # its own: a client that gives up mid-setup (a reconnecting retinanetcamerasrc on a loaded machine) can leave a
    # shared media unable to play for everyone after it, which is gst-rtsp-server's state, not the camera's.
    factory.set_shared(not args.plain)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        sys.exit(f"rtsp_serve: cannot listen on {args.address}:{args.port}")

    host = "127.0.0.1" if args.address in ("0.0.0.0", "") else args.address
    print(f"rtsp://{host}:{server.get_bound_port()}{args.path}", flush=True)
    loop = GLib.MainLoop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
