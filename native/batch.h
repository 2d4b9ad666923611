// recv_many / send_many where the OS has no recvmmsg / sendmmsg (macOS, the BSDs, Windows): a
// loop of the single calls, written once for posix.cc and win32.cc.
//
// The loop stays what one recvmmsg with MSG_WAITFORONE is on Linux: the first message is
// received with the caller's flags (it may block, or time out); each later one only while
// bytes are queued (FIONREAD > 0), so the batch never blocks after its first message and never
// takes a pending socket error that belongs to the next call. (A zero-length datagram queued
// behind others shows no bytes: it ends the batch and comes first in the next one.)
#pragma once

#include "platform.h"

namespace rawrecv {

// `too_big`: the negated error with which the OS reports a datagram longer than the buffer
// after filling it (Windows' WSAEMSGSIZE; 0 where msg_flags says MSG_TRUNC instead), and
// `truncated` the MSG_TRUNC bit set for it.
inline int64_t recv_many_loop(sock fd, Message* messages, size_t count, int flags, int64_t too_big,
                              int truncated) {
  size_t done = 0;
  for (; done < count; ++done) {
    if (done > 0 && sys::fionread(fd) <= 0) break;
    Message& message = messages[done];
    message.address.length = 0;
    message.flags = 0;
    int64_t ret =
        sys::recvmsg(fd, message.data, message.length, flags, &message.address, &message.flags);
    if (ret == too_big && too_big != 0) {
      ret = static_cast<int64_t>(message.length);
      message.flags |= truncated;
    }
    if (ret < 0) {
      if (done == 0) return ret;
      break;
    }
    message.transferred = ret;
    // A stream socket's 0 is the end of the stream: it ends the batch, as recvmmsg's would.
    if (ret == 0 && message.length > 0 && message.address.length == 0) {
      ++done;
      break;
    }
  }
  return static_cast<int64_t>(done);
}

inline int64_t send_many_loop(sock fd, Message* messages, size_t count, int flags) {
  size_t done = 0;
  for (; done < count; ++done) {
    Message& message = messages[done];
    int64_t ret = message.address.length == 0
                      ? sys::send(fd, message.data, message.length, flags)
                      : sys::sendto(fd, message.data, message.length, flags, message.address);
    if (ret < 0) {
      if (done == 0) return ret;
      break;
    }
    message.transferred = ret;
    // A short write (a stream socket) ends the batch: the next message's bytes must not go
    // out before the rest of this one.
    if (static_cast<size_t>(ret) < message.length) {
      ++done;
      break;
    }
  }
  return static_cast<int64_t>(done);
}

}  // namespace rawrecv
