#!/usr/bin/env python3
"""Hostile local clients for cordon's integration tests (155, 156).

  hostile.py slow PATH N SECONDS
      N clients on the unix socket PATH: the even ones send one byte every
      1.5 s and never a whole line, the odd ones connect and send nothing.
      A client the server closes connects again at once. Prints how many
      times the server closed one.
  hostile.py flood-tcp HOST PORT COUNT SECONDS
  hostile.py flood-unix PATH COUNT SECONDS
      Opens COUNT junk connections (a few bytes of garbage, then silence)
      spread over SECONDS, each held until the server drops it or the end.
      Prints "opened N failed M dropped K".
"""
import socket
import sys
import time


def unix_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.2)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def peer_closed(s):
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def slow(path, n, secs):
    socks = [None] * n
    due = [0.0] * n
    closed = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        now = time.monotonic()
        for i in range(n):
            if socks[i] is None:
                socks[i] = unix_connect(path)
                due[i] = now + 1.5
                continue
            if peer_closed(socks[i]):
                socks[i].close()
                socks[i] = None
                closed += 1
                continue
            if i % 2 == 0 and now >= due[i]:
                try:
                    socks[i].send(b"{")
                except OSError:
                    pass
                due[i] = now + 1.5
        time.sleep(0.05)
    print(closed)


def flood(connect, count, secs):
    held, opened, failed, dropped = [], 0, 0, 0
    start = time.monotonic()
    for k in range(count):
        # Spread the connections evenly over the time given.
        delay = start + secs * k / count - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        s = connect()
        if s is None:
            failed += 1
        else:
            opened += 1
            held.append(s)
        if k % 64 == 0:
            alive = [h for h in held if not peer_closed(h)]
            dropped += len(held) - len(alive)
            for h in held:
                if h not in alive:
                    h.close()
            held = alive
    for h in held:
        h.close()
    print("opened %d failed %d dropped %d" % (opened, failed, dropped))


def tcp_connector(host, port):
    def connect():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect((host, port))
            s.send(b"GET / HTTP/1.0\r\n")
        except OSError:
            s.close()
            return None
        s.setblocking(False)
        return s
    return connect


def unix_connector(path):
    def connect():
        s = unix_connect(path)
        if s is not None:
            try:
                s.send(b"junk")
            except OSError:
                pass
        return s
    return connect


def main(argv):
    if len(argv) == 5 and argv[1] == "slow":
        slow(argv[2], int(argv[3]), float(argv[4]))
    elif len(argv) == 6 and argv[1] == "flood-tcp":
        flood(tcp_connector(argv[2], int(argv[3])), int(argv[4]), float(argv[5]))
    elif len(argv) == 5 and argv[1] == "flood-unix":
        flood(unix_connector(argv[2]), int(argv[3]), float(argv[4]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
