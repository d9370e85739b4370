/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The socket-LB maps (bpf/sock.c), apart from switchyard.h because only the cgroup programs use
 * them. Byte order as in switchyard.h: addresses and ports in network order.
 */
#ifndef SY_SOCK_H
#define SY_SOCK_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SY_MAX_SOCK_NETNS	16384	/* the node's netns and its pods' */
#define SY_MAX_SOCK_REV		262144	/* sockets sent to a backend at connect/send */

/* sock_netns (HASH): netns cookie → whose namespace it is. A socket whose netns cookie is not a
 * key here is never touched, which keeps one node's programs off another node's sockets when
 * nodes share a cgroup tree (the lab). */
struct sy_sock_netns {
	__be32 addr;	/* the namespace's address: the client for ClientIP affinity when the
			 * socket has no bound source yet */
	__u32  flags;	/* SY_SOCK_NS_* */
	__be32 addr6[4];	/* the same for IPv6 sockets; all zero when it has none */
};

enum sy_sock_netns_flag {
	SY_SOCK_NS_HOST = 1 << 0,	/* the node's own namespace */
	SY_SOCK_NS_POD  = 1 << 1,	/* a pod of this node (pod socket LB on) */
};

/* sock_rev (LRU_HASH): {socket cookie, backend} → the Service address the socket asked for, so
 * getpeername() and recvmsg() on it show the Service, not the backend. */
struct sy_sock_rev_key {
	__u64  cookie;
	__be32 addr;	/* backend */
	__be16 port;
	__u16  pad;	/* always 0 */
};

struct sy_sock_rev {
	__be32 addr;	/* frontend */
	__be16 port;
	__u16  pad;
};

/* sock_rev6 (LRU_HASH): the same for IPv6 backends. A v4-mapped socket (::ffff:a.b.c.d) is served
 * by the IPv4 frontends, so its entry is in sock_rev. */
struct sy_sock_rev6_key {
	__u64  cookie;
	__be32 addr[4];	/* backend */
	__be16 port;
	__u16  pad;	/* always 0 */
	__u32  pad2;	/* always 0: the struct's u64 alignment, made explicit */
};

struct sy_sock_rev6 {
	__be32 addr[4];	/* frontend */
	__be16 port;
	__u16  pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct sy_sock_netns);
	__uint(max_entries, SY_MAX_SOCK_NETNS);
} sock_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_sock_rev_key);
	__type(value, struct sy_sock_rev);
	__uint(max_entries, SY_MAX_SOCK_REV);
} sock_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_sock_rev6_key);
	__type(value, struct sy_sock_rev6);
	__uint(max_entries, SY_MAX_SOCK_REV);
} sock_rev6 SEC(".maps");

/* sock_destroy_to (HASH): backends just removed, {addr, port} → 1. bpf/sock_destroy.c destroys the
 * connected UDP sockets of this node's namespaces that still point at one. Agent-written, and
 * emptied after each run. */
struct sy_sock_target {
	__be32 addr;
	__be16 port;
	__u16  pad;	/* always 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sy_sock_target);
	__type(value, __u8);
	__uint(max_entries, SY_MAX_SOCK_NETNS);
} sock_destroy_to SEC(".maps");

/* sock_destroy_to6 (HASH): the same for IPv6 backends. */
struct sy_sock_target6 {
	__be32 addr[4];
	__be16 port;
	__u16  pad;	/* always 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sy_sock_target6);
	__type(value, __u8);
	__uint(max_entries, SY_MAX_SOCK_NETNS);
} sock_destroy_to6 SEC(".maps");

#endif /* SY_SOCK_H */
