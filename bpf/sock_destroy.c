// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Connected UDP sockets follow their backend: an iter/udp program that destroys (the
 * bpf_sock_destroy kfunc, Linux >= 6.5) each connected UDP socket of this node's namespaces that
 * socket LB connected to a backend listed in sock_destroy_to (IPv4) or sock_destroy_to6 (IPv6),
 * and no other (sy_ours_to_destroy). The owner's next send fails once with ECONNABORTED; a client
 * that retries (or reconnects) runs connect4 (connect6) again and gets a live backend. An object
 * of its own: on an older kernel it alone fails to load (the agent warns, naming the kernel
 * requirement) and socket LB itself still works.
 *
 * The kernel structs are declared here, only the fields read, with preserve_access_index:
 * libbpf relocates their offsets against the running kernel's BTF (CO-RE), so no vmlinux.h.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sock.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct net {
	__u64 net_cookie;
} __attribute__((preserve_access_index));

/* The kernel's struct in6_addr ("___sy": a CO-RE flavour, matched by the name before it). */
struct in6_addr___sy {
	union {
		__be32 u6_addr32[4];
	} in6_u;
} __attribute__((preserve_access_index));

struct sock_common {
	__be32 skc_daddr;
	__be16 skc_dport;
	unsigned short skc_family;
	struct in6_addr___sy skc_v6_daddr;
	struct {
		struct net *net;
	} skc_net;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct udp_sock;
struct bpf_iter_meta;

struct bpf_iter__udp {
	struct bpf_iter_meta *meta;
	struct udp_sock *udp_sk;
} __attribute__((preserve_access_index));

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

#define SY_AF_INET6	10

/*
 * Whether @sk is connected to a backend listed in sock_destroy_to (or sock_destroy_to6), and it was
 * socket LB that connected it there: its sock_rev (sock_rev6) entry names that peer. A socket its
 * application connected to a pod address itself is not ours to destroy: the pod may still be
 * there (an endpoint leaves its Service when it turns unready). An AF_INET6 socket connected to a
 * v4-mapped address has its IPv4 peer in skc_daddr, as an AF_INET one: the IPv4 lists cover it.
 */
static __always_inline int sy_ours_to_destroy(struct sock *sk)
{
	struct sy_sock_rev6_key r6 = {};
	struct sy_sock_target6 t6 = {};
	struct sy_sock_rev_key r = {};
	struct sy_sock_target t = {};
	__u32 *a = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32;

	t.addr = sk->__sk_common.skc_daddr;
	t.port = sk->__sk_common.skc_dport;
	if (!t.port)
		return 0;	/* unconnected */
	if (t.addr && bpf_map_lookup_elem(&sock_destroy_to, &t)) {
		r.cookie = bpf_get_socket_cookie(sk);
		r.addr = t.addr;
		r.port = t.port;
		return bpf_map_lookup_elem(&sock_rev, &r) != NULL;
	}
	if (sk->__sk_common.skc_family != SY_AF_INET6)
		return 0;
	t6.addr[0] = a[0];
	t6.addr[1] = a[1];
	t6.addr[2] = a[2];
	t6.addr[3] = a[3];
	t6.port = t.port;
	if (!bpf_map_lookup_elem(&sock_destroy_to6, &t6))
		return 0;
	r6.cookie = bpf_get_socket_cookie(sk);
	__builtin_memcpy(r6.addr, t6.addr, sizeof(r6.addr));
	r6.port = t.port;
	return bpf_map_lookup_elem(&sock_rev6, &r6) != NULL;
}

SEC("iter/udp")
int sock_destroy_udp(struct bpf_iter__udp *ctx)
{
	struct sock *sk = (struct sock *)ctx->udp_sk;
	__u64 cookie;

	if (!sk || !sy_ours_to_destroy(sk))
		return 0;	/* unconnected, not a removed backend, or not connected by us */
	cookie = sk->__sk_common.skc_net.net->net_cookie;
	if (!bpf_map_lookup_elem(&sock_netns, &cookie))
		return 0;	/* another node's namespace */
	bpf_sock_destroy(&sk->__sk_common);
	return 0;
}
