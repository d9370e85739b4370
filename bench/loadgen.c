// The benchmarks' load client and HTTP server (bench/clusterip.mjs, bench/nodeport.mjs), built by
// each script into its temp dir with `clang -O2`. Plain sockets and epoll, no HTTP library: the
// point is to measure the path a connection takes, not a client's overhead.
//
//   loadgen serve PORT
//       one accept loop per family: read the request head, answer a fixed 200, close. IPv4 on
//       an AF_INET socket, IPv6 on an AF_INET6 one with IPV6_V6ONLY in a thread of its own, so an
//       IPv4 connection costs what it did before IPv6 (no v4-mapped socket); without IPv6 in the
//       namespace it serves IPv4 alone and says so on stderr.
//   loadgen load SECONDS K [-s SOURCE] [-t TIMEOUT_MS] TARGET...
//       keeps K connections in flight for SECONDS, each socket → connect → GET → read to EOF →
//       close, round-robin over the targets, and times every connection from socket() to EOF.
//       A TARGET is ADDR[:PORT], [ADDR6]:PORT or a bare ADDR6 (port 80 when none is given); the
//       families may mix. -s binds the client side to SOURCE (a second client address, of the
//       targets' family); -t counts a connection still open after TIMEOUT_MS as failed (ETIMEDOUT) and
//       opens the next one, so one stalled flow cannot hide the rest (default: no limit).
//       Prints one JSON line: {ok, failed, firstError, seconds, rate (conn/s), p50, p90, p99,
//       max (µs)}; a connection counts when it got a 200 and ended inside the window.
//   loadgen ping SERVER_NS CLIENT_NS ADDR PORT ITERATIONS TRIALS
//       one process, one CPU's worth of work: a UDP socket bound in network namespace SERVER_NS
//       (a name under /var/run/netns) on PORT, a UDP socket in CLIENT_NS connected to ADDR:PORT;
//       each iteration sends 64 bytes and receives them, delivered synchronously through the
//       veths and the node between the two. Prints one line per trial: ns per iteration.
//       bench/tc-hooks.mjs takes the fastest trials, the ones nothing else interrupted.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char RESP[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
static const char REQ[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";

static uint64_t now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000ull + t.tv_nsec; }

union addr { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_in6 in6; };

/* A listening socket of one family on every address, -1 (errno set) when that fails. */
static int listen_on(int family, int port) {
	int one = 1, ls = socket(family, SOCK_STREAM, 0);
	union addr a = { 0 };
	socklen_t len = sizeof a.in;
	if (ls < 0) return -1;
	if (family == AF_INET6) {
		a.in6.sin6_family = AF_INET6; a.in6.sin6_port = htons(port); len = sizeof a.in6;
		setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	} else {
		a.in.sin_family = AF_INET; a.in.sin_port = htons(port);
	}
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, &a.sa, len) || listen(ls, 4096)) { int e = errno; close(ls); errno = e; return -1; }
	return ls;
}

static void *accept_loop(void *arg) {
	int ls = (int)(intptr_t)arg;
	char buf[2048];
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0) continue;
		size_t n = 0;
		while (n < sizeof buf) {
			ssize_t r = read(fd, buf + n, sizeof buf - n);
			if (r <= 0) break;
			n += r;
			if (memmem(buf, n, "\r\n\r\n", 4)) break;
		}
		if (write(fd, RESP, sizeof RESP - 1) < 0) { /* client gone */ }
		close(fd);
	}
	return NULL;
}

static int serve(int port) {
	signal(SIGPIPE, SIG_IGN);
	int v4 = listen_on(AF_INET, port);
	if (v4 < 0) { perror("serve"); return 1; }
	int v6 = listen_on(AF_INET6, port);
	pthread_t th;
	if (v6 < 0) fprintf(stderr, "loadgen: serve: no IPv6 listener on port %d (%s), serving IPv4 only\n", port, strerror(errno));
	else if (pthread_create(&th, NULL, accept_loop, (void *)(intptr_t)v6)) { fprintf(stderr, "loadgen: serve: no thread for IPv6\n"); return 1; }
	accept_loop((void *)(intptr_t)v4);
	return 0;
}

enum { CONNECTING, READING };
struct conn { int fd, state, got200; uint64_t t0; };
struct target { union addr a; socklen_t len; };
static struct target *targets; static int ntargets, next_target;
static int ep; static struct conn *conns;
static uint32_t *lat; static size_t nlat, caplat;
static long ok, failed; static int first_err;
static struct target source;         /* -s: the client address to bind; len 0 when not given */
static uint64_t timeout_ns;           /* -t: 0 for no limit */

static void fail(int i, int err) { failed++; if (!first_err) first_err = err; epoll_ctl(ep, EPOLL_CTL_DEL, conns[i].fd, NULL); close(conns[i].fd); conns[i].fd = -1; }

static void start(int i) {
	struct conn *c = &conns[i];
	c->t0 = now_ns();
	struct target *t = &targets[next_target++ % ntargets];
	c->fd = socket(t->a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c->state = CONNECTING; c->got200 = 0;
	if (source.len && bind(c->fd, &source.a.sa, source.len)) { int e = errno; close(c->fd); c->fd = -1; failed++; if (!first_err) first_err = e; return; }
	if (connect(c->fd, &t->a.sa, t->len) && errno != EINPROGRESS) { int e = errno; close(c->fd); c->fd = -1; failed++; if (!first_err) first_err = e; return; }
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* ADDR[:PORT], [ADDR6][:PORT] or a bare ADDR6 into *t (the port `dflt` when none is given);
 * -1 when it is none of those. One colon is an IPv4 port, more are an IPv6 address. */
static int parse_target(const char *s, int dflt, struct target *t) {
	char host[INET6_ADDRSTRLEN];
	const char *port = NULL, *end = NULL;
	size_t n = strlen(s);
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':')) return -1;
		if (end[1]) port = end + 2;
		s++; n = end - s;
	} else if ((end = strchr(s, ':')) && !strchr(end + 1, ':')) {
		port = end + 1; n = end - s;
	}
	if (n >= sizeof host) return -1;
	memcpy(host, s, n); host[n] = 0;
	long p = dflt;
	if (port) { char *e; p = strtol(port, &e, 10); if (!*port || *e || p < 0 || p > 65535) return -1; }
	memset(t, 0, sizeof *t);
	if (inet_pton(AF_INET, host, &t->a.in.sin_addr) == 1) {
		t->a.in.sin_family = AF_INET; t->a.in.sin_port = htons(p); t->len = sizeof t->a.in;
	} else if (inet_pton(AF_INET6, host, &t->a.in6.sin6_addr) == 1) {
		t->a.in6.sin6_family = AF_INET6; t->a.in6.sin6_port = htons(p); t->len = sizeof t->a.in6;
	} else return -1;
	return 0;
}

static int cmp(const void *a, const void *b) { uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b; return x < y ? -1 : x > y; }

static int load(double seconds, int k, char **addrs, int naddrs) {
	ntargets = naddrs; targets = calloc(naddrs, sizeof *targets);
	for (int i = 0; i < naddrs; i++) {
		if (parse_target(addrs[i], 80, &targets[i])) { fprintf(stderr, "loadgen: bad target %s (ADDR[:PORT], [ADDR6]:PORT or ADDR6)\n", addrs[i]); return 2; }
		if (source.len && source.a.sa.sa_family != targets[i].a.sa.sa_family) { fprintf(stderr, "loadgen: target %s is not of the -s source's family\n", addrs[i]); return 2; }
	}
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(0); conns = calloc(k, sizeof *conns);
	caplat = 1 << 22; lat = malloc(caplat * sizeof *lat);
	uint64_t t_start = now_ns(), t_end = t_start + (uint64_t)(seconds * 1e9);
	for (int i = 0; i < k; i++) start(i);
	struct epoll_event evs[256];
	char buf[4096];
	for (;;) {
		uint64_t t = now_ns();
		if (t >= t_end) break;
		if (timeout_ns)
			for (int i = 0; i < k; i++)
				if (conns[i].fd >= 0 && t - conns[i].t0 > timeout_ns) fail(i, ETIMEDOUT);
		int n = epoll_wait(ep, evs, 256, 20);
		for (int j = 0; j < n; j++) {
			int i = evs[j].data.u32; struct conn *c = &conns[i];
			if (c->fd < 0) continue;
			if (c->state == CONNECTING) {
				int err = 0; socklen_t len = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) { fail(i, err); if (now_ns() < t_end) start(i); continue; }
				if (write(c->fd, REQ, sizeof REQ - 1) < 0) { fail(i, errno); if (now_ns() < t_end) start(i); continue; }
				c->state = READING;
				struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				continue;
			}
			for (;;) {
				ssize_t r = read(c->fd, buf, sizeof buf);
				if (r > 0) { if (!c->got200 && r >= 12 && !memcmp(buf + 9, "200", 3)) c->got200 = 1; continue; }
				if (r == 0) {
					uint64_t done = now_ns();
					if (!c->got200) { fail(i, EPROTO); }
					else {
						if (done <= t_end) { ok++; if (nlat < caplat) lat[nlat++] = (uint32_t)((done - c->t0) / 100); }
						epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); c->fd = -1;
					}
					if (done < t_end) start(i);
					break;
				}
				if (errno == EAGAIN) break;
				fail(i, errno); if (now_ns() < t_end) start(i);
				break;
			}
		}
		for (int i = 0; i < k; i++) if (conns[i].fd < 0 && now_ns() < t_end) start(i);
	}
	double elapsed = (now_ns() - t_start) / 1e9;
	qsort(lat, nlat, sizeof *lat, cmp);
#define PCT(p) (nlat ? lat[(size_t)((nlat - 1) * (p))] / 10.0 : 0)
	printf("{\"ok\":%ld,\"failed\":%ld,\"firstError\":\"%s\",\"seconds\":%.3f,\"rate\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f}\n",
	       ok, failed, first_err ? strerrorname_np(first_err) : "", elapsed, ok / elapsed, PCT(0.5), PCT(0.9), PCT(0.99), PCT(1.0));
	return 0;
}

static void enter_netns(const char *name) {
	char path[256];
	snprintf(path, sizeof path, "/var/run/netns/%s", name);
	int fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) { perror(path); exit(1); }
	close(fd);
}

static int ping(const char *server_ns, const char *client_ns, const char *addr, int port, long iterations, int trials) {
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char msg[64] = { 0 }, got[128];
	enter_netns(server_ns);
	int srv = socket(AF_INET, SOCK_DGRAM, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&a, sizeof a)) { perror("bind"); return 1; }
	enter_netns(client_ns);
	int cl = socket(AF_INET, SOCK_DGRAM, 0);
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1 || connect(cl, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
	for (int t = 0; t < trials; t++) {
		uint64_t t0 = now_ns();
		for (long i = 0; i < iterations; i++) {
			if (send(cl, msg, sizeof msg, 0) < 0 || recv(srv, got, sizeof got, 0) < 0) { perror("ping"); return 1; }
		}
		printf("%.1f\n", (double)(now_ns() - t0) / iterations);
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 3 && !strcmp(argv[1], "serve")) return serve(atoi(argv[2]));
	if (argc >= 8 && !strcmp(argv[1], "ping"))
		return ping(argv[2], argv[3], argv[4], atoi(argv[5]), atol(argv[6]), atoi(argv[7]));
	if (argc >= 5 && !strcmp(argv[1], "load")) {
		int i = 4;
		for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
			if (!strcmp(argv[i], "-s") && !parse_target(argv[i + 1], 0, &source)) continue;
			if (!strcmp(argv[i], "-t")) { timeout_ns = strtoull(argv[i + 1], NULL, 10) * 1000000ull; continue; }
			fprintf(stderr, "loadgen: bad option %s %s\n", argv[i], argv[i + 1]);
			return 2;
		}
		if (i < argc) return load(atof(argv[2]), atoi(argv[3]), argv + i, argc - i);
	}
	fprintf(stderr, "usage: loadgen serve PORT | loadgen load SECONDS CONCURRENCY [-s SOURCE] [-t TIMEOUT_MS] TARGET... | loadgen ping SERVER_NS CLIENT_NS ADDR PORT ITERATIONS TRIALS\n");
	return 2;
}
