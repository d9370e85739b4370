// The benches' command line: `--name value` options, read the same way by each script.

/** The value after `--name` on the command line, or @dflt when it is not there. */
export function opt(name, dflt) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
}
