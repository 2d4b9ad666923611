/**
 * Argument parsing shared by the commands: node:util parseArgs (strict), and bad input turned
 * into one-line {@link InputError}s (exit 2, never a stack trace).
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad arguments or bad input files: printed as one line, exit code 2. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The first sentence of parseArgs' message, lower-cased: "unknown option '--x'". */
function shortMessage(error: Error): string {
  const first = (error.message.split('\n')[0] ?? '').split('. ')[0] ?? '';
  return first.charAt(0).toLowerCase() + first.slice(1).replace(/\.$/, '');
}

/**
 * parseArgs in strict mode; its errors become InputErrors. Positionals are allowed when
 * `positionals` is true (the command checks how many).
 */
export function parse<T extends Options>(
  args: string[],
  options: T,
  positionals = false,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals });
    return {
      values: parsed.values,
      positionals: parsed.positionals,
    };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
      throw new InputError(shortMessage(error as Error));
    throw error;
  }
}

/** An integer option value in [min, max]. */
export function integerOption(value: string, name: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value)) throw new InputError(`${name} must be an integer, not '${value}'`);
  const number = Number(value);
  if (number < min || number > max) throw new InputError(`${name} must be between ${min} and ${max}, not ${value}`);
  return number;
}

/** A string option's value, when given. */
export function stringValue(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * HOST:PORT, with IPv6 in brackets: 127.0.0.1:8080, localhost:8080, [::1]:8080.
 * The port must be 1..65535 (0 means "any" only when listening).
 */
export function parseHostPort(text: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  let host: string;
  let port: string;
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2] ?? '';
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new InputError(`'${text}' is not HOST:PORT`);
    host = text.slice(0, colon);
    port = text.slice(colon + 1);
    if (host.includes(':')) throw new InputError(`'${text}': an IPv6 address goes in brackets, as in [::1]:${port}`);
  }
  if (host === '') throw new InputError(`'${text}' has no host (HOST:PORT)`);
  if (port === '') throw new InputError(`'${text}' has no port (HOST:PORT)`);
  return { host, port: integerOption(port, 'the port', 1, 65535) };
}
