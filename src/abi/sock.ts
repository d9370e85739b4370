// The socket-LB maps of bpf/sock.h (sock_netns, sock_rev), in the C field order. Apart from
// layouts.ts as the C side is apart from switchyard.h: only the cgroup programs use them.
import { struct } from '../bpf/codec.js';

/** sock_netns value: whose namespace a netns cookie is. */
export interface SockNetns {
  addr: string;
  flags: number;
}
export const SOCK_NS_HOST = 1 << 0;
export const SOCK_NS_POD = 1 << 1;

export const sockNetns = struct<SockNetns>('sy_sock_netns', [
  ['addr', 'ipv4'],
  ['flags', 'u32'],
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
