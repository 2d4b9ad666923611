/**
 * recvMsg and sendMsg on Windows (issue 11, item 5): WSARecvMsg (its pointer from WSAIoctl
 * SIO_GET_EXTENSION_FUNCTION_POINTER) with IP_PKTINFO / IPV6_PKTINFO, WSASendMsg, and every
 * option Windows lacks refused with ERR_NOT_SUPPORTED naming it. This leg runs under Wine, which
 * is not Windows (docs/recv-semantics.md#wine): where Wine differs, the test asserts Wine's value
 * when `constants.wine` is set and says "Wine deviation" in its title, and the documented value
 * otherwise. vitest.config.ts collects this file on win32 only.
 */
import { describe, expect, it } from 'vitest';

import { constants, Socket, SocketError, sys, type ControlMessage, type RecvMsgResult } from '../src/index.js';
import { ipv6Loopback } from '../src/scenarios/helpers.js';
import { boundUdp, closing, endpointOf, errnoOf, expectThrow, guardFds, WINE } from './helpers.js';

guardFds();

const { IP, IPPROTO, MSG } = constants;
const FAMILIES = ipv6Loopback() === true ? (['IPv4', 'IPv6'] as const) : (['IPv4'] as const);
const hostOf = (family: 'IPv4' | 'IPv6'): string => (family === 'IPv4' ? '127.0.0.1' : '::1');

function dataOf(result: RecvMsgResult): Extract<RecvMsgResult, { kind: 'data' }> {
  if (result.kind !== 'data') throw new Error(`expected data, got ${JSON.stringify(result)}`);
  return result;
}

function udpPair(family: 'IPv4' | 'IPv6' = 'IPv4'): [Socket, Socket] {
  const receiver = boundUdp({ family });
  receiver.setReceiveTimeout(2000);
  return [receiver, boundUdp({ family })];
}

function pktinfoOf(control: ControlMessage[]): Extract<ControlMessage, { name: 'IP_PKTINFO' | 'IPV6_PKTINFO' }> {
  const found = control.filter((message) => message.name === 'IP_PKTINFO' || message.name === 'IPV6_PKTINFO');
  expect(found).toHaveLength(1);
  return found[0] as Extract<ControlMessage, { name: 'IP_PKTINFO' | 'IPV6_PKTINFO' }>;
}

describe('WSARecvMsg with IP_PKTINFO / IPV6_PKTINFO', () => {
  for (const family of FAMILIES) {
    it(`${family}: the destination ${hostOf(family)} and the loopback interface, whose name if_indextoname gives`, async () => {
      await closing(udpPair(family), (receiver, sender) => {
        receiver.setRecvOptions({ pktinfo: true });
        sender.sendTo('x', endpointOf(receiver));
        const result = dataOf(receiver.recvMsg(16));
        expect(result).toMatchObject({ ret: 1, errno: 0, data: Buffer.from('x'), address: hostOf(family), family });
        const pktinfo = pktinfoOf(result.control);
        expect(pktinfo).toMatchObject({
          level: family === 'IPv4' ? IPPROTO.IP : IPPROTO.IPV6,
          type: family === 'IPv4' ? IP.IP_PKTINFO : IP.IPV6_PKTINFO,
          name: family === 'IPv4' ? 'IP_PKTINFO' : 'IPV6_PKTINFO',
          destination: hostOf(family),
        });
        expect(pktinfo.ifindex).toBeGreaterThan(0);
        expect(pktinfo.interfaceName).toBe(sys.interfaceName(pktinfo.ifindex));
        expect(typeof pktinfo.interfaceName).toBe('string');
        // Turned off again: no control messages.
        receiver.setRecvOptions({ pktinfo: false });
        sender.sendTo('y', endpointOf(receiver));
        expect(dataOf(receiver.recvMsg(16)).control).toEqual([]);
      });
    });
  }

  it('a datagram longer than the buffer: WSAEMSGSIZE, data truncated, as recvFrom; its IP_PKTINFO still there', async () => {
    await closing(udpPair(), (receiver, sender) => {
      receiver.setRecvOptions({ pktinfo: true });
      sender.sendTo('0123456789', endpointOf(receiver));
      const result = dataOf(receiver.recvMsg(4));
      expect(result).toMatchObject({ ret: -1, errno: errnoOf('EMSGSIZE'), bytesRead: 4, truncated: true });
      expect(result.data.toString()).toBe('0123');
      expect(pktinfoOf(result.control).destination).toBe('127.0.0.1');
    });
  });

  it.runIf(WINE)(
    'a control buffer too small (Wine deviation: Wine fails the call with WSAEMSGSIZE and MSG_CTRUNC, so it reads as a datagram cut to the buffer)',
    async () => {
      await closing(udpPair(), (receiver, sender) => {
        receiver.setRecvOptions({ pktinfo: true });
        sender.sendTo('xy', endpointOf(receiver));
        const result = dataOf(receiver.recvMsg(16, { control: 8 }));
        expect(result).toMatchObject({ ret: -1, errno: errnoOf('EMSGSIZE'), bytesRead: 16, truncated: true });
        expect(result.msgFlags).toMatchObject({ raw: MSG.CTRUNC, controlTruncated: true, truncated: false });
        expect(result.data.subarray(0, 2).toString()).toBe('xy');
        expect(result.control).toEqual([]);
      });
    },
  );

  it('WSASendMsg with IP_PKTINFO (the source address) reaches the receiver', async () => {
    await closing(udpPair(), (receiver, sender) => {
      const sent = sender.sendMsg('src', { to: endpointOf(receiver), control: { pktinfo: { source: '127.0.0.1' } } });
      expect(sent).toEqual({ kind: 'sent', ret: 3, errno: 0, bytesSent: 3 });
      expect(dataOf(receiver.recvMsg(16))).toMatchObject({ data: Buffer.from('src'), address: '127.0.0.1' });
    });
  });
});

describe('what Windows does not have: ERR_NOT_SUPPORTED naming the option, before any call', () => {
  it('setRecvOptions ttl, timestamp, credentials, gro, recvErr; recvError; sendMsg tos and rights', async () => {
    await closing(udpPair(), (receiver, sender) => {
      const cases: [string, () => unknown][] = [
        ['IP_RECVTTL', () => receiver.setRecvOptions({ ttl: true })],
        ['SO_TIMESTAMPNS', () => receiver.setRecvOptions({ timestamp: true })],
        ['SO_PASSCRED', () => receiver.setRecvOptions({ credentials: true })],
        ['UDP_GRO', () => receiver.setRecvOptions({ gro: true })],
        ['IP_RECVERR', () => receiver.setRecvOptions({ recvErr: true })],
        ['MSG_ERRQUEUE', () => receiver.recvError()],
        ['IP_TOS', () => sender.sendMsg('x', { to: endpointOf(receiver), control: { tos: 1 } })],
        ['SCM_RIGHTS', () => sender.sendMsg('x', { to: endpointOf(receiver), control: { rights: [receiver] } })],
      ];
      for (const [option, call] of cases) {
        expectThrow(call, Error, 'ERR_NOT_SUPPORTED', option);
        let message = '';
        try {
          call();
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message, option).toContain(option);
      }
      // Nothing was sent.
      expect(receiver.available()).toBe(0);
    });
  });

  it(
    WINE
      ? 'tos: IP_RECVECN (Wine deviation: Wine refuses the option, WSAENOPROTOOPT)'
      : 'tos: IP_RECVECN, the ECN bits Windows reports',
    async () => {
      await closing(udpPair(), (receiver) => {
        if (WINE) {
          const caught = (() => {
            try {
              receiver.setRecvOptions({ tos: true });
            } catch (error) {
              return error;
            }
            return undefined;
          })();
          expect(caught).toBeInstanceOf(SocketError);
          expect(caught).toMatchObject({
            syscall: 'setsockopt',
            code: 'WSAENOPROTOOPT',
            errno: errnoOf('ENOPROTOOPT'),
          });
        } else {
          receiver.setRecvOptions({ tos: true });
          receiver.setRecvOptions({ tos: false });
        }
      });
    },
  );
});
