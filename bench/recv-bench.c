/*
 * The C side of `npm run bench`: the baseline every rawrecv figure is compared with, and the
 * one sender every throughput receiver is fed by. Plain POSIX C; bench/run.js compiles it with
 * `cc -O2` into bench/.build/ and runs it as a child process. Results are JSON on stdout.
 *
 *   recv-bench wouldblock CALLS ROUNDS [threaded]
 *       Makes its own loopback TCP connection (listen on 127.0.0.1:0, connect, accept), sets
 *       O_NONBLOCK on the idle connected socket and times CALLS recv(fd, buf, 64, 0) calls per
 *       round, each expected to fail with EAGAIN, after one warm-up round of CALLS / 10.
 *       With "threaded", an idle second thread exists meanwhile. A process whose descriptor
 *       table is shared by several threads (every Node.js process) pays more per socket call:
 *       Linux's fdget() takes and drops a reference on the file, which it skips when the table
 *       has one user. That row shows what the same C loop costs under that condition.
 *       -> {"mode":"wouldblock","calls":N,"threaded":0|1,"nsPerCall":[...one per round]}
 *
 *   recv-bench recv SLICE_BYTES
 *       Listens on 127.0.0.1:0 and prints "port N" on its own line; accepts one connection,
 *       sends the one-byte go signal, then does blocking recv() into one 64 KiB buffer until EOF.
 *       -> {"mode":"recv","bytes":B,"ns":T,"cpuNs":C,"fastestSlice":R}   (T: from the go signal
 *          to EOF; C: the CPU time, user + system, this process used meanwhile; R: bytes per
 *          second over the fastest run of SLICE_BYTES or more between two slice boundaries)
 *
 *   recv-bench send PORT TOTAL
 *       Connects to 127.0.0.1:PORT, waits for the receiver's one-byte go signal, then sends
 *       TOTAL bytes from a 256 KiB buffer as fast as send() takes them and closes.
 *       -> {"mode":"send","bytes":B,"ns":T}
 *
 *   recv-bench echo
 *       Listens on 127.0.0.1:0, prints "port N", accepts one connection (TCP_NODELAY) and sends
 *       back every byte it receives, one recv(1) and one send(1) at a time, until EOF: the peer
 *       of every 1-byte ping-pong row.   -> {"mode":"echo","bytes":B}
 *
 *   recv-bench pingpong PORT TRIPS SLICES
 *       Connects to the echo at PORT (TCP_NODELAY) and makes SLICES x TRIPS round trips of one
 *       byte with blocking send() and recv(), timing each slice of TRIPS.
 *       -> {"mode":"pingpong","trips":N,"nsPerSlice":[...one per slice]}
 *
 *   recv-bench udp-drain SIZE RCVBUF recv|recvmmsg
 *       Binds a UDP socket to 127.0.0.1:0 with SO_RCVBUF = RCVBUF, prints "port N", then waits for
 *       a line on stdin (the queue has been filled meanwhile), and drains the queue without
 *       waiting: O_NONBLOCK recv() of one datagram per call, or recvmmsg() of 64 x 2 KiB, until
 *       EAGAIN. Every datagram must be SIZE bytes.
 *       -> {"mode":"udp-drain","datagrams":N,"ns":T,"cpuNs":C}   (T, C: from the first call to
 * EAGAIN)
 *
 *   recv-bench udp-send PORT COUNT SIZE send|sendmmsg
 *       A UDP socket connected to 127.0.0.1:PORT sends COUNT datagrams of SIZE bytes, one send()
 *       per datagram or sendmmsg() of 64 (Linux; elsewhere send() per datagram), and reports
 *       the time. Used to fill a receiver's queue and as the C anchor of the send rows.
 *       -> {"mode":"udp-send","datagrams":N,"ns":T,"cpuNs":C}
 *
 * Everything is bounded: alarm() ends the process after ALARM_SECONDS whatever happens, every
 * blocking call has SO_RCVTIMEO / SO_SNDTIMEO or a poll() timeout. Errors go to stderr with
 * exit status 1.
 */
/* The platform defaults expose every POSIX and BSD name used here; glibc wants _GNU_SOURCE for
 * recvmmsg / sendmmsg. */
#ifdef __linux__
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SIGPIPE is ignored below instead */
#endif

enum {
  ALARM_SECONDS = 60,
  IO_TIMEOUT_MS = 10000,
  WOULDBLOCK_LENGTH = 64,
  RECV_BUFFER = 64 * 1024,
  SEND_BUFFER = 256 * 1024,
  MAX_ROUNDS = 100,
  BATCH = 64,          /* datagrams per recvmmsg / sendmmsg, as recvMany(64 x 2 KiB) */
  BATCH_BUFFER = 2048, /* bytes per datagram buffer */
};

static void die(const char *what) {
  fprintf(stderr, "recv-bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int64_t now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime");
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time (user + system) this process has used. */
static int64_t cpu_ns(void) {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) die("getrusage");
  return ((int64_t)usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000 +
         ((int64_t)usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000;
}

static void set_timeouts(int fd) {
  struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) die("setsockopt(SO_RCVTIMEO)");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) die("setsockopt(SO_SNDTIMEO)");
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons((uint16_t)port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

/* A listening socket on 127.0.0.1 with an OS-picked port, written to *port. */
static int listen_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in address = loopback(0);
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) die("bind");
  if (listen(fd, 8) != 0) die("listen");
  socklen_t length = sizeof address;
  if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) die("getsockname");
  *port = ntohs(address.sin_port);
  return fd;
}

static int accept_bounded(int listener) {
  struct pollfd p = {listener, POLLIN, 0};
  int ready = poll(&p, 1, IO_TIMEOUT_MS);
  if (ready < 0) die("poll");
  if (ready == 0) {
    fprintf(stderr, "recv-bench: no connection within %d ms\n", IO_TIMEOUT_MS);
    exit(1);
  }
  int fd = accept(listener, NULL, NULL);
  if (fd < 0) die("accept");
  return fd;
}

static int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  set_timeouts(fd);
  struct sockaddr_in address = loopback(port);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
  return fd;
}

static long long parse_integer(const char *text, const char *name, long long min, long long max) {
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    fprintf(stderr, "recv-bench: %s must be an integer in [%lld, %lld], got '%s'\n", name, min, max,
            text);
    exit(2);
  }
  return value;
}

/* Times `calls` recv() calls on an idle non-blocking socket; every one must fail with EAGAIN. */
static int64_t time_would_block(int fd, long calls) {
  char buffer[WOULDBLOCK_LENGTH];
  long unexpected = 0;
  int64_t start = now_ns();
  for (long i = 0; i < calls; i++) {
    ssize_t ret = recv(fd, buffer, sizeof buffer, 0);
    if (ret != -1 || (errno != EAGAIN && errno != EWOULDBLOCK)) unexpected++;
  }
  int64_t elapsed = now_ns() - start;
  if (unexpected != 0) {
    fprintf(stderr, "recv-bench: %ld of %ld recv() calls did not fail with EAGAIN\n", unexpected,
            calls);
    exit(1);
  }
  return elapsed;
}

static void *idle_thread(void *unused) {
  for (;;) pause(); /* ends with the process */
  return unused;
}

static int mode_wouldblock(long calls, long rounds, int threaded) {
  if (threaded) {
    pthread_t thread;
    errno = pthread_create(&thread, NULL, idle_thread, NULL);
    if (errno != 0) die("pthread_create");
  }
  int port;
  int listener = listen_loopback(&port);
  int client = connect_loopback(port);
  int server = accept_bounded(listener);
  int flags = fcntl(client, F_GETFL);
  if (flags < 0 || fcntl(client, F_SETFL, flags | O_NONBLOCK) != 0) die("fcntl(O_NONBLOCK)");

  time_would_block(client, calls / 10 > 0 ? calls / 10 : 1); /* warm-up */
  printf("{\"mode\":\"wouldblock\",\"calls\":%ld,\"threaded\":%d,\"nsPerCall\":[", calls, threaded);
  for (long r = 0; r < rounds; r++) {
    double per_call = (double)time_would_block(client, calls) / (double)calls;
    printf("%s%.3f", r == 0 ? "" : ",", per_call);
  }
  printf("]}\n");
  close(server);
  close(client);
  close(listener);
  return 0;
}

static int mode_recv(long long slice_bytes) {
  static char buffer[RECV_BUFFER];
  int port;
  int listener = listen_loopback(&port);
  printf("port %d\n", port);
  fflush(stdout);
  int fd = accept_bounded(listener);
  set_timeouts(fd);

  int64_t cpu_start = cpu_ns();
  int64_t start = now_ns();
  if (send(fd, "g", 1, MSG_NOSIGNAL) != 1) die("send(go)");
  int64_t bytes = 0;
  /* The fastest slice: bytes per second between two slice boundaries (see bench/lib/stream.js). */
  double fastest = 0;
  int64_t slice_start = start;
  int64_t slice_from = 0;
  int64_t next = slice_bytes;
  for (;;) {
    ssize_t ret = recv(fd, buffer, sizeof buffer, 0);
    if (ret > 0) {
      bytes += ret;
      if (bytes >= next) {
        int64_t now = now_ns();
        double rate = (double)(bytes - slice_from) * 1e9 / (double)(now - slice_start);
        if (rate > fastest) fastest = rate;
        slice_start = now;
        slice_from = bytes;
        next = bytes + slice_bytes;
      }
    } else if (ret == 0) {
      break;
    } else if (errno != EINTR) {
      die("recv");
    }
  }
  int64_t elapsed = now_ns() - start;
  int64_t cpu = cpu_ns() - cpu_start;
  printf("{\"mode\":\"recv\",\"bytes\":%lld,\"ns\":%lld,\"cpuNs\":%lld,\"fastestSlice\":%.0f}\n",
         (long long)bytes, (long long)elapsed, (long long)cpu, fastest);
  close(fd);
  close(listener);
  return 0;
}

static int mode_send(int port, long long total) {
  static char buffer[SEND_BUFFER];
  memset(buffer, 'x', sizeof buffer);
  int fd = connect_loopback(port);
  char go;
  ssize_t got;
  do {
    got = recv(fd, &go, 1, 0);
  } while (got < 0 && errno == EINTR);
  if (got != 1) {
    if (got < 0) die("recv(go)");
    fprintf(stderr, "recv-bench: the receiver closed before the go signal\n");
    return 1;
  }

  int64_t start = now_ns();
  long long sent = 0;
  while (sent < total) {
    long long left = total - sent;
    size_t chunk = left < (long long)sizeof buffer ? (size_t)left : sizeof buffer;
    ssize_t ret = send(fd, buffer, chunk, MSG_NOSIGNAL);
    if (ret > 0) {
      sent += ret;
    } else if (ret < 0 && errno != EINTR) {
      die("send");
    }
  }
  if (shutdown(fd, SHUT_WR) != 0) die("shutdown");
  int64_t elapsed = now_ns() - start;
  printf("{\"mode\":\"send\",\"bytes\":%lld,\"ns\":%lld}\n", sent, (long long)elapsed);
  close(fd);
  return 0;
}

static void no_delay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    die("setsockopt(TCP_NODELAY)");
}

static int mode_echo(void) {
  int port;
  int listener = listen_loopback(&port);
  printf("port %d\n", port);
  fflush(stdout);
  int fd = accept_bounded(listener);
  set_timeouts(fd);
  no_delay(fd);
  long long bytes = 0;
  for (;;) {
    char byte;
    ssize_t got = recv(fd, &byte, 1, 0);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      die("recv");
    }
    ssize_t sent;
    do {
      sent = send(fd, &byte, 1, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent != 1) die("send");
    bytes++;
  }
  printf("{\"mode\":\"echo\",\"bytes\":%lld}\n", bytes);
  close(fd);
  close(listener);
  return 0;
}

static int mode_pingpong(int port, long trips, long slices) {
  int fd = connect_loopback(port);
  no_delay(fd);
  printf("{\"mode\":\"pingpong\",\"trips\":%ld,\"nsPerSlice\":[", trips);
  for (long slice = 0; slice < slices; slice++) {
    int64_t start = now_ns();
    for (long i = 0; i < trips; i++) {
      char byte = (char)i;
      if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1) die("send");
      char back;
      ssize_t got;
      do {
        got = recv(fd, &back, 1, 0);
      } while (got < 0 && errno == EINTR);
      if (got != 1 || back != byte) {
        if (got < 0) die("recv");
        fprintf(stderr, "recv-bench: the echo sent back %zd bytes\n", got);
        return 1;
      }
    }
    printf("%s%lld", slice == 0 ? "" : ",", (long long)(now_ns() - start));
  }
  printf("]}\n");
  close(fd);
  return 0;
}

static int udp_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket(SOCK_DGRAM)");
  return fd;
}

static int mode_udp_drain(long size, int rcvbuf, int batched) {
  int fd = udp_socket();
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
    die("setsockopt(SO_RCVBUF)");
  struct sockaddr_in address = loopback(0);
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) die("bind");
  socklen_t length = sizeof address;
  if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) die("getsockname");
  printf("port %d\n", ntohs(address.sin_port));
  fflush(stdout);

  /* The parent fills the queue, then writes a line: the go signal. */
  struct pollfd p = {STDIN_FILENO, POLLIN, 0};
  int ready = poll(&p, 1, IO_TIMEOUT_MS * 3);
  if (ready <= 0) {
    fprintf(stderr, "recv-bench: no go line on stdin\n");
    return 1;
  }
  char line[16];
  if (read(STDIN_FILENO, line, sizeof line) <= 0) die("read(stdin)");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) die("fcntl(O_NONBLOCK)");

  static char buffers[BATCH][BATCH_BUFFER];
  long datagrams = 0;
  long wrong = 0;
  int64_t cpu_start = cpu_ns();
  int64_t start = now_ns();
#ifdef __linux__
  if (batched) {
    struct mmsghdr messages[BATCH];
    struct iovec vectors[BATCH];
    for (;;) {
      for (int i = 0; i < BATCH; i++) {
        vectors[i].iov_base = buffers[i];
        vectors[i].iov_len = BATCH_BUFFER;
        memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
      }
      int got = recvmmsg(fd, messages, BATCH, 0, NULL);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        die("recvmmsg");
      }
      for (int i = 0; i < got; i++) wrong += messages[i].msg_len != (unsigned)size;
      datagrams += got;
    }
  } else
#endif
  {
    (void)batched;
    for (;;) {
      ssize_t got = recv(fd, buffers[0], BATCH_BUFFER, 0);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        die("recv");
      }
      wrong += got != size;
      datagrams++;
    }
  }
  int64_t elapsed = now_ns() - start;
  int64_t cpu = cpu_ns() - cpu_start;
  if (wrong != 0) {
    fprintf(stderr, "recv-bench: %ld datagrams were not %ld bytes\n", wrong, size);
    return 1;
  }
  printf("{\"mode\":\"udp-drain\",\"datagrams\":%ld,\"ns\":%lld,\"cpuNs\":%lld}\n", datagrams,
         (long long)elapsed, (long long)cpu);
  close(fd);
  return 0;
}

static int mode_udp_send(int port, long count, long size, int batched) {
  static char buffers[BATCH][BATCH_BUFFER];
  memset(buffers, 'u', sizeof buffers);
  int fd = udp_socket();
  set_timeouts(fd);
  struct sockaddr_in address = loopback(port);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
  long sent = 0;
  int64_t cpu_start = cpu_ns();
  int64_t start = now_ns();
#ifdef __linux__
  if (batched) {
    struct mmsghdr messages[BATCH];
    struct iovec vectors[BATCH];
    for (int i = 0; i < BATCH; i++) {
      vectors[i].iov_base = buffers[i];
      vectors[i].iov_len = (size_t)size;
      memset(&messages[i], 0, sizeof messages[i]);
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    while (sent < count) {
      long left = count - sent;
      int ret = sendmmsg(fd, messages, left < BATCH ? (unsigned)left : BATCH, 0);
      if (ret < 0) {
        if (errno == EINTR) continue;
        die("sendmmsg");
      }
      sent += ret;
    }
  } else
#endif
  {
    (void)batched;
    while (sent < count) {
      ssize_t ret = send(fd, buffers[0], (size_t)size, 0);
      if (ret < 0) {
        if (errno == EINTR) continue;
        die("send");
      }
      sent++;
    }
  }
  int64_t elapsed = now_ns() - start;
  int64_t cpu = cpu_ns() - cpu_start;
  printf("{\"mode\":\"udp-send\",\"datagrams\":%ld,\"ns\":%lld,\"cpuNs\":%lld}\n", sent,
         (long long)elapsed, (long long)cpu);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  alarm(ALARM_SECONDS);
  if ((argc == 4 || (argc == 5 && strcmp(argv[4], "threaded") == 0)) &&
      strcmp(argv[1], "wouldblock") == 0) {
    long calls = (long)parse_integer(argv[2], "CALLS", 1, 1000000000);
    long rounds = (long)parse_integer(argv[3], "ROUNDS", 1, MAX_ROUNDS);
    return mode_wouldblock(calls, rounds, argc == 5);
  }
  if (argc == 3 && strcmp(argv[1], "recv") == 0) {
    return mode_recv(parse_integer(argv[2], "SLICE_BYTES", 1, 1LL << 40));
  }
  if (argc == 4 && strcmp(argv[1], "send") == 0) {
    int port = (int)parse_integer(argv[2], "PORT", 1, 65535);
    long long total = parse_integer(argv[3], "TOTAL", 1, 1LL << 40);
    return mode_send(port, total);
  }
  if (argc == 2 && strcmp(argv[1], "echo") == 0) return mode_echo();
  if (argc == 5 && strcmp(argv[1], "pingpong") == 0) {
    int port = (int)parse_integer(argv[2], "PORT", 1, 65535);
    long trips = (long)parse_integer(argv[3], "TRIPS", 1, 100000000);
    return mode_pingpong(port, trips, (long)parse_integer(argv[4], "SLICES", 1, MAX_ROUNDS));
  }
  if (argc == 5 && strcmp(argv[1], "udp-drain") == 0) {
    long size = (long)parse_integer(argv[2], "SIZE", 0, BATCH_BUFFER);
    int rcvbuf = (int)parse_integer(argv[3], "RCVBUF", 1024, 1 << 30);
    return mode_udp_drain(size, rcvbuf, strcmp(argv[4], "recvmmsg") == 0);
  }
  if (argc == 6 && strcmp(argv[1], "udp-send") == 0) {
    int port = (int)parse_integer(argv[2], "PORT", 1, 65535);
    long count = (long)parse_integer(argv[3], "COUNT", 1, 100000000);
    long size = (long)parse_integer(argv[4], "SIZE", 0, BATCH_BUFFER);
    return mode_udp_send(port, count, size, strcmp(argv[5], "sendmmsg") == 0);
  }
  fprintf(stderr,
          "usage: recv-bench wouldblock CALLS ROUNDS [threaded] | recv SLICE_BYTES | send PORT TOTAL | echo\n"
          "       | pingpong PORT TRIPS SLICES | udp-drain SIZE RCVBUF recv|recvmmsg\n"
          "       | udp-send PORT COUNT SIZE send|sendmmsg\n"
          "(run by bench/run.js; see bench/README.md)\n");
  return 2;
}
