// A bpf_link held by its bpffs pin: the cgroup hooks (cgroup.ts) and the tc hooks (tcx.ts) attach
// this way. The pin is what makes a restart safe: a new agent finds the link at the pin and swaps
// its program in place (bpf_link_update), so the hook is never empty and never holds two copies.
import { existsSync, unlinkSync } from 'node:fs';
import { BpfError, ENOENT } from './errors.js';
import * as ffi from './ffi.js';
import type { BpfProgram } from './object.js';

/** The kernel's answer for a link whose target is gone (a tcx link's interface). */
export const ENOLINK = 67;

/**
 * Swaps `prog` into the link pinned at `linkPin`. 'updated'; 'none' when there is no pin;
 * 'gone' when the link's target went (ENOLINK): the pin is removed, so a new link can take it.
 */
export function updatePinnedLink(linkPin: string, prog: BpfProgram): 'updated' | 'none' | 'gone' {
  if (!existsSync(linkPin)) return 'none';
  const link = ffi.objGet(linkPin);
  if (link < 0) throw new BpfError('bpf_obj_get', `link pin '${linkPin}'`, link);
  try {
    const r = ffi.linkUpdate(link, prog.fd);
    if (r === -ENOLINK) {
      unlinkSync(linkPin);
      return 'gone';
    }
    if (r < 0) throw new BpfError('bpf_link_update', `link pin '${linkPin}', program '${prog.name}'`, r);
    return 'updated';
  } finally {
    ffi.closeFd(link);
  }
}

/** Pins the new link `link` (an fd) at `linkPin`, then closes the fd: the pin holds the link from
 *  here on (or, when pinning failed, nothing does, and the attachment goes). */
export function pinLink(link: number, linkPin: string): void {
  try {
    const r = ffi.objPin(link, linkPin);
    if (r < 0) throw new BpfError('bpf_obj_pin', `link pin '${linkPin}'`, r);
  } finally {
    ffi.closeFd(link);
  }
}

/** Detaches the link pinned at `linkPin` and removes the pin. False when there was no pin. */
export function detachPinnedLink(linkPin: string): boolean {
  const link = ffi.objGet(linkPin);
  if (link === -ENOENT) return false;
  if (link < 0) throw new BpfError('bpf_obj_get', `link pin '${linkPin}'`, link);
  try {
    const r = ffi.linkDetach(link);
    if (r < 0 && r !== -ENOLINK) throw new BpfError('bpf_link_detach', `link pin '${linkPin}'`, r);
  } finally {
    ffi.closeFd(link);
  }
  unlinkSync(linkPin);
  return true;
}
