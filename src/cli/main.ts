/**
 * The `icrl` command. Each sub-command lives in its own module under `commands/` and registers
 * itself on the program; errors of the project are printed as one clear message (no stack trace)
 * with exit code 2, anything else as a crash with its stack and exit code 1.
 */
import { Command, CommanderError } from 'commander';
import { IcrlError, fsError, isSystemError } from '../core/errors.js';
import { registerCommands } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('icrl')
    .description('In-context reinforcement learning over generated task distributions with automatic curricula.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  // output piped into a reader that stops early (`icrl reproduce list | head`): stop quietly, as Unix tools do
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    // a system error that no layer named (ENOSPC, EROFS, EACCES, EISDIR, ...) is named here
    const named = isSystemError(e) ? fsError(e) : e;
    if (named instanceof IcrlError) {
      process.stderr.write(`icrl: ${named.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
