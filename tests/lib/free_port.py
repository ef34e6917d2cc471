#!/usr/bin/python3
"""free_port.py [ADDR]: print a TCP port that is free on ADDR (default 127.0.0.1) right now.

tests/lib/common.sh (free_port) runs it; the Python test scripts import free_port() from it.
"""
import random
import socket
import sys


def free_port(addr="127.0.0.1"):
    for _ in range(200):
        port = random.randint(20000, 60999)
        s = socket.socket()
        try:
            s.bind((addr, port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    raise RuntimeError("no free port found")


if __name__ == "__main__":
    try:
        print(free_port(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"))
    except RuntimeError as e:
        sys.exit(str(e))
