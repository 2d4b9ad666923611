// One round of the many-sockets section (bench/lib/sockets.js), in a fresh process:
//
//   node --expose-gc bench/lib/sockets-child.js rawrecv|net COUNT LIMIT
//
// Makes COUNT AF_UNIX stream pairs with sys.socketpair (plain numbers: the far ends have no
// JS object), wraps one end of each and leaves it waiting for data: a rawrecv Socket
// (Socket.fromFd, non-blocking) with a pending recvAsync(1), or a net.Socket({ fd }) with a
// 'data' listener. JS heap per waiting socket: used heap after a full GC, with all of them
// waiting, minus before, over COUNT. Wake-all: one byte into every far end with sys.send, timed
// until every wait has its byte. Prints {"sockets","heapBytesPerSocket","rssBytesPerSocket","wakeAllMs"}.
// COUNT is lowered to what LIMIT, the shell's `ulimit -n`, allows (two descriptors a pair).
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { setImmediate } from 'node:timers/promises';
import v8 from 'node:v8';

import { bounded, fail, loadPackage } from './common.js';

const [client, requested, descriptorLimit] = process.argv.slice(2);
if (typeof globalThis.gc !== 'function') fail('sockets-child.js needs --expose-gc');
const gc = globalThis.gc;
const { Socket, sys, constants } = await loadPackage([]);

const limit = descriptorLimit === 'unlimited' ? Infinity : Number(descriptorLimit) || 1024;
const count = Math.min(Number(requested), Math.floor((limit - 64) / 2)); // 64: node, stdio, the loop
const ends = new Int32Array(count * 2);
for (let i = 0; i < count; i++) {
  const pair = sys.socketpair(constants.AF.UNIX, constants.SOCK.STREAM, 0);
  if (typeof pair === 'number') fail(`socketpair returned ${pair} after ${i} pairs`);
  ends[2 * i] = pair[0];
  ends[2 * i + 1] = pair[1];
}
const fullGc = () => {
  gc();
  gc();
  return { heap: v8.getHeapStatistics().used_heap_size, rss: process.memoryUsage.rss() };
};

let woken = 0;
let allWoken;
const everyWait = new Promise((resolve) => (allWoken = resolve));
const sockets = [];
const before = fullGc();
if (client === 'rawrecv') {
  const onResult = (result) => {
    if (result.kind !== 'data' || result.bytesRead !== 1) fail(`recvAsync: ${result.kind}`);
    if (++woken === count) allWoken();
  };
  for (let i = 0; i < count; i++) {
    const socket = Socket.fromFd(ends[2 * i]);
    socket.setBlocking(false);
    socket.recvAsync(1).then(onResult, (error) => fail(`recvAsync rejected: ${error.message}`));
    sockets.push(socket);
  }
} else {
  const onData = (chunk) => {
    if (chunk.length !== 1) fail(`'data' of ${chunk.length} bytes`);
    if (++woken === count) allWoken();
  };
  for (let i = 0; i < count; i++) {
    const socket = new net.Socket({ fd: ends[2 * i], readable: true, writable: true });
    socket.on('data', onData);
    socket.on('error', (error) => fail(`net.Socket: ${error.message}`));
    sockets.push(socket);
  }
}
await setImmediate(); // every wait armed (net starts reading on the next turn)
await setImmediate();
const waiting = fullGc();

const byte = Buffer.from('w');
const start = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  const ret = sys.send(ends[2 * i + 1], byte, 0, 1, 0);
  if (ret !== 1) fail(`sys.send returned ${ret}`);
}
await bounded(everyWait, 30_000, `${count} waits`);
const wakeAllMs = Number(process.hrtime.bigint() - start) / 1e6;

for (const socket of sockets) {
  if (client === 'rawrecv') socket.close();
  else socket.destroy();
}
for (let i = 0; i < count; i++) sys.close(ends[2 * i + 1]);
console.log(
  JSON.stringify({
    sockets: count,
    heapBytesPerSocket: (waiting.heap - before.heap) / count,
    rssBytesPerSocket: (waiting.rss - before.rss) / count,
    wakeAllMs,
  }),
);
