// A flood of new UDP flows with spoofed sources, for the conntrack-pressure e2e
// (test/e2e/ct-pressure.test.ts), built by the test with `clang -O2` into its temp dir.
//
//   udpflood DST_ADDR DST_PORT NET24 FIRST_HOST HOSTS FLOWS PACKETS
//
// Sends FLOWS flows to DST_ADDR:DST_PORT, each PACKETS datagrams back to back. Flow i comes from
// NET24.(FIRST_HOST + i % HOSTS), port 1024 + i / HOSTS: sources stay inside the given /24 (the
// sender's own pod network), so nothing leaves the test's namespaces. Raw socket with IP_HDRINCL,
// UDP checksum 0 (none). Prints one JSON line: {sent, failed, seconds}.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
	if (argc != 8) {
		fprintf(stderr, "usage: udpflood DST_ADDR DST_PORT NET24 FIRST_HOST HOSTS FLOWS PACKETS\n");
		return 2;
	}
	struct in_addr dst, net;
	char net_s[32];
	snprintf(net_s, sizeof net_s, "%s.0", argv[3]);
	if (!inet_aton(argv[1], &dst) || !inet_aton(net_s, &net)) { fprintf(stderr, "udpflood: bad address\n"); return 2; }
	unsigned dport = atoi(argv[2]), first = atoi(argv[4]), hosts = atoi(argv[5]);
	unsigned long flows = strtoul(argv[6], NULL, 10), packets = strtoul(argv[7], NULL, 10);
	if (!hosts || first + hosts > 255 || flows / hosts + 1024 > 65535) {
		fprintf(stderr, "udpflood: too many flows for the hosts\n");
		return 2;
	}

	int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW), one = 1;
	if (s < 0 || setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof one)) { perror("udpflood: raw socket"); return 1; }
	struct { struct iphdr ip; struct udphdr udp; char payload[8]; } pkt;
	memset(&pkt, 0, sizeof pkt);
	memcpy(pkt.payload, "flood!!\n", 8);
	pkt.ip.version = 4; pkt.ip.ihl = 5; pkt.ip.ttl = 64; pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.tot_len = htons(sizeof pkt); pkt.ip.daddr = dst.s_addr;
	pkt.udp.dest = htons(dport); pkt.udp.len = htons(sizeof pkt - sizeof pkt.ip);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };

	unsigned long sent = 0, failed = 0;
	double t0 = now_s();
	for (unsigned long i = 0; i < flows; i++) {
		pkt.ip.saddr = htonl(ntohl(net.s_addr) | (first + i % hosts));
		pkt.udp.source = htons(1024 + i / hosts);
		for (unsigned long p = 0; p < packets; p++) {
			/* the kernel fills in the IP checksum and id of an IP_HDRINCL packet */
			if (sendto(s, &pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) == sizeof pkt) sent++;
			else failed++;
		}
	}
	printf("{\"sent\": %lu, \"failed\": %lu, \"seconds\": %.3f}\n", sent, failed, now_s() - t0);
	return 0;
}
