// The names of the IPv6 twins the agent writes (bpf/maps.h): a BPF object built before issue 15
// lacks them, and the agent, `inspect` and the lab check for them by these names.
export const MAPS6 = {
  frontends: 'frontends6',
  backends: 'backends6',
  sourceRanges: 'source_ranges6',
  config: 'config6',
} as const;
