// POSIX implementation of platform.h: Linux, macOS, FreeBSD.
// One system call per function; the error is read on the next line.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#ifdef __linux__
#include <linux/errqueue.h>  // sock_extended_err, SO_EE_ORIGIN_* (IP_RECVERR)
#endif

#include "batch.h"
#include "platform.h"

static_assert(sizeof(sockaddr_storage) <= sizeof(rawrecv::SockAddr::bytes),
              "SockAddr must hold any sockaddr");

namespace rawrecv {
namespace {

inline int64_t result(ssize_t ret) { return ret == -1 ? -static_cast<int64_t>(errno) : ret; }

inline int fd_of(sock fd) { return static_cast<int>(fd); }

inline sockaddr* as_sockaddr(SockAddr* address) {
  return reinterpret_cast<sockaddr*>(address->bytes);
}
inline const sockaddr* as_sockaddr(const SockAddr& address) {
  return reinterpret_cast<const sockaddr*>(address.bytes);
}

const Constant k_errno[] = {
#ifdef E2BIG
    {"E2BIG", E2BIG},
#endif
#ifdef EACCES
    {"EACCES", EACCES},
#endif
#ifdef EADDRINUSE
    {"EADDRINUSE", EADDRINUSE},
#endif
#ifdef EADDRNOTAVAIL
    {"EADDRNOTAVAIL", EADDRNOTAVAIL},
#endif
#ifdef EAFNOSUPPORT
    {"EAFNOSUPPORT", EAFNOSUPPORT},
#endif
#ifdef EAGAIN
    {"EAGAIN", EAGAIN},
#endif
#ifdef EALREADY
    {"EALREADY", EALREADY},
#endif
#ifdef EBADF
    {"EBADF", EBADF},
#endif
#ifdef EBUSY
    {"EBUSY", EBUSY},
#endif
#ifdef ECANCELED
    {"ECANCELED", ECANCELED},
#endif
#ifdef ECONNABORTED
    {"ECONNABORTED", ECONNABORTED},
#endif
#ifdef ECONNREFUSED
    {"ECONNREFUSED", ECONNREFUSED},
#endif
#ifdef ECONNRESET
    {"ECONNRESET", ECONNRESET},
#endif
#ifdef EDESTADDRREQ
    {"EDESTADDRREQ", EDESTADDRREQ},
#endif
#ifdef EEXIST
    {"EEXIST", EEXIST},
#endif
#ifdef EFAULT
    {"EFAULT", EFAULT},
#endif
#ifdef EHOSTDOWN
    {"EHOSTDOWN", EHOSTDOWN},
#endif
#ifdef EHOSTUNREACH
    {"EHOSTUNREACH", EHOSTUNREACH},
#endif
#ifdef EINPROGRESS
    {"EINPROGRESS", EINPROGRESS},
#endif
#ifdef EINTR
    {"EINTR", EINTR},
#endif
#ifdef EINVAL
    {"EINVAL", EINVAL},
#endif
#ifdef EIO
    {"EIO", EIO},
#endif
#ifdef EISCONN
    {"EISCONN", EISCONN},
#endif
#ifdef EMFILE
    {"EMFILE", EMFILE},
#endif
#ifdef EMSGSIZE
    {"EMSGSIZE", EMSGSIZE},
#endif
#ifdef ENAMETOOLONG
    {"ENAMETOOLONG", ENAMETOOLONG},
#endif
#ifdef ENETDOWN
    {"ENETDOWN", ENETDOWN},
#endif
#ifdef ENETRESET
    {"ENETRESET", ENETRESET},
#endif
#ifdef ENETUNREACH
    {"ENETUNREACH", ENETUNREACH},
#endif
#ifdef ENFILE
    {"ENFILE", ENFILE},
#endif
#ifdef ENOBUFS
    {"ENOBUFS", ENOBUFS},
#endif
#ifdef ENOENT
    {"ENOENT", ENOENT},
#endif
#ifdef ENOMEM
    {"ENOMEM", ENOMEM},
#endif
#ifdef ENOPROTOOPT
    {"ENOPROTOOPT", ENOPROTOOPT},
#endif
#ifdef ENOSYS
    {"ENOSYS", ENOSYS},
#endif
#ifdef ENOTCONN
    {"ENOTCONN", ENOTCONN},
#endif
#ifdef ENOTSOCK
    {"ENOTSOCK", ENOTSOCK},
#endif
#ifdef ENOTSUP
    {"ENOTSUP", ENOTSUP},
#endif
#ifdef EOPNOTSUPP
    {"EOPNOTSUPP", EOPNOTSUPP},
#endif
#ifdef EPERM
    {"EPERM", EPERM},
#endif
#ifdef EPFNOSUPPORT
    {"EPFNOSUPPORT", EPFNOSUPPORT},
#endif
#ifdef EPIPE
    {"EPIPE", EPIPE},
#endif
#ifdef EPROTO
    {"EPROTO", EPROTO},
#endif
#ifdef EPROTONOSUPPORT
    {"EPROTONOSUPPORT", EPROTONOSUPPORT},
#endif
#ifdef EPROTOTYPE
    {"EPROTOTYPE", EPROTOTYPE},
#endif
#ifdef ERANGE
    {"ERANGE", ERANGE},
#endif
#ifdef ESHUTDOWN
    {"ESHUTDOWN", ESHUTDOWN},
#endif
#ifdef ESOCKTNOSUPPORT
    {"ESOCKTNOSUPPORT", ESOCKTNOSUPPORT},
#endif
#ifdef ETIMEDOUT
    {"ETIMEDOUT", ETIMEDOUT},
#endif
#ifdef ETOOMANYREFS
    {"ETOOMANYREFS", ETOOMANYREFS},
#endif
#ifdef EWOULDBLOCK
    {"EWOULDBLOCK", EWOULDBLOCK},
#endif
};
#include "constants.inc"
const Constant k_SHUT[] = {
#ifdef SHUT_RD
    {"SHUT_RD", SHUT_RD},
#endif
#ifdef SHUT_WR
    {"SHUT_WR", SHUT_WR},
#endif
#ifdef SHUT_RDWR
    {"SHUT_RDWR", SHUT_RDWR},
#endif
};

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

// What SOCK_CLOEXEC and MSG_NOSIGNAL do where they exist, done by hand where they do not
// (macOS): close-on-exec, so a child process Node spawns never inherits the socket, and
// SO_NOSIGPIPE, so a send to a closed peer is EPIPE rather than SIGPIPE. Their own failures
// cannot make the new descriptor unusable and are not reported.
static void finish_new(int fd) {
#ifndef SOCK_CLOEXEC
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
#endif
  (void)fd;
}

#ifdef SOCK_CLOEXEC
constexpr int kCloexec = SOCK_CLOEXEC;  // atomic: no window for a fork between the calls
#else
constexpr int kCloexec = 0;
#endif

int64_t socket(int domain, int type, int protocol) {
  int fd = ::socket(domain, type | kCloexec, protocol);
  if (fd == -1) return -static_cast<int64_t>(errno);
  finish_new(fd);
  return fd;
}

int64_t socketpair(int domain, int type, int protocol, sock fds[2]) {
  int pair[2];
  int ret = ::socketpair(domain, type | kCloexec, protocol, pair);
  if (ret == -1) return -static_cast<int64_t>(errno);
  finish_new(pair[0]);
  finish_new(pair[1]);
  fds[0] = pair[0];
  fds[1] = pair[1];
  return 0;
}

int64_t bind(sock fd, const SockAddr& address) {
  return result(::bind(fd_of(fd), as_sockaddr(address), address.length));
}

int64_t connect(sock fd, const SockAddr& address) {
  return result(::connect(fd_of(fd), as_sockaddr(address), address.length));
}

int64_t listen(sock fd, int backlog) { return result(::listen(fd_of(fd), backlog)); }

int64_t accept(sock fd) {
#if defined(__linux__) || defined(__FreeBSD__)
  int ret = ::accept4(fd_of(fd), nullptr, nullptr, SOCK_CLOEXEC);
#else
  int ret = ::accept(fd_of(fd), nullptr, nullptr);
#endif
  if (ret == -1) return -static_cast<int64_t>(errno);
  finish_new(ret);
  return ret;
}

int64_t getsockname(sock fd, SockAddr* out) {
  socklen_t length = sizeof(out->bytes);
  int ret = ::getsockname(fd_of(fd), as_sockaddr(out), &length);
  if (ret == -1) return -static_cast<int64_t>(errno);
  out->length = length;
  return 0;
}

int64_t getpeername(sock fd, SockAddr* out) {
  socklen_t length = sizeof(out->bytes);
  int ret = ::getpeername(fd_of(fd), as_sockaddr(out), &length);
  if (ret == -1) return -static_cast<int64_t>(errno);
  out->length = length;
  return 0;
}

int64_t socket_family(sock fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  int ret = ::getsockname(fd_of(fd), reinterpret_cast<sockaddr*>(&address), &length);
  if (ret == -1) return -static_cast<int64_t>(errno);
  return address.ss_family;
}

int64_t get_nonblocking(sock fd) {
  int flags = ::fcntl(fd_of(fd), F_GETFL);
  if (flags == -1) return -static_cast<int64_t>(errno);
  return (flags & O_NONBLOCK) ? 1 : 0;
}

int64_t set_nonblocking(sock fd, bool nonblocking) {
  // Read-modify-write: O_NONBLOCK is one of several status flags of the open
  // file description (docs/recv-semantics.md#trap-5), and the others must survive.
  int flags = ::fcntl(fd_of(fd), F_GETFL);
  if (flags == -1) return -static_cast<int64_t>(errno);
  int wanted = nonblocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted == flags) return 0;
  return result(::fcntl(fd_of(fd), F_SETFL, wanted));
}

int64_t recv(sock fd, void* buffer, size_t length, int flags) {
  return result(::recv(fd_of(fd), buffer, length, flags));
}

int64_t recvfrom(sock fd, void* buffer, size_t length, int flags, SockAddr* from) {
  socklen_t address_length = sizeof(from->bytes);
  ssize_t ret = ::recvfrom(fd_of(fd), buffer, length, flags, as_sockaddr(from), &address_length);
  if (ret == -1) return -static_cast<int64_t>(errno);
  from->length = address_length;
  return ret;
}

int64_t recvmsg(sock fd, void* buffer, size_t length, int flags, SockAddr* from, int* msg_flags) {
  iovec vector{buffer, length};
  msghdr message{};
  message.msg_name = from->bytes;
  message.msg_namelen = sizeof(from->bytes);
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  ssize_t ret = ::recvmsg(fd_of(fd), &message, flags);
  if (ret == -1) return -static_cast<int64_t>(errno);
  from->length = message.msg_namelen;
  *msg_flags = message.msg_flags;
  return ret;
}

int64_t send(sock fd, const void* buffer, size_t length, int flags) {
  return result(::send(fd_of(fd), buffer, length, flags));
}

int64_t sendto(sock fd, const void* buffer, size_t length, int flags, const SockAddr& to) {
  return result(::sendto(fd_of(fd), buffer, length, flags, as_sockaddr(to), to.length));
}

#ifdef __linux__
int64_t recv_many(sock fd, Message* messages, size_t count, int flags) {
  // The kernel takes at most UIO_MAXIOV (1024) a call: the glue checks that.
  std::vector<mmsghdr> headers(count);
  std::vector<iovec> vectors(count);
  for (size_t i = 0; i < count; ++i) {
    vectors[i] = iovec{messages[i].data, messages[i].length};
    headers[i] = mmsghdr{};
    headers[i].msg_hdr.msg_name = messages[i].address.bytes;
    headers[i].msg_hdr.msg_namelen = sizeof(messages[i].address.bytes);
    headers[i].msg_hdr.msg_iov = &vectors[i];
    headers[i].msg_hdr.msg_iovlen = 1;
  }
  int ret = ::recvmmsg(fd_of(fd), headers.data(), static_cast<unsigned>(count), flags, nullptr);
  if (ret == -1) return -static_cast<int64_t>(errno);
  for (int i = 0; i < ret; ++i) {
    messages[i].address.length = headers[i].msg_hdr.msg_namelen;
    messages[i].transferred = headers[i].msg_len;
    messages[i].flags = headers[i].msg_hdr.msg_flags;
  }
  return ret;
}

int64_t send_many(sock fd, Message* messages, size_t count, int flags) {
  // The kernel takes at most UIO_MAXIOV (1024) a call: the glue checks that.
  std::vector<mmsghdr> headers(count);
  std::vector<iovec> vectors(count);
  for (size_t i = 0; i < count; ++i) {
    vectors[i] = iovec{messages[i].data, messages[i].length};
    headers[i] = mmsghdr{};
    if (messages[i].address.length > 0) {
      headers[i].msg_hdr.msg_name = messages[i].address.bytes;
      headers[i].msg_hdr.msg_namelen = messages[i].address.length;
    }
    headers[i].msg_hdr.msg_iov = &vectors[i];
    headers[i].msg_hdr.msg_iovlen = 1;
  }
  int ret = ::sendmmsg(fd_of(fd), headers.data(), static_cast<unsigned>(count), flags);
  if (ret == -1) return -static_cast<int64_t>(errno);
  for (int i = 0; i < ret; ++i) messages[i].transferred = headers[i].msg_len;
  return ret;
}
#else
int64_t recv_many(sock fd, Message* messages, size_t count, int flags) {
  return recv_many_loop(fd, messages, count, flags, 0, 0);
}

int64_t send_many(sock fd, Message* messages, size_t count, int flags) {
  return send_many_loop(fd, messages, count, flags);
}
#endif

int64_t shutdown(sock fd, int how) { return result(::shutdown(fd_of(fd), how)); }

int64_t close(sock fd) { return result(::close(fd_of(fd))); }

int64_t getsockopt_int(sock fd, int level, int name) {
  int value = 0;
  socklen_t length = sizeof(value);
  int ret = ::getsockopt(fd_of(fd), level, name, &value, &length);
  if (ret == -1) return -static_cast<int64_t>(errno);
  return value;
}

int64_t setsockopt_int(sock fd, int level, int name, int value) {
  return result(::setsockopt(fd_of(fd), level, name, &value, sizeof(value)));
}

int64_t get_timeout_ms(sock fd, int name) {
  timeval value{};
  socklen_t length = sizeof(value);
  int ret = ::getsockopt(fd_of(fd), SOL_SOCKET, name, &value, &length);
  if (ret == -1) return -static_cast<int64_t>(errno);
  // Round up: the kernel keeps its own granularity, and a timeout that is set
  // must never read back as 0 ("none").
  return static_cast<int64_t>(value.tv_sec) * 1000 + (value.tv_usec + 999) / 1000;
}

int64_t set_timeout_ms(sock fd, int name, uint32_t milliseconds) {
  timeval value{};
  value.tv_sec = static_cast<time_t>(milliseconds / 1000);
  value.tv_usec = static_cast<suseconds_t>((milliseconds % 1000) * 1000);
  return result(::setsockopt(fd_of(fd), SOL_SOCKET, name, &value, sizeof(value)));
}

int64_t get_linger(sock fd, int* on, int* seconds) {
  linger value{};
  socklen_t length = sizeof(value);
  int ret = ::getsockopt(fd_of(fd), SOL_SOCKET, SO_LINGER, &value, &length);
  if (ret == -1) return -static_cast<int64_t>(errno);
  *on = value.l_onoff;
  *seconds = value.l_linger;
  return 0;
}

int64_t set_linger(sock fd, int on, int seconds) {
  linger value{};
  value.l_onoff = on;
  value.l_linger = seconds;
  return result(::setsockopt(fd_of(fd), SOL_SOCKET, SO_LINGER, &value, sizeof(value)));
}

int64_t fionread(sock fd) {
  int value = 0;
  int ret = ::ioctl(fd_of(fd), FIONREAD, &value);
  if (ret == -1) return -static_cast<int64_t>(errno);
  return value;
}

int64_t poll(sock fd, int events) {
  struct pollfd entry = {fd_of(fd), static_cast<short>(events), 0};
  int ret = ::poll(&entry, 1, 0);
  if (ret == -1) return -static_cast<int64_t>(errno);
  return entry.revents;
}

int64_t set_udp_connreset(sock, bool) { return -EOPNOTSUPP; }

#ifdef MSG_CMSG_CLOEXEC
constexpr int kControlCloexec = MSG_CMSG_CLOEXEC;  // atomic, as SOCK_CLOEXEC
#else
constexpr int kControlCloexec = 0;

// What MSG_CMSG_CLOEXEC does, done by hand where it does not exist (macOS): every descriptor
// received in SCM_RIGHTS gets FD_CLOEXEC. Its failure cannot be reported: the data was taken.
static void cloexec_received(msghdr* message) {
  for (cmsghdr* header = CMSG_FIRSTHDR(message); header != nullptr;
       header = CMSG_NXTHDR(message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    // Within the control data the kernel wrote: a cut header (MSG_CTRUNC) may claim more.
    const char* end = static_cast<const char*>(message->msg_control) + message->msg_controllen;
    const char* data = reinterpret_cast<const char*>(CMSG_DATA(header));
    size_t claimed = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    size_t room = data < end ? static_cast<size_t>(end - data) / sizeof(int) : 0;
    size_t count = claimed < room ? claimed : room;
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
      ::fcntl(received, F_SETFD, FD_CLOEXEC);
    }
  }
}
#endif

int64_t recvmsg_control(sock fd, void* buffer, size_t length, int flags, SockAddr* from,
                        void* control, size_t control_length, int* msg_flags,
                        size_t* control_used) {
  iovec vector{buffer, length};
  msghdr message{};
  message.msg_name = from->bytes;
  message.msg_namelen = sizeof(from->bytes);
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control_length > 0 ? control : nullptr;
  message.msg_controllen = static_cast<decltype(message.msg_controllen)>(control_length);
  ssize_t ret = ::recvmsg(fd_of(fd), &message, flags | kControlCloexec);
  if (ret == -1) return -static_cast<int64_t>(errno);
#ifndef MSG_CMSG_CLOEXEC
  cloexec_received(&message);
#endif
  from->length = message.msg_namelen;
  *msg_flags = message.msg_flags;
  *control_used = message.msg_control != nullptr ? message.msg_controllen : 0;
  return ret;
}

int64_t sendmsg_control(sock fd, const void* buffer, size_t length, int flags, const SockAddr* to,
                        const void* control, size_t control_length) {
  iovec vector{const_cast<void*>(buffer), length};
  msghdr message{};
  if (to != nullptr) {
    message.msg_name = const_cast<unsigned char*>(to->bytes);
    message.msg_namelen = to->length;
  }
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control_length > 0 ? const_cast<void*>(control) : nullptr;
  message.msg_controllen = static_cast<decltype(message.msg_controllen)>(control_length);
  return result(::sendmsg(fd_of(fd), &message, flags));
}

int64_t interface_name(uint32_t index, char* name) {
  static_assert(IF_NAMESIZE <= kInterfaceNameSize, "room for any interface name");
  if (::if_indextoname(index, name) == nullptr) return -static_cast<int64_t>(errno);
  return 0;
}

}  // namespace sys

int64_t address_parse(int family, const char* host, size_t host_length, int port, SockAddr* out) {
  std::memset(out->bytes, 0, sizeof(out->bytes));
  // Only an AF_UNIX abstract name may hold a NUL (its first byte): inet_pton reads a C string.
  bool has_nul = std::memchr(host, '\0', host_length) != nullptr;
  if (family == AF_INET) {
    auto* address = reinterpret_cast<sockaddr_in*>(out->bytes);
    address->sin_family = AF_INET;
    address->sin_port = htons(static_cast<uint16_t>(port));
    if (has_nul || ::inet_pton(AF_INET, host, &address->sin_addr) != 1) return -EINVAL;
#ifdef __APPLE__
    address->sin_len = sizeof(sockaddr_in);
#endif
    out->length = sizeof(sockaddr_in);
    return 0;
  }
  if (family == AF_INET6) {
    auto* address = reinterpret_cast<sockaddr_in6*>(out->bytes);
    address->sin6_family = AF_INET6;
    address->sin6_port = htons(static_cast<uint16_t>(port));
    if (has_nul || ::inet_pton(AF_INET6, host, &address->sin6_addr) != 1) return -EINVAL;
#ifdef __APPLE__
    address->sin6_len = sizeof(sockaddr_in6);
#endif
    out->length = sizeof(sockaddr_in6);
    return 0;
  }
  if (family == AF_UNIX) {
    auto* address = reinterpret_cast<sockaddr_un*>(out->bytes);
    size_t offset = offsetof(sockaddr_un, sun_path);
    address->sun_family = AF_UNIX;
    if (host_length > 0 && host[0] == '\0') {
#ifdef __linux__
      // unix(7): an abstract name is every byte of sun_path the length covers, NULs included,
      // with no terminator; the length is what names it.
      if (host_length > sizeof(address->sun_path)) return -ENAMETOOLONG;
      std::memcpy(address->sun_path, host, host_length);
      out->length = static_cast<uint32_t>(offset + host_length);
      return 0;
#else
      return -EINVAL;  // only Linux has abstract names
#endif
    }
    if (has_nul) return -EINVAL;
    if (host_length >= sizeof(address->sun_path)) return -ENAMETOOLONG;
    std::memcpy(address->sun_path, host, host_length);
    // An empty path is the bare family: Linux autobinds (bind) such a socket to an abstract name.
    out->length = static_cast<uint32_t>(offset + (host_length > 0 ? host_length + 1 : 0));
#if defined(__APPLE__) || defined(__FreeBSD__)
    address->sun_len = static_cast<uint8_t>(out->length);
#endif
    return 0;
  }
  return -EAFNOSUPPORT;
}

size_t unix_path_size() { return sizeof(sockaddr_un::sun_path); }

void address_format(const SockAddr& address, Address* out) {
  const auto* base = as_sockaddr(address);
  out->host[0] = '\0';
  out->host_length = 0;
  out->port = 0;
  // An unnamed peer (a connected TCP socket's recvfrom, a socketpair) has no
  // address at all: report the family as unspecified.
  out->family = address.length < sizeof(sa_family_t) ? AF_UNSPEC : base->sa_family;
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
  } else if (out->family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(address.bytes);
    size_t offset = offsetof(sockaddr_un, sun_path);
    size_t length = address.length > offset ? address.length - offset : 0;
    if (length > sizeof(un->sun_path)) length = sizeof(un->sun_path);
    // A Linux abstract name starts with a NUL byte and is exactly `length` bytes; a path ends
    // at its NUL (the length may count it, or not).
    size_t n = length > 0 && un->sun_path[0] == '\0' ? length : strnlen(un->sun_path, length);
    if (n >= sizeof(out->host)) n = sizeof(out->host) - 1;
    std::memcpy(out->host, un->sun_path, n);
    out->host[n] = '\0';
    out->host_length = n;
  }
}

int64_t process_handle_count() { return -ENOSYS; }

const char* wine_version() { return nullptr; }

const ConstantGroup* constant_groups(size_t* count) {
  *count = sizeof(kGroups) / sizeof(kGroups[0]);
  return kGroups;
}

const char* platform_name() {
#if defined(__linux__)
  return "linux";
#elif defined(__APPLE__)
  return "darwin";
#elif defined(__FreeBSD__)
  return "freebsd";
#else
  return "unknown";
#endif
}

size_t control_walk(const void* control, size_t used, ControlEntry* out, size_t max) {
  msghdr message{};
  message.msg_control = const_cast<void*>(control);
  message.msg_controllen = static_cast<decltype(message.msg_controllen)>(used);
  const auto* base = static_cast<const unsigned char*>(control);
  size_t count = 0;
// musl's CMSG_NXTHDR compares a size_t with a pointer difference (-Wsign-compare in the macro).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_len < CMSG_LEN(0)) break;  // malformed: nothing after it can be trusted
    size_t offset = static_cast<size_t>(CMSG_DATA(header) - base);
    size_t length = header->cmsg_len - CMSG_LEN(0);
    if (offset > used) offset = used;
    if (length > used - offset) length = used - offset;
    if (count < max)
      out[count] = ControlEntry{header->cmsg_level, header->cmsg_type, offset, length};
    ++count;
  }
#pragma GCC diagnostic pop
  return count;
}

size_t control_space(size_t length) { return CMSG_SPACE(length); }

size_t control_build(void* out, int level, int type, const void* data, size_t length) {
  std::memset(out, 0, CMSG_SPACE(length));
  auto* header = static_cast<cmsghdr*>(out);
  header->cmsg_level = level;
  header->cmsg_type = type;
  header->cmsg_len = static_cast<decltype(header->cmsg_len)>(CMSG_LEN(length));
  if (length > 0) std::memcpy(CMSG_DATA(header), data, length);
  return CMSG_SPACE(length);
}

int64_t address_ntop(int family, const void* bytes, size_t available, char* out, size_t size) {
  size_t needed = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (needed == 0) return -EAFNOSUPPORT;
  if (available < needed) return -EINVAL;
  if (::inet_ntop(family, bytes, out, static_cast<socklen_t>(size)) == nullptr) {
    return -static_cast<int64_t>(errno);
  }
  return 0;
}

int64_t address_pton(int family, const char* host, void* out) {
  if (family != AF_INET && family != AF_INET6) return -EAFNOSUPPORT;
  int ret = ::inet_pton(family, host, out);
  if (ret == 1) return family == AF_INET6 ? 16 : 4;
  return ret == 0 ? -EINVAL : -EAFNOSUPPORT;
}

ControlSizes control_sizes() {
  ControlSizes sizes{};
#if defined(IP_PKTINFO) && defined(__linux__)
  sizes.in_pktinfo = sizeof(in_pktinfo);
#endif
#ifdef IPV6_PKTINFO
  sizes.in6_pktinfo = sizeof(in6_pktinfo);
#endif
  sizes.timespec = sizeof(timespec);
#ifdef SCM_CREDENTIALS
  sizes.ucred = sizeof(ucred);
#endif
#ifdef __linux__
  sizes.sock_extended_err = sizeof(sock_extended_err);
#endif
  return sizes;
}

}  // namespace rawrecv
