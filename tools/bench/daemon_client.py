"""A small HTTP/1.1 client for mrl's Unix socket, for the benchmark scripts beside it."""
import http.client
import json
import os
import socket
import subprocess
import time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("mrl", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def call(conn, method, path, body=None):
    """(status, parsed JSON or None) of one request on a keep-alive connection."""
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    reply = conn.getresponse()
    raw = reply.read()
    try:
        return reply.status, json.loads(raw)
    except ValueError:
        return reply.status, None


def daemon_pid(path):
    status, health = call(UnixConnection(path), "GET", "/health")
    return health["pid"]


def rss_anon_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def serve(binary, data, socket_path, stderr=subprocess.DEVNULL):
    """Starts `mrl serve` on `data` and returns its process once the socket file is there (60 s at most)."""
    daemon = subprocess.Popen([binary, "serve", "--data", data, "--socket", socket_path], stderr=stderr)
    for _ in range(600):
        if os.path.exists(socket_path):
            break
        time.sleep(0.1)
    return daemon
