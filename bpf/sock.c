// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Socket-level load balancing: cgroup/connect4 and cgroup/sendmsg4 put the backend's address
 * into the socket call itself, so the socket talks to the backend directly (no per-packet NAT,
 * no conntrack entry); cgroup/recvmsg4 and cgroup/getpeername4 show the Service address again.
 * A separate object from switchyard.c: it shares the pinned maps (same names, reused by the
 * loader), adds no instructions to from_netdev's verifier budget, and loads on its own.
 *
 * The choice of backend is the tc path's (sy_select_backend_for in lb.h), in the internal scope:
 * a socket on the node or in a pod sees the Service as a pod does (internalTrafficPolicy).
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "switchyard.h"
#include "maps.h"
#include "lb.h"
#include "sock.h"

#define SY_ECONNREFUSED	111
#define SY_SOCK_STREAM	1	/* linux/net.h, not UAPI */
#define SY_SOCK_DGRAM	2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The socket's namespace when it is one this node serves, else NULL: leave the call alone. */
static __always_inline const struct sy_sock_netns *sy_sock_scope(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_netns_cookie(ctx);

	return bpf_map_lookup_elem(&sock_netns, &cookie);
}

static __always_inline __u8 sy_sock_proto(struct bpf_sock_addr *ctx)
{
	if (ctx->type == SY_SOCK_STREAM)
		return IPPROTO_TCP;
	if (ctx->type == SY_SOCK_DGRAM)
		return IPPROTO_UDP;
	return 0;
}

/* The client for ClientIP affinity: the socket's bound source, else its namespace's address. */
static __always_inline __be32 sy_sock_client(struct bpf_sock_addr *ctx,
					     const struct sy_sock_netns *ns)
{
	struct bpf_sock *sk = ctx->sk;

	if (sk && sk->src_ip4)
		return sk->src_ip4;
	return ns->addr;
}

enum sy_sock_verdict {
	SY_SOCK_PASS = 0,	/* not a Service of ours, or translated: go on */
	SY_SOCK_REFUSE = 1,	/* a Service with no endpoints: fail the call */
};

/*
 * Whether a connect() is left to the tc path: a pod's UDP socket. Connected at the socket level it
 * would be tied to one backend for good, and when that backend goes the only way off is to destroy
 * the socket (bpf/sock_destroy.c), which the client sees as an error and must connect() again.
 * Connected to the Service address instead, its datagrams pass from_pod, which picks a live
 * backend per datagram once the old one is gone: no error, as with kube-proxy. The host's sockets
 * have no tc hook on their way out, so theirs are translated here and destroyed when needed.
 */
static __always_inline bool sy_sock_tc_serves(const struct sy_sock_netns *ns, __u8 proto,
					      bool connecting)
{
	return connecting && proto == IPPROTO_UDP && (ns->flags & SY_SOCK_NS_POD);
}

/*
 * Rewrites the destination of @ctx to a backend when it names a frontend (@connecting: from
 * connect(), else from an unconnected send). The reverse entry is written before the rewrite is
 * visible to the socket, so the first recvmsg finds it.
 */
static __always_inline int sy_sock_translate(struct bpf_sock_addr *ctx, bool connecting)
{
	struct sy_frontend_key key = { .scope = SY_SCOPE_INTERNAL };
	const struct sy_sock_netns *ns = sy_sock_scope(ctx);
	struct sy_sock_rev_key rkey = {};
	struct sy_sock_rev rev = {};
	struct sy_frontend *fep, fe;
	struct sy_backend be;
	__u32 backend_id;
	__be32 client;

	if (!ns)
		return SY_SOCK_PASS;
	key.proto = sy_sock_proto(ctx);
	if (!key.proto || sy_sock_tc_serves(ns, key.proto, connecting))
		return SY_SOCK_PASS;
	key.addr = ctx->user_ip4;
	key.port = (__be16)ctx->user_port;
	fep = bpf_map_lookup_elem(&frontends, &key);
	if (!fep)
		return SY_SOCK_PASS;
	fe = *fep;
	if (fe.count == 0) {
		sy_count_no_backend(fe.svc_id);
		return SY_SOCK_REFUSE;
	}
	client = sy_sock_client(ctx, ns);
	if (sy_select_backend_for(&fe, client,
				  sy_flow_hash(client, (__be16)bpf_get_prandom_u32(),
					       key.port, key.proto),
				  bpf_ktime_get_ns(), &backend_id, &be)) {
		sy_count_no_backend(fe.svc_id);
		return SY_SOCK_REFUSE;
	}
	rkey.cookie = bpf_get_socket_cookie(ctx);
	rkey.addr = be.addr;
	rkey.port = be.port;
	rev.addr = key.addr;
	rev.port = key.port;
	bpf_map_update_elem(&sock_rev, &rkey, &rev, BPF_ANY);
	ctx->user_ip4 = be.addr;
	ctx->user_port = be.port;
	return SY_SOCK_PASS;
}

/* Puts the Service address back where the socket would see the backend's. */
static __always_inline void sy_sock_restore(struct bpf_sock_addr *ctx)
{
	struct sy_sock_rev_key rkey = {};
	struct sy_sock_rev *rev;

	if (!sy_sock_scope(ctx))
		return;
	rkey.cookie = bpf_get_socket_cookie(ctx);
	rkey.addr = ctx->user_ip4;
	rkey.port = (__be16)ctx->user_port;
	rev = bpf_map_lookup_elem(&sock_rev, &rkey);
	if (!rev)
		return;
	ctx->user_ip4 = rev->addr;
	ctx->user_port = rev->port;
}

/* connect() to a Service without endpoints fails at once with ECONNREFUSED, as the tc path's
 * ICMP port unreachable makes it fail for a pod. Returning 0 alone would give EPERM. */
SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	if (sy_sock_translate(ctx, true) == SY_SOCK_REFUSE) {
		bpf_set_retval(-SY_ECONNREFUSED);
		return 0;
	}
	return 1;
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	if (sy_sock_translate(ctx, false) == SY_SOCK_REFUSE) {
		bpf_set_retval(-SY_ECONNREFUSED);
		return 0;
	}
	return 1;
}

SEC("cgroup/recvmsg4")
int sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	sy_sock_restore(ctx);
	return 1;
}

SEC("cgroup/getpeername4")
int sock_getpeername4(struct bpf_sock_addr *ctx)
{
	sy_sock_restore(ctx);
	return 1;
}
