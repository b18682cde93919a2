"""A local HTTP server on loopback for the MNIST download tests: it serves bodies the test
writes, plainly, without a Content-Length (the body ends when the connection closes), or one
byte at a time with a pause between bytes. Nothing is fetched from the internet."""

import http.server
import threading
import time
from contextlib import contextmanager


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        server = self.server
        name = self.path.rsplit("/", 1)[-1]
        with server.lock:
            server.requests.append(name)
        body = server.bodies.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        if server.mode != "no_length":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if server.mode == "slow":
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(server.pause)
            else:
                time.sleep(server.pause)
                self.wfile.write(body)
        except OSError:  # the client stopped reading and closed
            pass


@contextmanager
def serve(bodies: dict[str, bytes], mode: str = "plain", pause: float = 0.0):
    """Serve ``bodies`` (file name -> bytes) at http://127.0.0.1:<port>/; yields (base URL, server),
    whose ``requests`` lists the file names asked for. ``mode``: "plain", "no_length" or "slow"
    (one byte, then ``pause`` seconds); in the other modes the body follows ``pause`` seconds."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.bodies, server.mode, server.pause = bodies, mode, pause
    server.requests, server.lock = [], threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server
    finally:
        server.shutdown()
        server.server_close()
