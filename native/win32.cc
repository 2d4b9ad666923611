// Winsock implementation of platform.h (Windows 10+, Win64).
// One call per function; WSAGetLastError() is read on the next line, before anything else.
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <winsock2.h>
#include <ws2tcpip.h>
// MSG_TRUNC / MSG_CTRUNC: in ws2def.h for MSVC, in mswsock.h for mingw-w64.
#include <mswsock.h>
#if __has_include(<afunix.h>)
#include <afunix.h>
#endif

#include <netioapi.h>  // if_indextoname (iphlpapi)

#include <atomic>
#include <climits>
#include <cstring>

#include "batch.h"
#include "platform.h"

static_assert(sizeof(SOCKADDR_STORAGE) <= sizeof(rawrecv::SockAddr::bytes),
              "SockAddr must hold any sockaddr");

#ifndef SIO_UDP_CONNRESET
#define SIO_UDP_CONNRESET _WSAIOW(IOC_VENDOR, 12)
#endif
// ECN reception (Windows 10+), missing from older mingw-w64 headers: the option and the control
// message share the number 50 (ws2ipdef.h of the Windows SDK).
#ifndef IP_RECVECN
#define IP_RECVECN 50
#endif
#ifndef IPV6_RECVECN
#define IPV6_RECVECN 50
#endif

namespace rawrecv {
namespace {

inline int64_t fail() { return -static_cast<int64_t>(WSAGetLastError()); }

inline SOCKET sock_of(sock fd) { return static_cast<SOCKET>(fd); }

inline sockaddr* as_sockaddr(SockAddr* address) {
  return reinterpret_cast<sockaddr*>(address->bytes);
}
inline const sockaddr* as_sockaddr(const SockAddr& address) {
  return reinterpret_cast<const sockaddr*>(address.bytes);
}

// Winsock's lengths are ints; a larger request is clamped (recv returns what it got).
inline int clamp(size_t length) { return length > INT_MAX ? INT_MAX : static_cast<int>(length); }

// WSAStartup once per process, whichever thread (main or worker) gets here first.
// Node has normally done it already; the call is counted and harmless.
INIT_ONCE g_startup_once = INIT_ONCE_STATIC_INIT;
int g_startup_error = 0;

BOOL CALLBACK StartWinsock(PINIT_ONCE, PVOID, PVOID*) {
  WSADATA data;
  g_startup_error = WSAStartup(MAKEWORD(2, 2), &data);
  return TRUE;
}

int ensure_winsock() {
  InitOnceExecuteOnce(&g_startup_once, StartWinsock, nullptr, nullptr);
  return g_startup_error;
}

// No SOCK_CLOEXEC: the handle is made non-inheritable instead, so child processes never get it.
void no_inherit(SOCKET s) {
  SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
}

// Whether `server`'s peer is `client`'s own address: the accepted connection is ours.
bool same_endpoint(SOCKET server, SOCKET client) {
  sockaddr_in peer{};
  sockaddr_in local{};
  int peer_length = sizeof(peer);
  int local_length = sizeof(local);
  if (::getpeername(server, reinterpret_cast<sockaddr*>(&peer), &peer_length) == SOCKET_ERROR ||
      ::getsockname(client, reinterpret_cast<sockaddr*>(&local), &local_length) == SOCKET_ERROR) {
    return false;
  }
  return peer.sin_port == local.sin_port && peer.sin_addr.s_addr == local.sin_addr.s_addr;
}

const Constant k_SHUT[] = {{"SHUT_RD", SD_RECEIVE}, {"SHUT_WR", SD_SEND}, {"SHUT_RDWR", SD_BOTH}};

const Constant k_errno[] = {
#ifdef WSAEINTR
    {"WSAEINTR", WSAEINTR},
#endif
#ifdef WSAEBADF
    {"WSAEBADF", WSAEBADF},
#endif
#ifdef WSAEACCES
    {"WSAEACCES", WSAEACCES},
#endif
#ifdef WSAEFAULT
    {"WSAEFAULT", WSAEFAULT},
#endif
#ifdef WSAEINVAL
    {"WSAEINVAL", WSAEINVAL},
#endif
#ifdef WSAEMFILE
    {"WSAEMFILE", WSAEMFILE},
#endif
#ifdef WSAEWOULDBLOCK
    {"WSAEWOULDBLOCK", WSAEWOULDBLOCK},
#endif
#ifdef WSAEINPROGRESS
    {"WSAEINPROGRESS", WSAEINPROGRESS},
#endif
#ifdef WSAEALREADY
    {"WSAEALREADY", WSAEALREADY},
#endif
#ifdef WSAENOTSOCK
    {"WSAENOTSOCK", WSAENOTSOCK},
#endif
#ifdef WSAEDESTADDRREQ
    {"WSAEDESTADDRREQ", WSAEDESTADDRREQ},
#endif
#ifdef WSAEMSGSIZE
    {"WSAEMSGSIZE", WSAEMSGSIZE},
#endif
#ifdef WSAEPROTOTYPE
    {"WSAEPROTOTYPE", WSAEPROTOTYPE},
#endif
#ifdef WSAENOPROTOOPT
    {"WSAENOPROTOOPT", WSAENOPROTOOPT},
#endif
#ifdef WSAEPROTONOSUPPORT
    {"WSAEPROTONOSUPPORT", WSAEPROTONOSUPPORT},
#endif
#ifdef WSAESOCKTNOSUPPORT
    {"WSAESOCKTNOSUPPORT", WSAESOCKTNOSUPPORT},
#endif
#ifdef WSAEOPNOTSUPP
    {"WSAEOPNOTSUPP", WSAEOPNOTSUPP},
#endif
#ifdef WSAEPFNOSUPPORT
    {"WSAEPFNOSUPPORT", WSAEPFNOSUPPORT},
#endif
#ifdef WSAEAFNOSUPPORT
    {"WSAEAFNOSUPPORT", WSAEAFNOSUPPORT},
#endif
#ifdef WSAEADDRINUSE
    {"WSAEADDRINUSE", WSAEADDRINUSE},
#endif
#ifdef WSAEADDRNOTAVAIL
    {"WSAEADDRNOTAVAIL", WSAEADDRNOTAVAIL},
#endif
#ifdef WSAENETDOWN
    {"WSAENETDOWN", WSAENETDOWN},
#endif
#ifdef WSAENETUNREACH
    {"WSAENETUNREACH", WSAENETUNREACH},
#endif
#ifdef WSAENETRESET
    {"WSAENETRESET", WSAENETRESET},
#endif
#ifdef WSAECONNABORTED
    {"WSAECONNABORTED", WSAECONNABORTED},
#endif
#ifdef WSAECONNRESET
    {"WSAECONNRESET", WSAECONNRESET},
#endif
#ifdef WSAENOBUFS
    {"WSAENOBUFS", WSAENOBUFS},
#endif
#ifdef WSAEISCONN
    {"WSAEISCONN", WSAEISCONN},
#endif
#ifdef WSAENOTCONN
    {"WSAENOTCONN", WSAENOTCONN},
#endif
#ifdef WSAESHUTDOWN
    {"WSAESHUTDOWN", WSAESHUTDOWN},
#endif
#ifdef WSAETOOMANYREFS
    {"WSAETOOMANYREFS", WSAETOOMANYREFS},
#endif
#ifdef WSAETIMEDOUT
    {"WSAETIMEDOUT", WSAETIMEDOUT},
#endif
#ifdef WSAECONNREFUSED
    {"WSAECONNREFUSED", WSAECONNREFUSED},
#endif
#ifdef WSAELOOP
    {"WSAELOOP", WSAELOOP},
#endif
#ifdef WSAENAMETOOLONG
    {"WSAENAMETOOLONG", WSAENAMETOOLONG},
#endif
#ifdef WSAEHOSTDOWN
    {"WSAEHOSTDOWN", WSAEHOSTDOWN},
#endif
#ifdef WSAEHOSTUNREACH
    {"WSAEHOSTUNREACH", WSAEHOSTUNREACH},
#endif
#ifdef WSAENOTEMPTY
    {"WSAENOTEMPTY", WSAENOTEMPTY},
#endif
#ifdef WSAEPROCLIM
    {"WSAEPROCLIM", WSAEPROCLIM},
#endif
#ifdef WSAEUSERS
    {"WSAEUSERS", WSAEUSERS},
#endif
#ifdef WSAEDQUOT
    {"WSAEDQUOT", WSAEDQUOT},
#endif
#ifdef WSAESTALE
    {"WSAESTALE", WSAESTALE},
#endif
#ifdef WSAEREMOTE
    {"WSAEREMOTE", WSAEREMOTE},
#endif
#ifdef WSASYSNOTREADY
    {"WSASYSNOTREADY", WSASYSNOTREADY},
#endif
#ifdef WSAVERNOTSUPPORTED
    {"WSAVERNOTSUPPORTED", WSAVERNOTSUPPORTED},
#endif
#ifdef WSANOTINITIALISED
    {"WSANOTINITIALISED", WSANOTINITIALISED},
#endif
#ifdef WSAEDISCON
    {"WSAEDISCON", WSAEDISCON},
#endif
#ifdef WSAENOMORE
    {"WSAENOMORE", WSAENOMORE},
#endif
#ifdef WSAECANCELLED
    {"WSAECANCELLED", WSAECANCELLED},
#endif
#ifdef WSAEINVALIDPROCTABLE
    {"WSAEINVALIDPROCTABLE", WSAEINVALIDPROCTABLE},
#endif
#ifdef WSAEINVALIDPROVIDER
    {"WSAEINVALIDPROVIDER", WSAEINVALIDPROVIDER},
#endif
#ifdef WSAEPROVIDERFAILEDINIT
    {"WSAEPROVIDERFAILEDINIT", WSAEPROVIDERFAILEDINIT},
#endif
#ifdef WSASYSCALLFAILURE
    {"WSASYSCALLFAILURE", WSASYSCALLFAILURE},
#endif
#ifdef WSAEREFUSED
    {"WSAEREFUSED", WSAEREFUSED},
#endif
};
#include "constants.inc"

#define RAWRECV_GROUP(group)                                    \
  {                                                             \
#group, k_##group, sizeof(k_##group) / sizeof(k_##group[0]) \
  }
const ConstantGroup kGroups[] = {
    RAWRECV_GROUP(errno), RAWRECV_GROUP(MSG),     RAWRECV_GROUP(AF),   RAWRECV_GROUP(SOCK),
    RAWRECV_GROUP(SOL),   RAWRECV_GROUP(IPPROTO), RAWRECV_GROUP(SO),   RAWRECV_GROUP(TCP),
    RAWRECV_GROUP(IP),    RAWRECV_GROUP(SHUT),    RAWRECV_GROUP(POLL), RAWRECV_GROUP(CMSG),
};
#undef RAWRECV_GROUP

}  // namespace

namespace sys {

int64_t socket(int domain, int type, int protocol) {
  if (int error = ensure_winsock()) return -static_cast<int64_t>(error);
  SOCKET s = ::WSASocketW(domain, type, protocol, nullptr, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) return fail();
  return static_cast<int64_t>(s);
}

// Windows has no socketpair(2): a connected loopback TCP pair stands in (stream only).
int64_t socketpair(int, int type, int, sock fds[2]) {
  if (type != SOCK_STREAM) return -static_cast<int64_t>(WSAESOCKTNOSUPPORT);
  if (int error = ensure_winsock()) return -static_cast<int64_t>(error);
  SOCKET listener = ::WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                                 WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (listener == INVALID_SOCKET) return fail();
  SOCKET client = INVALID_SOCKET;
  SOCKET server = INVALID_SOCKET;
  sockaddr_in address{};
  int length = sizeof(address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int64_t error = 0;
  // No other socket may bind this port while the pair is made.
  BOOL exclusive = TRUE;
  ::setsockopt(listener, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&exclusive),
               sizeof(exclusive));
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == SOCKET_ERROR ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == SOCKET_ERROR ||
      ::listen(listener, 1) == SOCKET_ERROR) {
    error = fail();
  } else {
    client = ::WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (client == INVALID_SOCKET ||
        ::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == SOCKET_ERROR) {
      error = fail();
    } else {
      server = ::accept(listener, nullptr, nullptr);
      if (server == INVALID_SOCKET) {
        error = fail();
      } else if (!same_endpoint(server, client)) {
        // Another local process connected to the listener first: never hand out its socket.
        error = -static_cast<int64_t>(WSAECONNREFUSED);
      }
    }
  }
  ::closesocket(listener);
  if (error != 0) {
    if (server != INVALID_SOCKET) ::closesocket(server);
    if (client != INVALID_SOCKET) ::closesocket(client);
    return error;
  }
  no_inherit(server);
  fds[0] = static_cast<int64_t>(client);
  fds[1] = static_cast<int64_t>(server);
  return 0;
}

int64_t bind(sock fd, const SockAddr& address) {
  int ret = ::bind(sock_of(fd), as_sockaddr(address), static_cast<int>(address.length));
  return ret == SOCKET_ERROR ? fail() : 0;
}

int64_t connect(sock fd, const SockAddr& address) {
  int ret = ::connect(sock_of(fd), as_sockaddr(address), static_cast<int>(address.length));
  return ret == SOCKET_ERROR ? fail() : 0;
}

int64_t listen(sock fd, int backlog) {
  return ::listen(sock_of(fd), backlog) == SOCKET_ERROR ? fail() : 0;
}

int64_t accept(sock fd) {
  SOCKET s = ::accept(sock_of(fd), nullptr, nullptr);
  if (s == INVALID_SOCKET) return fail();
  no_inherit(s);
  return static_cast<int64_t>(s);
}

int64_t getsockname(sock fd, SockAddr* out) {
  int length = sizeof(out->bytes);
  if (::getsockname(sock_of(fd), as_sockaddr(out), &length) == SOCKET_ERROR) return fail();
  out->length = static_cast<uint32_t>(length);
  return 0;
}

int64_t getpeername(sock fd, SockAddr* out) {
  int length = sizeof(out->bytes);
  if (::getpeername(sock_of(fd), as_sockaddr(out), &length) == SOCKET_ERROR) return fail();
  out->length = static_cast<uint32_t>(length);
  return 0;
}

int64_t socket_family(sock fd) {
  WSAPROTOCOL_INFOW info{};
  int length = sizeof(info);
  if (::getsockopt(sock_of(fd), SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info),
                   &length) == SOCKET_ERROR) {
    return fail();
  }
  return info.iAddressFamily;
}

// FIONBIO cannot be read back on Windows (docs/recv-semantics.md#trap-5): the library tracks it.
int64_t get_nonblocking(sock) { return -static_cast<int64_t>(WSAEOPNOTSUPP); }

int64_t set_nonblocking(sock fd, bool nonblocking) {
  u_long value = nonblocking ? 1 : 0;
  return ::ioctlsocket(sock_of(fd), FIONBIO, &value) == SOCKET_ERROR ? fail() : 0;
}

int64_t recv(sock fd, void* buffer, size_t length, int flags) {
  int ret = ::recv(sock_of(fd), static_cast<char*>(buffer), clamp(length), flags);
  return ret == SOCKET_ERROR ? fail() : ret;
}

// Winsock ignores the address arguments of a connection-oriented socket: `from` (zeroed by
// the caller) then stays AF_UNSPEC. On WSAEMSGSIZE the datagram and its sender were taken.
int64_t recvfrom(sock fd, void* buffer, size_t length, int flags, SockAddr* from) {
  int address_length = sizeof(from->bytes);
  int ret = ::recvfrom(sock_of(fd), static_cast<char*>(buffer), clamp(length), flags,
                       as_sockaddr(from), &address_length);
  int64_t error = ret == SOCKET_ERROR ? fail() : 0;
  from->length = static_cast<uint32_t>(address_length);
  return error != 0 ? error : ret;
}

// WSARecvFrom reports the output flags (MSG_PARTIAL, ...); a datagram longer than the buffer
// fails with WSAEMSGSIZE after filling it (scenario udp.truncated).
int64_t recvmsg(sock fd, void* buffer, size_t length, int flags, SockAddr* from, int* msg_flags) {
  WSABUF vector{static_cast<ULONG>(clamp(length)), static_cast<char*>(buffer)};
  DWORD received = 0;
  DWORD io_flags = static_cast<DWORD>(flags);
  int address_length = sizeof(from->bytes);
  int ret = ::WSARecvFrom(sock_of(fd), &vector, 1, &received, &io_flags, as_sockaddr(from),
                          &address_length, nullptr, nullptr);
  int64_t error = ret == SOCKET_ERROR ? fail() : 0;
  from->length = static_cast<uint32_t>(address_length);
  *msg_flags = static_cast<int>(io_flags);
  return error != 0 ? error : static_cast<int64_t>(received);
}

int64_t send(sock fd, const void* buffer, size_t length, int flags) {
  int ret = ::send(sock_of(fd), static_cast<const char*>(buffer), clamp(length), flags);
  return ret == SOCKET_ERROR ? fail() : ret;
}

int64_t sendto(sock fd, const void* buffer, size_t length, int flags, const SockAddr& to) {
  int ret = ::sendto(sock_of(fd), static_cast<const char*>(buffer), clamp(length), flags,
                     as_sockaddr(to), static_cast<int>(to.length));
  return ret == SOCKET_ERROR ? fail() : ret;
}

int64_t recv_many(sock fd, Message* messages, size_t count, int flags) {
  return recv_many_loop(fd, messages, count, flags, -WSAEMSGSIZE, MSG_TRUNC);
}

int64_t send_many(sock fd, Message* messages, size_t count, int flags) {
  return send_many_loop(fd, messages, count, flags);
}

int64_t shutdown(sock fd, int how) {
  return ::shutdown(sock_of(fd), how) == SOCKET_ERROR ? fail() : 0;
}

int64_t close(sock fd) { return ::closesocket(sock_of(fd)) == SOCKET_ERROR ? fail() : 0; }

int64_t getsockopt_int(sock fd, int level, int name) {
  int value = 0;
  int length = sizeof(value);
  if (::getsockopt(sock_of(fd), level, name, reinterpret_cast<char*>(&value), &length) ==
      SOCKET_ERROR) {
    return fail();
  }
  return value;
}

int64_t setsockopt_int(sock fd, int level, int name, int value) {
  int ret =
      ::setsockopt(sock_of(fd), level, name, reinterpret_cast<const char*>(&value), sizeof(value));
  return ret == SOCKET_ERROR ? fail() : 0;
}

// SO_RCVTIMEO / SO_SNDTIMEO are a DWORD of milliseconds on Windows, not a timeval.
int64_t get_timeout_ms(sock fd, int name) {
  DWORD value = 0;
  int length = sizeof(value);
  if (::getsockopt(sock_of(fd), SOL_SOCKET, name, reinterpret_cast<char*>(&value), &length) ==
      SOCKET_ERROR) {
    return fail();
  }
  return static_cast<int64_t>(value);
}

int64_t set_timeout_ms(sock fd, int name, uint32_t milliseconds) {
  DWORD value = milliseconds;
  int ret = ::setsockopt(sock_of(fd), SOL_SOCKET, name, reinterpret_cast<const char*>(&value),
                         sizeof(value));
  return ret == SOCKET_ERROR ? fail() : 0;
}

int64_t get_linger(sock fd, int* on, int* seconds) {
  linger value{};
  int length = sizeof(value);
  if (::getsockopt(sock_of(fd), SOL_SOCKET, SO_LINGER, reinterpret_cast<char*>(&value), &length) ==
      SOCKET_ERROR) {
    return fail();
  }
  *on = value.l_onoff;
  *seconds = value.l_linger;
  return 0;
}

int64_t set_linger(sock fd, int on, int seconds) {
  linger value{};
  value.l_onoff = static_cast<u_short>(on);
  value.l_linger = static_cast<u_short>(seconds);
  int ret = ::setsockopt(sock_of(fd), SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&value),
                         sizeof(value));
  return ret == SOCKET_ERROR ? fail() : 0;
}

int64_t fionread(sock fd) {
  u_long value = 0;
  if (::ioctlsocket(sock_of(fd), FIONREAD, &value) == SOCKET_ERROR) return fail();
  return static_cast<int64_t>(value);
}

int64_t poll(sock fd, int events) {
  WSAPOLLFD entry = {sock_of(fd), static_cast<SHORT>(events), 0};
  if (::WSAPoll(&entry, 1, 0) == SOCKET_ERROR) return fail();
  return entry.revents;
}

int64_t set_udp_connreset(sock fd, bool report) {
  BOOL value = report ? TRUE : FALSE;
  DWORD returned = 0;
  int ret = ::WSAIoctl(sock_of(fd), SIO_UDP_CONNRESET, &value, sizeof(value), nullptr, 0, &returned,
                       nullptr, nullptr);
  return ret == SOCKET_ERROR ? fail() : 0;
}

// WSARecvMsg is an extension function: its pointer is asked of the provider with WSAIoctl
// (SIO_GET_EXTENSION_FUNCTION_POINTER) on the first call, on that call's socket, and kept (it is
// the same for every socket of the TCP/IP provider). That first call makes two system calls.
std::atomic<LPFN_WSARECVMSG> g_wsarecvmsg{nullptr};

int64_t recvmsg_control(sock fd, void* buffer, size_t length, int flags, SockAddr* from,
                        void* control, size_t control_length, int* msg_flags,
                        size_t* control_used) {
  LPFN_WSARECVMSG receive = g_wsarecvmsg.load();
  if (receive == nullptr) {
    GUID guid = WSAID_WSARECVMSG;
    DWORD returned = 0;
    if (::WSAIoctl(sock_of(fd), SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), &receive,
                   sizeof(receive), &returned, nullptr, nullptr) == SOCKET_ERROR) {
      return fail();
    }
    g_wsarecvmsg.store(receive);
  }
  WSABUF vector{static_cast<ULONG>(clamp(length)), static_cast<char*>(buffer)};
  WSAMSG message{};
  message.name = as_sockaddr(from);
  message.namelen = sizeof(from->bytes);
  message.lpBuffers = &vector;
  message.dwBufferCount = 1;
  message.Control.buf = control_length > 0 ? static_cast<char*>(control) : nullptr;
  message.Control.len = static_cast<ULONG>(clamp(control_length));
  message.dwFlags = static_cast<DWORD>(flags);
  DWORD received = 0;
  int ret = receive(sock_of(fd), &message, &received, nullptr, nullptr);
  int64_t error = ret == SOCKET_ERROR ? fail() : 0;
  // On WSAEMSGSIZE the datagram, its sender and its control messages were taken.
  from->length = static_cast<uint32_t>(message.namelen);
  *msg_flags = static_cast<int>(message.dwFlags);
  *control_used = message.Control.buf != nullptr ? message.Control.len : 0;
  return error != 0 ? error : static_cast<int64_t>(received);
}

int64_t sendmsg_control(sock fd, const void* buffer, size_t length, int flags, const SockAddr* to,
                        const void* control, size_t control_length) {
  WSABUF vector{static_cast<ULONG>(clamp(length)),
                const_cast<char*>(static_cast<const char*>(buffer))};
  WSAMSG message{};
  if (to != nullptr) {
    message.name = const_cast<sockaddr*>(as_sockaddr(*to));
    message.namelen = static_cast<int>(to->length);
  }
  message.lpBuffers = &vector;
  message.dwBufferCount = 1;
  message.Control.buf =
      control_length > 0 ? const_cast<char*>(static_cast<const char*>(control)) : nullptr;
  message.Control.len = static_cast<ULONG>(clamp(control_length));
  DWORD sent = 0;
  int ret = ::WSASendMsg(sock_of(fd), &message, static_cast<DWORD>(flags), &sent, nullptr, nullptr);
  return ret == SOCKET_ERROR ? fail() : static_cast<int64_t>(sent);
}

// if_indextoname sets no error of its own: an unknown index is WSAEINVAL here.
int64_t interface_name(uint32_t index, char* name) {
  static_assert(IF_MAX_STRING_SIZE + 1 <= kInterfaceNameSize, "room for any interface name");
  if (::if_indextoname(index, name) == nullptr) return -static_cast<int64_t>(WSAEINVAL);
  return 0;
}

}  // namespace sys

int64_t address_parse(int family, const char* host, size_t host_length, int port, SockAddr* out) {
  std::memset(out->bytes, 0, sizeof(out->bytes));
  // inet_pton reads a C string, and Windows has no abstract AF_UNIX names: no NUL anywhere.
  if (std::memchr(host, '\0', host_length) != nullptr) return -WSAEINVAL;
  if (family == AF_INET) {
    auto* address = reinterpret_cast<sockaddr_in*>(out->bytes);
    address->sin_family = AF_INET;
    address->sin_port = htons(static_cast<u_short>(port));
    if (::inet_pton(AF_INET, host, &address->sin_addr) != 1) return -WSAEINVAL;
    out->length = sizeof(sockaddr_in);
    return 0;
  }
  if (family == AF_INET6) {
    auto* address = reinterpret_cast<sockaddr_in6*>(out->bytes);
    address->sin6_family = AF_INET6;
    address->sin6_port = htons(static_cast<u_short>(port));
    if (::inet_pton(AF_INET6, host, &address->sin6_addr) != 1) return -WSAEINVAL;
    out->length = sizeof(sockaddr_in6);
    return 0;
  }
#ifdef AF_UNIX
  if (family == AF_UNIX) {
    auto* address = reinterpret_cast<SOCKADDR_UN*>(out->bytes);
    if (host_length >= sizeof(address->sun_path)) return -WSAENAMETOOLONG;
    address->sun_family = AF_UNIX;
    std::memcpy(address->sun_path, host, host_length);
    out->length = static_cast<uint32_t>(offsetof(SOCKADDR_UN, sun_path) + host_length + 1);
    return 0;
  }
#endif
  return -WSAEAFNOSUPPORT;
}

size_t unix_path_size() {
#ifdef AF_UNIX
  return sizeof(SOCKADDR_UN::sun_path);
#else
  return 0;
#endif
}

void address_format(const SockAddr& address, Address* out) {
  const auto* base = as_sockaddr(address);
  out->host[0] = '\0';
  out->host_length = 0;
  out->port = 0;
  out->family = address.length < sizeof(base->sa_family) ? AF_UNSPEC : base->sa_family;
  if (out->family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address.bytes);
    ::inet_ntop(AF_INET, &in->sin_addr, out->host, sizeof(out->host));
    out->host_length = std::strlen(out->host);
    out->port = ntohs(in->sin_port);
  } else if (out->family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.bytes);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, out->host, sizeof(out->host));
    out->host_length = std::strlen(out->host);
    out->port = ntohs(in6->sin6_port);
  }
#ifdef AF_UNIX
  else if (out->family == AF_UNIX) {
    const auto* un = reinterpret_cast<const SOCKADDR_UN*>(address.bytes);
    size_t offset = offsetof(SOCKADDR_UN, sun_path);
    size_t length = address.length > offset ? address.length - offset : 0;
    if (length > sizeof(un->sun_path)) length = sizeof(un->sun_path);
    size_t n = strnlen(un->sun_path, length);
    if (n >= sizeof(out->host)) n = sizeof(out->host) - 1;
    std::memcpy(out->host, un->sun_path, n);
    out->host[n] = '\0';
    out->host_length = n;
  }
#endif
}

int64_t process_handle_count() {
  DWORD count = 0;
  if (!GetProcessHandleCount(GetCurrentProcess(), &count))
    return -static_cast<int64_t>(GetLastError());
  return static_cast<int64_t>(count);
}

const char* wine_version() {
  // Wine's ntdll exports wine_get_version; Windows' does not. The documented way to tell.
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  if (ntdll == nullptr) return nullptr;
  using Getter = const char*(__cdecl*)();
  // Through void(*)(), the type-erased function pointer, as -Wcast-function-type asks.
  auto getter = reinterpret_cast<Getter>(
      reinterpret_cast<void (*)()>(GetProcAddress(ntdll, "wine_get_version")));
  return getter != nullptr ? getter() : nullptr;
}

const ConstantGroup* constant_groups(size_t* count) {
  *count = sizeof(kGroups) / sizeof(kGroups[0]);
  return kGroups;
}

const char* platform_name() { return "win32"; }

size_t control_walk(const void* control, size_t used, ControlEntry* out, size_t max) {
  WSAMSG message{};
  message.Control.buf = static_cast<char*>(const_cast<void*>(control));
  message.Control.len = static_cast<ULONG>(used);
  const auto* base = static_cast<const unsigned char*>(control);
  size_t count = 0;
  for (WSACMSGHDR* header = WSA_CMSG_FIRSTHDR(&message); header != nullptr;
       header = WSA_CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_len < WSA_CMSG_LEN(0)) break;  // malformed: nothing after it can be trusted
    size_t offset = static_cast<size_t>(WSA_CMSG_DATA(header) - base);
    size_t length = header->cmsg_len - WSA_CMSG_LEN(0);
    if (offset > used) offset = used;
    if (length > used - offset) length = used - offset;
    if (count < max)
      out[count] = ControlEntry{header->cmsg_level, header->cmsg_type, offset, length};
    ++count;
  }
  return count;
}

size_t control_space(size_t length) { return WSA_CMSG_SPACE(length); }

size_t control_build(void* out, int level, int type, const void* data, size_t length) {
  std::memset(out, 0, WSA_CMSG_SPACE(length));
  auto* header = static_cast<WSACMSGHDR*>(out);
  header->cmsg_level = level;
  header->cmsg_type = type;
  header->cmsg_len = WSA_CMSG_LEN(length);
  if (length > 0) std::memcpy(WSA_CMSG_DATA(header), data, length);
  return WSA_CMSG_SPACE(length);
}

int64_t address_ntop(int family, const void* bytes, size_t available, char* out, size_t size) {
  size_t needed = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (needed == 0) return -static_cast<int64_t>(WSAEAFNOSUPPORT);
  if (available < needed) return -static_cast<int64_t>(WSAEINVAL);
  if (::inet_ntop(family, bytes, out, size) == nullptr) return fail();
  return 0;
}

int64_t address_pton(int family, const char* host, void* out) {
  if (family != AF_INET && family != AF_INET6) return -static_cast<int64_t>(WSAEAFNOSUPPORT);
  int ret = ::inet_pton(family, host, out);
  if (ret == 1) return family == AF_INET6 ? 16 : 4;
  return ret == 0 ? -static_cast<int64_t>(WSAEINVAL) : fail();
}

ControlSizes control_sizes() {
  ControlSizes sizes{};
  sizes.in_pktinfo = sizeof(IN_PKTINFO);
  sizes.in6_pktinfo = sizeof(IN6_PKTINFO);
  return sizes;
}

}  // namespace rawrecv
