#!/usr/bin/env node
/**
 * The `rawrecv` command: probe, diff, watch and serve, over the package's public API.
 * Bad arguments and bad input are one line on stderr and exit code 2, never a stack trace.
 * @module
 */
import { messageOf } from '../scenarios/message.js';
import { InputError } from './args.js';
import { err, out } from './style.js';
import { VERSION } from './version.js';

const HELP = `Usage: rawrecv <command> [options]

What recv(2) really returns on this machine: the exact ret and errno, and the typed kind.

Commands:
  probe     run every scenario of the recv reference here, over loopback, and print each call
  diff      compare two probe reports (probe --json), e.g. from two OSes of a CI matrix
  watch     connect to HOST:PORT and log every recv until EOF, an error or Ctrl-C
  serve     a scripted TCP peer (send, wait, shutdown, close, reset) for watch

Options:
  -h, --help      this help; rawrecv <command> --help for a command's
  -v, --version   the rawrecv version

Exit codes: 0 success, 1 failure or difference (see each command), 2 bad arguments or input.`;

type Command = (args: string[]) => Promise<number>;

/**
 * Each command is loaded when it runs: --help, --version and diff then work even where the
 * addon cannot load (no prebuild and no compiler, an OS rawrecv does not support), and such a
 * failure is one line like any other.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  probe: async () => (await import('./probe.js')).probe,
  diff: async () => (await import('./diff.js')).diff,
  watch: async () => (await import('./watch.js')).watch,
  serve: async () => (await import('./serve.js')).serve,
};

/** Runs the command line `argv` (without node and the script) and returns the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  let prefix = 'rawrecv';
  try {
    if (first === undefined)
      throw new InputError("missing command: probe, diff, watch or serve (see 'rawrecv --help')");
    if (first === '--help' || first === '-h' || first === 'help') {
      out(HELP);
      return 0;
    }
    if (first === '--version' || first === '-v') {
      out(VERSION);
      return 0;
    }
    if (first.startsWith('-')) throw new InputError(`unknown option '${first}' (see 'rawrecv --help')`);
    const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (load === undefined) {
      throw new InputError(`unknown command '${first}': the commands are probe, diff, watch and serve`);
    }
    prefix = `rawrecv ${first}`;
    const command = await load();
    return await command(rest);
  } catch (error) {
    if (error instanceof InputError) {
      err(`${prefix}: ${error.message}`);
      return 2;
    }
    // A failure of the tool itself: still one line, the stack only on request.
    err(`${prefix}: ${messageOf(error)}`);
    if (process.env.RAWRECV_DEBUG && error instanceof Error && error.stack) err(error.stack);
    return 1;
  }
}

// A reader that stops early (`rawrecv probe | head`) closes the pipe: stop quietly, as shell tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));
}

process.exitCode = await main(process.argv.slice(2));
