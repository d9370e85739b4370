// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Socket-level load balancing: cgroup/connect4 and cgroup/sendmsg4 put the backend's address
 * into the socket call itself, so the socket talks to the backend directly (no per-packet NAT,
 * no conntrack entry); cgroup/recvmsg4 and cgroup/getpeername4 show the Service address again.
 * A separate object from switchyard.c: it shares the pinned maps (same names, reused by the
 * loader), adds no instructions to from_netdev's verifier budget, and loads on its own.
 *
 * The choice of backend is the tc path's (sy_select_backend_for in lb.h, sy_select_backend6_for
 * in lb6.h), in the internal scope: a socket on the node or in a pod sees the Service as a pod
 * does (internalTrafficPolicy). The IPv6 hooks do the same on frontends6, except for an AF_INET6
 * socket calling a v4-mapped address (::ffff:a.b.c.d, what dual-stack Java and Go sockets do):
 * the kernel sends that as IPv4, so it is an IPv4 Service's, translated through frontends.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "switchyard.h"
#include "maps.h"
#include "lb.h"
#include "lb6.h"
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

/*
 * The clock, only for a Service with ClientIP affinity (the only reader of "now" in the backend
 * choice): a read costs ~70 ns on a VM, and connect() is the hot call here.
 */
static __always_inline __u64 sy_sock_affinity_now(const struct sy_frontend *fe)
{
	return fe->affinity_timeout ? bpf_ktime_get_ns() : 0;
}

enum sy_sock_verdict {
	SY_SOCK_PASS = 0,	/* not a Service of ours: go on untouched */
	SY_SOCK_REFUSE = 1,	/* a Service with no endpoints: fail the call */
	SY_SOCK_MOVED = 2,	/* translated: the backend is in the call */
};

/*
 * Moves @addr:@port (IPv4, a call of a socket of @ns) to a backend when it names a frontend. The
 * reverse entry is written before the rewrite is visible to the socket, so the first recvmsg
 * finds it. Shared by connect4/sendmsg4 and the v4-mapped calls of connect6/sendmsg6.
 */
static __always_inline int sy_sock_pick4(struct bpf_sock_addr *ctx, __u8 proto, __be32 client,
					 __be32 *addr, __be16 *port)
{
	struct sy_frontend_key key = { .scope = SY_SCOPE_INTERNAL, .proto = proto };
	struct sy_sock_rev_key rkey = {};
	struct sy_sock_rev rev = {};
	struct sy_frontend *fep, fe;
	struct sy_backend be;
	__u32 backend_id;

	key.addr = *addr;
	key.port = *port;
	fep = bpf_map_lookup_elem(&frontends, &key);
	if (!fep)
		return SY_SOCK_PASS;
	fe = *fep;
	if (fe.count == 0 ||
	    sy_select_backend_for(&fe, client,
				  sy_flow_hash(client, (__be16)bpf_get_prandom_u32(), key.port,
					       proto),
				  sy_sock_affinity_now(&fe), &backend_id, &be)) {
		sy_count_no_backend(fe.svc_id);
		return SY_SOCK_REFUSE;
	}
	rkey.cookie = bpf_get_socket_cookie(ctx);
	rkey.addr = be.addr;
	rkey.port = be.port;
	rev.addr = key.addr;
	rev.port = key.port;
	bpf_map_update_elem(&sock_rev, &rkey, &rev, BPF_ANY);
	*addr = be.addr;
	*port = be.port;
	return SY_SOCK_MOVED;
}

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

/* The IPv4 calls: @connecting from connect(), else from an unconnected send. */
static __always_inline int sy_sock_translate(struct bpf_sock_addr *ctx, bool connecting)
{
	const struct sy_sock_netns *ns = sy_sock_scope(ctx);
	__be16 port = (__be16)ctx->user_port;
	__be32 addr = ctx->user_ip4;
	__u8 proto = sy_sock_proto(ctx);
	int ret;

	if (!ns || !proto || sy_sock_tc_serves(ns, proto, connecting))
		return SY_SOCK_PASS;
	ret = sy_sock_pick4(ctx, proto, sy_sock_client(ctx, ns), &addr, &port);
	if (ret == SY_SOCK_MOVED) {
		ctx->user_ip4 = addr;
		ctx->user_port = port;
	}
	return ret;
}

/* The Service address a socket asked for, when it was moved to backend @addr:@port. */
static __always_inline struct sy_sock_rev *sy_sock_rev_of(__u64 cookie, __be32 addr, __be16 port)
{
	struct sy_sock_rev_key rkey = { .cookie = cookie, .addr = addr, .port = port };

	return bpf_map_lookup_elem(&sock_rev, &rkey);
}

/* Puts the Service address back where the socket would see the backend's. */
static __always_inline void sy_sock_restore(struct bpf_sock_addr *ctx)
{
	struct sy_sock_rev *rev;

	if (!sy_sock_scope(ctx))
		return;
	rev = sy_sock_rev_of(bpf_get_socket_cookie(ctx), ctx->user_ip4, (__be16)ctx->user_port);
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

/* ::ffff:0:0/96, an IPv4 address as an AF_INET6 socket names it. */
static __always_inline bool sy_in6_v4mapped(const __be32 *a)
{
	return !(a[0] | a[1]) && a[2] == bpf_htonl(0xffff);
}

static __always_inline void sy_sock_user_ip6(const struct bpf_sock_addr *ctx, __be32 *a)
{
	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
}

static __always_inline void sy_sock_set_user_ip6(struct bpf_sock_addr *ctx, const __be32 *a)
{
	ctx->user_ip6[0] = a[0];
	ctx->user_ip6[1] = a[1];
	ctx->user_ip6[2] = a[2];
	ctx->user_ip6[3] = a[3];
}

/* The IPv6 client for ClientIP affinity: as sy_sock_client, with the namespace's IPv6 address. */
static __always_inline void sy_sock_client6(struct bpf_sock_addr *ctx,
					    const struct sy_sock_netns *ns, __be32 *client)
{
	struct bpf_sock *sk = ctx->sk;

	client[0] = 0;
	client[1] = 0;
	client[2] = 0;
	client[3] = 0;
	if (sk) {
		client[0] = sk->src_ip6[0];
		client[1] = sk->src_ip6[1];
		client[2] = sk->src_ip6[2];
		client[3] = sk->src_ip6[3];
	}
	if (sy_in6_is_zero(client))
		sy_in6_copy(client, ns->addr6);
}

/* As sy_sock_pick4 on frontends6, backends6 and sock_rev6, for @key (its address and port set). */
static __always_inline int sy_sock_pick6(struct bpf_sock_addr *ctx,
					 const struct sy_sock_netns *ns,
					 struct sy_frontend6_key *key)
{
	struct sy_sock_rev6_key rkey = {};
	struct sy_sock_rev6 rev = {};
	struct sy_frontend *fep, fe;
	struct sy_backend6 be;
	__u32 backend_id;
	__be32 client[4];

	fep = bpf_map_lookup_elem(&frontends6, key);
	if (!fep)
		return SY_SOCK_PASS;
	fe = *fep;
	sy_sock_client6(ctx, ns, client);
	if (fe.count == 0 ||
	    sy_select_backend6_for(&fe, client,
				   sy_flow_hash(sy_in6_fold(client), (__be16)bpf_get_prandom_u32(),
						key->port, key->proto),
				   sy_sock_affinity_now(&fe), &backend_id, &be)) {
		sy_count_no_backend(fe.svc_id);
		return SY_SOCK_REFUSE;
	}
	rkey.cookie = bpf_get_socket_cookie(ctx);
	sy_in6_copy(rkey.addr, be.addr);
	rkey.port = be.port;
	sy_in6_copy(rev.addr, key->addr);
	rev.port = key->port;
	bpf_map_update_elem(&sock_rev6, &rkey, &rev, BPF_ANY);
	sy_sock_set_user_ip6(ctx, be.addr);
	ctx->user_port = be.port;
	return SY_SOCK_MOVED;
}

static __always_inline int sy_sock_translate6(struct bpf_sock_addr *ctx, bool connecting)
{
	struct sy_frontend6_key key = { .scope = SY_SCOPE_INTERNAL };
	const struct sy_sock_netns *ns = sy_sock_scope(ctx);
	__be32 addr4;
	int ret;

	if (!ns)
		return SY_SOCK_PASS;
	key.proto = sy_sock_proto(ctx);
	if (!key.proto || sy_sock_tc_serves(ns, key.proto, connecting))
		return SY_SOCK_PASS;
	key.port = (__be16)ctx->user_port;
	sy_sock_user_ip6(ctx, key.addr);
	if (!sy_in6_v4mapped(key.addr))
		return sy_sock_pick6(ctx, ns, &key);
	addr4 = key.addr[3];
	ret = sy_sock_pick4(ctx, key.proto, sy_sock_client(ctx, ns), &addr4, &key.port);
	if (ret == SY_SOCK_MOVED) {
		ctx->user_ip6[3] = addr4;	/* stays v4-mapped: the socket is still AF_INET6 */
		ctx->user_port = key.port;
	}
	return ret;
}

static __always_inline void sy_sock_restore6(struct bpf_sock_addr *ctx)
{
	struct sy_sock_rev6_key rkey = {};
	struct sy_sock_rev6 *rev;
	struct sy_sock_rev *rev4;

	if (!sy_sock_scope(ctx))
		return;
	rkey.cookie = bpf_get_socket_cookie(ctx);
	rkey.port = (__be16)ctx->user_port;
	sy_sock_user_ip6(ctx, rkey.addr);
	if (sy_in6_v4mapped(rkey.addr)) {
		rev4 = sy_sock_rev_of(rkey.cookie, rkey.addr[3], rkey.port);
		if (!rev4)
			return;
		ctx->user_ip6[3] = rev4->addr;
		ctx->user_port = rev4->port;
		return;
	}
	rev = bpf_map_lookup_elem(&sock_rev6, &rkey);
	if (!rev)
		return;
	sy_sock_set_user_ip6(ctx, rev->addr);
	ctx->user_port = rev->port;
}

SEC("cgroup/connect6")
int sock_connect6(struct bpf_sock_addr *ctx)
{
	if (sy_sock_translate6(ctx, true) == SY_SOCK_REFUSE) {
		bpf_set_retval(-SY_ECONNREFUSED);
		return 0;
	}
	return 1;
}

/* A v4-mapped sendto() never gets here: the kernel runs sendmsg4 for it (udpv6_sendmsg hands it
 * to udp_sendmsg first). The v4-mapped branch of sy_sock_translate6 serves connect6. */
SEC("cgroup/sendmsg6")
int sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	if (sy_sock_translate6(ctx, false) == SY_SOCK_REFUSE) {
		bpf_set_retval(-SY_ECONNREFUSED);
		return 0;
	}
	return 1;
}

SEC("cgroup/recvmsg6")
int sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	sy_sock_restore6(ctx);
	return 1;
}

SEC("cgroup/getpeername6")
int sock_getpeername6(struct bpf_sock_addr *ctx)
{
	sy_sock_restore6(ctx);
	return 1;
}
