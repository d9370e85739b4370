// The benchmarks' load client and HTTP server (bench/clusterip.mjs, bench/nodeport.mjs), built by
// each script into its temp dir with `clang -O2`. Plain sockets and epoll, no HTTP library: the
// point is to measure the path a connection takes, not a client's overhead.
//
//   loadgen serve PORT
//       single-threaded accept loop: read the request head, answer a fixed 200, close.
//   loadgen load SECONDS K [-s SOURCE] [-t TIMEOUT_MS] ADDR[:PORT]...
//       keeps K connections in flight for SECONDS, each socket → connect → GET → read to EOF →
//       close, round-robin over the targets (port 80 when none is given), and times every
//       connection from socket() to EOF. -s binds the client side to SOURCE (a second client
//       address); -t counts a connection still open after TIMEOUT_MS as failed (ETIMEDOUT) and
//       opens the next one, so one stalled flow cannot hide the rest (default: no limit).
//       Prints one JSON line: {ok, failed, firstError, seconds, rate (conn/s), p50, p90, p99,
//       max (µs)}; a connection counts when it got a 200 and ended inside the window.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

static int serve(int port) {
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) { perror("serve"); return 1; }
	signal(SIGPIPE, SIG_IGN);
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
}

enum { CONNECTING, READING };
struct conn { int fd, state, got200; uint64_t t0; };
static struct sockaddr_in *targets; static int ntargets, next_target;
static int ep; static struct conn *conns;
static uint32_t *lat; static size_t nlat, caplat;
static long ok, failed; static int first_err;
static struct sockaddr_in source;   /* -s: the client address to bind, 0.0.0.0 when not given */
static uint64_t timeout_ns;           /* -t: 0 for no limit */

static void fail(int i, int err) { failed++; if (!first_err) first_err = err; epoll_ctl(ep, EPOLL_CTL_DEL, conns[i].fd, NULL); close(conns[i].fd); conns[i].fd = -1; }

static void start(int i) {
	struct conn *c = &conns[i];
	c->t0 = now_ns();
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c->state = CONNECTING; c->got200 = 0;
	if (source.sin_addr.s_addr && bind(c->fd, (struct sockaddr *)&source, sizeof source)) { int e = errno; close(c->fd); c->fd = -1; failed++; if (!first_err) first_err = e; return; }
	struct sockaddr_in *t = &targets[next_target++ % ntargets];
	if (connect(c->fd, (struct sockaddr *)t, sizeof *t) && errno != EINPROGRESS) { int e = errno; close(c->fd); c->fd = -1; failed++; if (!first_err) first_err = e; return; }
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static int cmp(const void *a, const void *b) { uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b; return x < y ? -1 : x > y; }

static int load(double seconds, int k, char **addrs, int naddrs) {
	ntargets = naddrs; targets = calloc(naddrs, sizeof *targets);
	for (int i = 0; i < naddrs; i++) {
		char host[64]; int port = 80; snprintf(host, sizeof host, "%s", addrs[i]);
		char *colon = strchr(host, ':'); if (colon) { *colon = 0; port = atoi(colon + 1); }
		targets[i].sin_family = AF_INET; targets[i].sin_port = htons(port); inet_pton(AF_INET, host, &targets[i].sin_addr);
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

int main(int argc, char **argv) {
	if (argc >= 3 && !strcmp(argv[1], "serve")) return serve(atoi(argv[2]));
	if (argc >= 5 && !strcmp(argv[1], "load")) {
		int i = 4;
		source.sin_family = AF_INET;
		for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
			if (!strcmp(argv[i], "-s") && inet_pton(AF_INET, argv[i + 1], &source.sin_addr) == 1) continue;
			if (!strcmp(argv[i], "-t")) { timeout_ns = strtoull(argv[i + 1], NULL, 10) * 1000000ull; continue; }
			fprintf(stderr, "loadgen: bad option %s %s\n", argv[i], argv[i + 1]);
			return 2;
		}
		if (i < argc) return load(atof(argv[2]), atoi(argv[3]), argv + i, argc - i);
	}
	fprintf(stderr, "usage: loadgen serve PORT | loadgen load SECONDS CONCURRENCY [-s SOURCE] [-t TIMEOUT_MS] ADDR[:PORT]...\n");
	return 2;
}
