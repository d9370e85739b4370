// Every failure of the BPF layer is a BpfError that names the libbpf (or libc) call, the object it
// was working on (a map, a program, an interface, a path) and the errno, e.g.
//   bpf_map_update_elem(map 'frontends'): Invalid argument (EINVAL)

const ERRNO: Record<number, [string, string]> = {
  1: ['EPERM', 'Operation not permitted'],
  2: ['ENOENT', 'No such file or directory'],
  3: ['ESRCH', 'No such process'],
  4: ['EINTR', 'Interrupted system call'],
  5: ['EIO', 'Input/output error'],
  6: ['ENXIO', 'No such device or address'],
  7: ['E2BIG', 'Argument list too long'],
  9: ['EBADF', 'Bad file descriptor'],
  11: ['EAGAIN', 'Resource temporarily unavailable'],
  12: ['ENOMEM', 'Cannot allocate memory'],
  13: ['EACCES', 'Permission denied'],
  14: ['EFAULT', 'Bad address'],
  16: ['EBUSY', 'Device or resource busy'],
  17: ['EEXIST', 'File exists'],
  18: ['EXDEV', 'Invalid cross-device link'],
  19: ['ENODEV', 'No such device'],
  20: ['ENOTDIR', 'Not a directory'],
  21: ['EISDIR', 'Is a directory'],
  22: ['EINVAL', 'Invalid argument'],
  24: ['EMFILE', 'Too many open files'],
  28: ['ENOSPC', 'No space left on device'],
  34: ['ERANGE', 'Numerical result out of range'],
  38: ['ENOSYS', 'Function not implemented'],
  61: ['ENODATA', 'No data available'],
  71: ['EPROTO', 'Protocol error'],
  74: ['EBADMSG', 'Bad message'],
  75: ['EOVERFLOW', 'Value too large for defined data type'],
  95: ['EOPNOTSUPP', 'Operation not supported'],
  524: ['ENOTSUPP', 'Operation not supported by this map or program type'],
  // libbpf's own error codes (libbpf.h, enum libbpf_errno)
  4000: ['LIBBPF_ERRNO__LIBELF', 'Something wrong in libelf'],
  4001: ['LIBBPF_ERRNO__FORMAT', 'BPF object format invalid'],
  4002: ['LIBBPF_ERRNO__KVERSION', "'version' section incorrect or lost"],
  4003: ['LIBBPF_ERRNO__ENDIAN', 'Endian mismatch'],
  4004: ['LIBBPF_ERRNO__INTERNAL', 'Internal error in libbpf'],
  4005: ['LIBBPF_ERRNO__RELOC', 'Relocation failed'],
  4006: ['LIBBPF_ERRNO__LOAD', 'Load program failed for unknown reason'],
  4007: ['LIBBPF_ERRNO__VERIFY', 'Kernel verifier blocks program loading'],
  4008: ['LIBBPF_ERRNO__PROG2BIG', 'Program too big'],
  4009: ['LIBBPF_ERRNO__KVER', 'Incorrect kernel version'],
  4010: ['LIBBPF_ERRNO__PROGTYPE', 'Kernel does not support this program type'],
  4011: ['LIBBPF_ERRNO__WRNGPID', 'Wrong pid in netlink message'],
  4012: ['LIBBPF_ERRNO__INVSEQ', 'Invalid netlink sequence'],
  4013: ['LIBBPF_ERRNO__NLPARSE', 'Incorrect netlink message parsing'],
};

export const EPERM = 1,
  ENOENT = 2,
  E2BIG = 7,
  EBADF = 9,
  EFAULT = 14,
  EEXIST = 17,
  ENODEV = 19;
export const EINVAL = 22,
  ENOSPC = 28,
  EOPNOTSUPP = 95,
  ENOTSUPP = 524,
  ENOMEM = 12,
  EACCES = 13;

/** The symbolic name of an errno ("EINVAL"), or "errno N" when it is not in the table. */
export function errnoName(errno: number): string {
  return ERRNO[Math.abs(errno)]?.[0] ?? `errno ${Math.abs(errno)}`;
}

/** The text of an errno ("Invalid argument"). */
export function errnoText(errno: number): string {
  return ERRNO[Math.abs(errno)]?.[1] ?? 'Unknown error';
}

export class BpfError extends Error {
  /** The failing call, e.g. "bpf_map_update_elem". */
  readonly call: string;
  /** What it was working on, e.g. "map 'frontends'", "interface 'eth0'", "/path/to/x.o". */
  readonly object: string;
  /** Positive errno (0 when the failure is not an errno, e.g. a size mismatch found in JS). */
  readonly errno: number;

  /** `errno` may be given negative (libbpf's return convention); it is stored positive. */
  constructor(call: string, object: string, errno: number, message?: string) {
    const e = Math.abs(errno);
    super(message ?? `${call}(${object}): ${errnoText(e)} (${errnoName(e)})`);
    this.name = 'BpfError';
    this.call = call;
    this.object = object;
    this.errno = e;
  }

  /** The errno name, e.g. "ENOENT". */
  get code(): string {
    return errnoName(this.errno);
  }
}

/** Throws a BpfError when a libbpf int return is negative; returns it otherwise. */
export function check(ret: number, call: string, object: string): number {
  if (ret < 0) throw new BpfError(call, object, ret);
  return ret;
}
