// Many waiting sockets: JS heap per socket waiting for data, and the time to wake them all,
// rawrecv (Socket.fromFd + a pending recvAsync) against node:net (net.Socket({ fd }) + a 'data'
// listener), each round in a fresh child process (bench/lib/sockets-child.js) so that heaps and
// descriptors do not carry over. The child raises its descriptor limit where it may and lowers
// the count to what fits.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { row, runRounds, standardTable, startChild, summarize } from './common.js';

const CHILD_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sockets-child.js');
const RAWRECV = 'rawrecv: Socket + pending recvAsync(1)';
const NET = "node:net: net.Socket({ fd }) + 'data'";

async function waitingSockets(client, count) {
  // `ulimit -n` raised in a shell first where it may be (10,000 pairs need 20,000 descriptors and
  // more), and the limit it ends up with passed on.
  const script = 'ulimit -n 30000 2>/dev/null; exec "$@" "$(ulimit -n)"';
  const child = startChild(
    'sh',
    ['-c', script, 'sh', process.execPath, '--expose-gc', CHILD_SCRIPT, client, String(count)],
    {
      timeout: 120_000,
    },
  );
  return await child.done;
}

export async function socketsSection(options) {
  let sockets = options.sockets;
  const measured = (client) => async () => {
    const result = await waitingSockets(client, options.sockets);
    sockets = Math.min(sockets, result.sockets);
    return {
      value: result.heapBytesPerSocket,
      rssBytesPerSocket: result.rssBytesPerSocket,
      wakeAllMs: result.wakeAllMs,
    };
  };
  const rawrecvRow = row(RAWRECV, measured('rawrecv'), { targets: [{ anchor: NET, min: 1 }] });
  const netRow = row(NET, measured('net'));
  await runRounds([rawrecvRow, netRow], options.socketRounds, { warmUp: 0 });

  const heap = {
    id: 'sockets-heap',
    title: `${sockets} sockets each waiting for one byte: JS heap per waiting socket (vs net = net's / row's)`,
    unit: 'heap B/socket',
    better: 'lower',
    anchors: [{ name: NET, label: 'net' }],
    rows: [rawrecvRow, netRow],
  };
  // The same runs' wake-all times, as their own rows.
  const wakeRow = (r, extra) => ({ name: r.name, status: r.status, rounds: r.extraRounds.wakeAllMs, ...extra });
  const wake = {
    id: 'sockets-wake',
    title: `${sockets} sockets: wake-all, one byte sent to each, until every wait has it (vs net = net's ms / row's ms)`,
    unit: 'ms',
    better: 'lower',
    anchors: [{ name: NET, label: 'net' }],
    rows: [wakeRow(rawrecvRow, { targets: [{ anchor: NET, min: 1 }] }), wakeRow(netRow)],
  };
  const heapSummary = summarize(heap);
  const wakeSummary = summarize(wake);
  for (const summary of [heapSummary, wakeSummary]) summary.sockets = sockets;
  return [
    {
      summary: heapSummary,
      text: standardTable(heap, heapSummary, {
        columns: [{ header: 'RSS B/socket', get: (r) => r.rssBytesPerSocket.toFixed(0) }],
      }),
    },
    { summary: wakeSummary, text: standardTable(wake, wakeSummary, { digits: 1 }) },
  ];
}
