// Gate for suites that need root (BPF loads, namespaces). They may skip only on a developer
// machine without root; under CI=true a missing root is an error, not a skip.
import { describe } from 'vitest';

export const isRoot = process.getuid?.() === 0;

if (!isRoot && process.env.CI === 'true') {
  throw new Error('kernel suites need root, and CI=true forbids skipping them');
}

export const describeRoot = describe.skipIf(!isRoot);
