/**
 * One line for an error, for the probe and the CLI. Its own module: the CLI needs it before
 * (and without) loading the addon.
 * @module
 */

/** One line for an error: its code (if any) and message, never a stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const first = error.message.split('\n')[0] ?? '';
    return typeof code === 'string' && !first.includes(code) ? `${code}: ${first}` : first;
  }
  return String(error);
}
