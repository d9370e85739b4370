// The socket-LB maps of bpf/sock.h (sock_netns, sock_rev, sock_rev6, sock_destroy_to and
// sock_destroy_to6), in the C field order, checked against sock.o's BTF (sockStructs). Apart from
// layouts.ts as the C side is apart from switchyard.h: only the cgroup programs use them.
import { struct } from '../bpf/codec.js';

/** sock_netns value: whose namespace a netns cookie is. */
export interface SockNetns {
  addr: string;
  flags: number;
  /** The IPv6 affinity client ('::' when the namespace has no IPv6 address). */
  addr6: string;
}
export const SOCK_NS_HOST = 1 << 0;
export const SOCK_NS_POD = 1 << 1;

export const sockNetns = struct<SockNetns>('sy_sock_netns', [
  ['addr', 'ipv4'],
  ['flags', 'u32'],
  ['addr6', 'ipv6'],
]);

/** sock_rev: {socket cookie, backend} → the Service address the socket asked for. */
export interface SockRevKey {
  cookie: bigint;
  addr: string;
  port: number;
}
export interface SockRev {
  addr: string;
  port: number;
}
export const sockRevKey = struct<SockRevKey>('sy_sock_rev_key', [
  ['cookie', 'u64'],
  ['addr', 'ipv4'],
  ['port', 'be16'],
  ['pad', 'pad:2'],
]);
export const sockRev = struct<SockRev>('sy_sock_rev', [
  ['addr', 'ipv4'],
  ['port', 'be16'],
  ['pad', 'pad:2'],
]);

/** sock_destroy_to key: a removed backend whose connected UDP sockets are destroyed. */
export const sockTarget = struct<{ addr: string; port: number }>('sy_sock_target', [
  ['addr', 'ipv4'],
  ['port', 'be16'],
  ['pad', 'pad:2'],
]);

/** sock_rev6: the same as sock_rev for IPv6 backends (a v4-mapped socket uses sock_rev). */
export const sockRev6Key = struct<SockRevKey>('sy_sock_rev6_key', [
  ['cookie', 'u64'],
  ['addr', 'ipv6'],
  ['port', 'be16'],
  ['pad', 'pad:2'],
  ['pad2', 'pad:4'],
]);
export const sockRev6 = struct<SockRev>('sy_sock_rev6', [
  ['addr', 'ipv6'],
  ['port', 'be16'],
  ['pad', 'pad:2'],
]);

/** sock_destroy_to6 key: a removed IPv6 backend. */
export const sockTarget6 = struct<{ addr: string; port: number }>('sy_sock_target6', [
  ['addr', 'ipv6'],
  ['port', 'be16'],
  ['pad', 'pad:2'],
]);

/** Every struct of bpf/sock.h, for the BTF check against build/bpf/sock.o. */
export const sockStructs = { sockNetns, sockRevKey, sockRev, sockTarget, sockRev6Key, sockRev6, sockTarget6 };
