#!/usr/bin/env python3
"""Realtime fan-out against one server (used by benches/realtime.sh for Satchel and PocketBase).

Opens N SSE clients on /api/realtime, subscribes each to `<collection>/*`, then creates
records one at a time and measures, for each record, the time from sending the create
until each client has received its event. Prints p50/p99 of those delivery times (ms) and
how many events arrived. Standard library only.

Usage: realtime.py BASE_URL COLLECTION CLIENTS RECORDS   (RECORDS 0: subscribe and hold)
"""
import asyncio
import json
import sys
import time
import urllib.request


async def sse_client(host, port, ready, events):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /api/realtime HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    buffer = b""
    client_id = None
    while True:
        size_line = await reader.readline()
        if not size_line:
            return
        size = int(size_line.strip() or b"0", 16)
        chunk = await reader.readexactly(size + 2)
        buffer += chunk[:size]
        while b"\n\n" in buffer:
            raw, buffer = buffer.split(b"\n\n", 1)
            fields = dict(line.split(b":", 1) for line in raw.split(b"\n") if b":" in line)
            if fields.get(b"event") == b"PB_CONNECT":
                client_id = json.loads(fields[b"data"])["clientId"]
                ready.set_result(client_id)
            else:
                record = json.loads(fields[b"data"])["record"]
                events.append((record["title"], time.perf_counter()))


def post(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as r:
        return r.read()


async def main():
    base, collection, clients, records = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    host, port = base.split("//")[1].split(":")
    loop = asyncio.get_running_loop()
    events, tasks = [], []
    for _ in range(clients):
        ready = loop.create_future()
        tasks.append(asyncio.create_task(sse_client(host, int(port), ready, events)))
        client_id = await ready
        await loop.run_in_executor(None, post, base, "/api/realtime",
                                   {"clientId": client_id, "subscriptions": [f"{collection}/*"]})
    if records == 0:  # only hold the subscribed clients open (while another process writes)
        print("subscribed", flush=True)
        await asyncio.sleep(3600)
    latencies = []
    for n in range(records):
        title = f"rt-{n}"
        sent = time.perf_counter()
        await loop.run_in_executor(None, post, base, f"/api/collections/{collection}/records", {"title": title})
        deadline = time.perf_counter() + 5
        while sum(1 for t, _ in events if t == title) < clients and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        latencies += [(at - sent) * 1000 for t, at in events if t == title]
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")
    print(f"{pick(0.50):.2f} {pick(0.99):.2f} {len(latencies)} {clients * records}")
    for task in tasks:
        task.cancel()


asyncio.run(main())
