/**
 * rawrecv: recv(2) from Node.js with the exact errno, as typed results.
 * @packageDocumentation
 */
export { Socket, type RecvAsyncOptions } from './socket.js';
export type { ConnectOptions, UnixConnectOptions } from './connect.js';
export { PollError, type WaitOptions, type WaitOutcome } from './readiness.js';
export { Server, type AcceptResult, type ListenOptions, type UnixListenOptions } from './server.js';
export { sys, type Sys } from './sys.js';
export { constants, type Constants, type ConstantGroup } from './constants.js';
export {
  classify,
  type Classification,
  type ClassifyContext,
  type FailureResult,
  type IpOrigin,
  type Origin,
  type RawOutcome,
  type ReadState,
  type ReceivedMessage,
  type RecvFromResult,
  type RecvManyResult,
  type RecvResult,
  type SendAsyncResult,
  type SendManyResult,
  type SendResult,
  type SocketType,
  type UnixOrigin,
} from './classify.js';
export { errnoName, errnoNumber, errnoTables, PLATFORMS, portableCode, type Platform } from './errno.js';
export { SocketError } from './errors.js';
export type { Family } from './address.js';
export type { RawAddress, RecvFromOut } from './addon.js';
export {
  ReceivedDescriptor,
  type ControlMessage,
  type ErrorOrigin,
  type ExtendedError,
  type MsgFlags,
  type SendControl,
} from './control.js';
export {
  DEFAULT_CONTROL,
  type RecvErrorResult,
  type RecvMsgOptions,
  type RecvMsgResult,
  type RecvOptions,
  type SendMsgOptions,
} from './message.js';
export type { RecvMsgRaw } from './addon.js';
