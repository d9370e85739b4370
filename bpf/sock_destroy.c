// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Connected UDP sockets follow their backend: an iter/udp program that destroys (the
 * bpf_sock_destroy kfunc, Linux >= 6.5) each connected UDP socket of this node's namespaces whose
 * peer is a backend listed in sock_destroy_to. The owner's next send fails once with
 * ECONNABORTED; a client that retries (or reconnects) runs connect4 again and gets a live
 * backend. An object of its own: on an older kernel it alone fails to load (the agent warns,
 * naming the kernel requirement) and socket LB itself still works.
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

struct sock_common {
	__be32 skc_daddr;
	__be16 skc_dport;
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

SEC("iter/udp")
int sock_destroy_udp(struct bpf_iter__udp *ctx)
{
	struct sock *sk = (struct sock *)ctx->udp_sk;
	struct sy_sock_target t = {};
	__u64 cookie;

	if (!sk)
		return 0;
	t.addr = sk->__sk_common.skc_daddr;
	t.port = sk->__sk_common.skc_dport;
	if (!t.addr || !bpf_map_lookup_elem(&sock_destroy_to, &t))
		return 0;	/* unconnected, or not a removed backend */
	cookie = sk->__sk_common.skc_net.net->net_cookie;
	if (!bpf_map_lookup_elem(&sock_netns, &cookie))
		return 0;	/* another node's namespace */
	bpf_sock_destroy(&sk->__sk_common);
	return 0;
}
