// A ping-pong client on its own, for `perf stat` (bench/lib/pingpong.js counts its syscalls):
//
//   node bench/lib/pingpong-child.js rawrecv|net PORT TRIPS
//
// Makes TRIPS 1-byte round trips with the echo at 127.0.0.1:PORT and prints {"trips","ns"}.
import { loadPackage } from './common.js';
import { pingNet, pingRawrecv } from './pingpong.js';

const [client, port, trips] = process.argv.slice(2);
const [ns] =
  client === 'rawrecv'
    ? await pingRawrecv(await loadPackage([]), Number(port), Number(trips), 1)
    : await pingNet(Number(port), Number(trips), 1);
console.log(JSON.stringify({ trips: Number(trips), ns }));
