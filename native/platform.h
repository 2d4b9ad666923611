// The platform layer: one C++ function per system call, no N-API, no decisions.
//
// Every function returns the call's own non-negative result, or the negated
// platform error code: -errno on POSIX, -WSAGetLastError() on Windows. The error
// is read on the line after the call, before anything else can overwrite it
// (docs/recv-semantics.md#trap-4). Nothing here retries on EINTR or loops on EAGAIN.
//
// posix.cc implements this header for Linux, macOS and the BSDs; a Winsock file
// implements the same header for Windows, so the glue and TypeScript never change.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rawrecv {

// A socket descriptor as it crosses into JavaScript: an int on POSIX, a SOCKET
// (64-bit on Win64) on Windows. JavaScript numbers hold both exactly.
using sock = int64_t;

// Opaque room for any sockaddr (sizeof(sockaddr_storage) is 128 everywhere).
struct SockAddr {
  alignas(8) unsigned char bytes[128];
  uint32_t length;
};

// One message of a batch (recv_many / send_many).
struct Message {
  void* data;
  size_t length;
  // recv: the sender (length 0: none given). send: the destination (length 0: none, connected).
  SockAddr address;
  // Out: bytes received or sent.
  int64_t transferred;
  // Out, recv: msg_flags (MSG_TRUNC, ...).
  int flags;
};

// A decoded address. For AF_UNIX `host` is the path ("" for an unnamed socket); a Linux
// abstract name keeps its leading NUL, so `host_length` (not strlen) says how long it is.
struct Address {
  int family;  // AF_INET, AF_INET6, AF_UNIX, or the raw family value
  char host[112];
  size_t host_length;
  int port;
};

// A compile-time constant of this platform's headers, by name.
struct Constant {
  const char* name;
  int value;
};

struct ConstantGroup {
  const char* name;  // "errno", "AF", "SOCK", "MSG", ...
  const Constant* entries;
  size_t count;
};

namespace sys {

// socket(2), with close-on-exec set where the OS can do it atomically.
int64_t socket(int domain, int type, int protocol);
// socketpair(2); the two descriptors are written to fds.
int64_t socketpair(int domain, int type, int protocol, sock fds[2]);
int64_t bind(sock fd, const SockAddr& address);
int64_t connect(sock fd, const SockAddr& address);
int64_t listen(sock fd, int backlog);
// accept(2) (accept4 with SOCK_CLOEXEC on Linux and FreeBSD). The peer's address is asked
// for separately (getpeername), so none is taken here.
int64_t accept(sock fd);
int64_t getsockname(sock fd, SockAddr* out);
int64_t getpeername(sock fd, SockAddr* out);
// The socket's address family (AF_*): getsockname on POSIX, which answers for an unbound
// socket too; getsockopt(SO_PROTOCOL_INFOW) on Windows, where getsockname of an unbound socket
// fails (WSAEINVAL).
int64_t socket_family(sock fd);
// fcntl(F_GETFL): 1 if O_NONBLOCK is set, else 0.
int64_t get_nonblocking(sock fd);
// fcntl(F_GETFL) then fcntl(F_SETFL) with only O_NONBLOCK changed.
int64_t set_nonblocking(sock fd, bool nonblocking);
int64_t recv(sock fd, void* buffer, size_t length, int flags);
int64_t recvfrom(sock fd, void* buffer, size_t length, int flags, SockAddr* from);
// recvfrom / recvmsg set from->length to 0 when the call gave no address (a connected stream
// socket): the caller zero-initialises `from`, so its family then reads AF_UNSPEC.
// recvmsg(2) with one iovec; msg_flags (MSG_TRUNC, ...) is written to msg_flags.
int64_t recvmsg(sock fd, void* buffer, size_t length, int flags, SockAddr* from, int* msg_flags);
int64_t send(sock fd, const void* buffer, size_t length, int flags);
int64_t sendto(sock fd, const void* buffer, size_t length, int flags, const SockAddr& to);
// A batch: recvmmsg(2) / sendmmsg(2) on Linux, one call for up to `count` messages; elsewhere a
// loop of recvmsg / sendto (see batch.h for what the loop does to stay one call's worth). Each
// returns how many messages went, or the negated error of the first one. A later message's
// error ends the batch: Linux's recvmmsg keeps it pending for the next call (would-block
// aside), sendmmsg drops it (the next call meets it again).
int64_t recv_many(sock fd, Message* messages, size_t count, int flags);
int64_t send_many(sock fd, Message* messages, size_t count, int flags);
int64_t shutdown(sock fd, int how);
int64_t close(sock fd);
// getsockopt/setsockopt for options whose value is an int.
int64_t getsockopt_int(sock fd, int level, int name);
int64_t setsockopt_int(sock fd, int level, int name, int value);
// SO_RCVTIMEO / SO_SNDTIMEO in whole milliseconds (rounded up), 0 = none.
int64_t get_timeout_ms(sock fd, int name);
int64_t set_timeout_ms(sock fd, int name, uint32_t milliseconds);
// SO_LINGER.
int64_t get_linger(sock fd, int* on, int* seconds);
int64_t set_linger(sock fd, int on, int seconds);
// ioctl(FIONREAD): bytes queued for reading.
int64_t fionread(sock fd);
// poll(2) (WSAPoll on Windows) on one descriptor with a zero timeout: the revents bits.
int64_t poll(sock fd, int events);
// Windows' WSAIoctl(SIO_UDP_CONNRESET): whether an unconnected UDP socket's recvfrom reports
// an ICMP port-unreachable as WSAECONNRESET. POSIX has no such switch: -EOPNOTSUPP, no call.
int64_t set_udp_connreset(sock fd, bool report);
// recvmsg(2) with one iovec and a control buffer (WSARecvMsg on Windows, its pointer fetched once
// per process with WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) on this socket). msg_flags goes
// to msg_flags and the control bytes the kernel wrote (msg_controllen) to control_used. POSIX
// adds MSG_CMSG_CLOEXEC where it exists; elsewhere each SCM_RIGHTS descriptor gets FD_CLOEXEC
// right after the call (a fork in between could inherit it: the OS offers nothing better).
int64_t recvmsg_control(sock fd, void* buffer, size_t length, int flags, SockAddr* from,
                        void* control, size_t control_length, int* msg_flags, size_t* control_used);
// sendmsg(2) (WSASendMsg) with one iovec, `to` (nullptr: the connected peer) and control bytes
// laid out by control_build.
int64_t sendmsg_control(sock fd, const void* buffer, size_t length, int flags, const SockAddr* to,
                        const void* control, size_t control_length);
// if_indextoname(3): the interface's name into `name` (at least kInterfaceNameSize bytes).
int64_t interface_name(uint32_t index, char* name);

}  // namespace sys

// Address conversion (no system call). `host` is `host_length` bytes, not a C string: a
// Linux abstract AF_UNIX name starts with a NUL byte. Returns 0, or a negated error code
// (EINVAL for an unparsable host or a NUL inside it, ENAMETOOLONG for an AF_UNIX path longer
// than sun_path can hold with its terminating NUL, EAFNOSUPPORT for an unknown family).
int64_t address_parse(int family, const char* host, size_t host_length, int port, SockAddr* out);
// sizeof(sockaddr_un::sun_path) (108 on Linux and Windows, 104 on macOS and FreeBSD), or 0
// where the headers have no AF_UNIX.
size_t unix_path_size();
void address_format(const SockAddr& address, Address* out);

// Windows: GetProcessHandleCount, the nearest thing to counting /proc/self/fd (tests use it to
// check nothing is left open). POSIX: -ENOSYS, no call.
int64_t process_handle_count();
// The Wine version when this Windows build runs under Wine (ntdll's wine_get_version), or null.
const char* wine_version();

// This platform's constants, from its headers.
const ConstantGroup* constant_groups(size_t* count);
// "linux", "darwin", "freebsd", "win32", ... as Node's process.platform says.
const char* platform_name();

// Control messages (no system call): the layout of msg_control is the platform's (CMSG_* macros).
constexpr size_t kInterfaceNameSize = 257;  // IF_NAMESIZE is 16 on POSIX; Windows' names are longer

// One control message: its level and type, and where its data lies in the control buffer.
struct ControlEntry {
  int level;
  int type;
  size_t offset;  // from the start of the control buffer
  size_t length;  // cmsg_len minus the header: what the kernel wrote (less if MSG_CTRUNC cut it)
};
// Walks the `used` bytes of a received control buffer (CMSG_FIRSTHDR / CMSG_NXTHDR) into `out`
// (at most `max` entries); returns how many there are, which can exceed `max`. Entries whose
// data would lie past `used` are cut to what lies inside.
size_t control_walk(const void* control, size_t used, ControlEntry* out, size_t max);
// CMSG_SPACE(length): the room one control message with `length` data bytes takes.
size_t control_space(size_t length);
// Lays one control message out at `out` (which has CMSG_SPACE(length) bytes): header, then the
// data. Returns the bytes it took (CMSG_SPACE).
size_t control_build(void* out, int level, int type, const void* data, size_t length);
// inet_ntop / inet_pton of a raw address (4 bytes for AF_INET, 16 for AF_INET6). ntop reads
// from `bytes` (`available` of them) and returns 0, or -EINVAL when fewer than the family's are
// there, -EAFNOSUPPORT for another family; pton writes the bytes to `out` (16 bytes of room)
// and returns how many (4 / 16), or -EINVAL / -EAFNOSUPPORT. (Windows: the WSAE numbers.)
int64_t address_ntop(int family, const void* bytes, size_t available, char* out, size_t size);
int64_t address_pton(int family, const char* host, void* out);
// The sizes of the structs the TypeScript decoder reads (0 where the platform has none), so it
// can refuse to decode one whose size is not the layout it knows.
struct ControlSizes {
  int in_pktinfo;
  int in6_pktinfo;
  int timespec;
  int ucred;
  int sock_extended_err;
};
ControlSizes control_sizes();

}  // namespace rawrecv
