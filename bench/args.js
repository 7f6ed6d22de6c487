// Command-line helpers shared by the bench scripts: `--name value` options
// and `--name` flags.
export function cliArgs(argv = process.argv.slice(2)) {
  return {
    opt(name, dflt) {
      const i = argv.indexOf(`--${name}`);
      return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
    },
    flag: (name) => argv.includes(`--${name}`),
  };
}
