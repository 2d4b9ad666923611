"""The Python anchor of `npm run bench`: the same recv(2) loops as recv-bench.c, in CPython.

    python3 bench/recv-bench.py wouldblock CALLS ROUNDS
        Its own loopback TCP connection, the client set non-blocking; times CALLS recv()
        of 64 bytes per round, each expected to raise BlockingIOError (how
        Python reports EAGAIN), after a warm-up of CALLS / 10.
        -> {"mode":"wouldblock","calls":N,"nsPerCall":[...one per round]}

    python3 bench/recv-bench.py recv SLICE_BYTES
        Listens on 127.0.0.1:0, prints "port N", accepts one connection, sends the one-byte go
        signal, then recv_into() one 64 KiB bytearray until EOF (blocking, 10 s timeout).
        -> {"mode":"recv","bytes":B,"ns":T,"cpuNs":C,"fastestSlice":R}   (R: bytes per second
           over the fastest run of SLICE_BYTES or more, as recv-bench.c)

Run by bench/run.js (bench/lib/anchors.js) when python3 is on PATH; the output matches
recv-bench.c's, so both are read the same way. Standard library only.
"""

import json
import signal
import socket
import sys
import time

IO_TIMEOUT = 10.0
WOULD_BLOCK_LENGTH = 64
RECV_BUFFER = 64 * 1024


def loopback_pair():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(IO_TIMEOUT)
    client = socket.create_connection(listener.getsockname(), timeout=IO_TIMEOUT)
    server, _ = listener.accept()
    listener.close()
    return client, server


def time_would_block(client, calls):
    unexpected = 0
    start = time.perf_counter_ns()
    for _ in range(calls):
        try:
            client.recv(WOULD_BLOCK_LENGTH)
            unexpected += 1
        except BlockingIOError:
            pass
    elapsed = time.perf_counter_ns() - start
    if unexpected:
        sys.exit(f"recv-bench.py: {unexpected} of {calls} recv_into calls did not raise BlockingIOError")
    return elapsed


def mode_wouldblock(calls, rounds):
    client, server = loopback_pair()
    client.setblocking(False)
    time_would_block(client, max(1, calls // 10))
    per_call = [time_would_block(client, calls) / calls for _ in range(rounds)]
    print(json.dumps({"mode": "wouldblock", "calls": calls, "nsPerCall": per_call}))
    client.close()
    server.close()


def mode_recv(slice_bytes):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(IO_TIMEOUT)
    print(f"port {listener.getsockname()[1]}", flush=True)
    connection, _ = listener.accept()
    connection.settimeout(IO_TIMEOUT)
    buffer = bytearray(RECV_BUFFER)
    view = memoryview(buffer)
    total = 0
    cpu_start = time.process_time_ns()
    start = time.perf_counter_ns()
    connection.sendall(b"g")
    fastest = 0.0
    slice_start = start
    slice_from = 0
    next_boundary = slice_bytes
    while True:
        got = connection.recv_into(view)
        if got == 0:
            break
        total += got
        if total >= next_boundary:
            now = time.perf_counter_ns()
            fastest = max(fastest, (total - slice_from) * 1e9 / (now - slice_start))
            slice_start, slice_from, next_boundary = now, total, total + slice_bytes
    elapsed = time.perf_counter_ns() - start
    cpu = time.process_time_ns() - cpu_start
    print(json.dumps({"mode": "recv", "bytes": total, "ns": elapsed, "cpuNs": cpu, "fastestSlice": fastest}))
    connection.close()
    listener.close()


def main():
    # As recv-bench.c: a process left behind by a killed parent ends itself.
    signal.alarm(60)
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "wouldblock":
        mode_wouldblock(int(args[1]), int(args[2]))
    elif len(args) == 2 and args[0] == "recv":
        mode_recv(int(args[1]))
    else:
        sys.exit("usage: recv-bench.py wouldblock CALLS ROUNDS | recv SLICE_BYTES   (run by bench/run.js)")


if __name__ == "__main__":
    main()
