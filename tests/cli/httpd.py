#!/usr/bin/env python3
"""httpd.py ROOT PORT - a test HTTP server on 127.0.0.1 only.

  /files/NAME          the file, whole (honours Range with 206)
  /flaky/NAME          first request: headers for the whole file, half of the
                       body, then the connection drops; later requests whole,
                       ignoring Range (200)
  /flaky-range/NAME    the same, but later requests honour Range (206)
  /busy/NAME           503 for the first two requests, then the file
  /missing             404
Every request is logged to ROOT/requests.log as "METHOD PATH RANGE".
"""
import os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT, PORT = sys.argv[1], int(sys.argv[2])
seen = {}
lock = threading.Lock()

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self, name, honour_range=True):
        path = os.path.join(ROOT, os.path.basename(name))
        data = open(path, "rb").read()
        rng = self.headers.get("Range")
        if rng and honour_range and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data)-1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            with open(os.path.join(ROOT, "requests.log"), "a") as f:
                f.write(f"GET {self.path} {self.headers.get('Range', '-')}\n")
            n = seen.get(self.path, 0)
            seen[self.path] = n + 1
        parts = self.path.split("?")[0].split("/")
        kind, name = parts[1], "/".join(parts[2:])
        try:
            if kind == "files":
                return self.body(name)
            if kind in ("flaky", "flaky-range"):
                if n == 0:
                    data = open(os.path.join(ROOT, os.path.basename(name)), "rb").read()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                return self.body(name, honour_range=(kind == "flaky-range"))
            if kind == "busy" and n < 2:
                self.send_response(503)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"busy")
                return
            if kind == "busy":
                return self.body(name)
        except FileNotFoundError:
            pass
        self.send_response(404)
        self.send_header("Content-Length", "9")
        self.end_headers()
        self.wfile.write(b"not found")

ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
