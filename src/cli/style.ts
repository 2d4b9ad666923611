/**
 * Terminal output: colour only on a TTY, never with --no-color or NO_COLOR (no-color.org),
 * and fixed-width columns so a table can be printed one row at a time.
 * @module
 */
import { styleText } from 'node:util';

type Format = Parameters<typeof styleText>[0];

/** Colours `text`, or leaves it alone when colour is off. */
export type Paint = (format: Format, text: string) => string;

/** Whether to colour what goes to `stream`. */
export function colorEnabled(noColorFlag: boolean, stream: NodeJS.WriteStream = process.stdout): boolean {
  if (noColorFlag) return false;
  const noColor = process.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return stream.isTTY === true;
}

export function painter(enabled: boolean): Paint {
  if (!enabled) return (_format, text) => text;
  return (format, text) => styleText(format, text, { validateStream: false });
}

/** The colour of each typed kind, the same in every command. */
export const KIND_FORMAT: Readonly<Record<string, Format>> = {
  data: 'green',
  sent: 'green',
  eof: 'cyan',
  'would-block': 'yellow',
  timeout: 'magenta',
  interrupted: 'blue',
  error: ['red', 'bold'],
  none: 'gray',
};

export function paintKind(paint: Paint, kind: string, text = kind): string {
  return paint(KIND_FORMAT[kind] ?? 'white', text);
}

/** Pads (or leaves) `text` to `width` columns: left-aligned, or right-aligned with `right`. */
export function pad(text: string, width: number, right = false): string {
  if (text.length >= width) return text;
  const fill = ' '.repeat(width - text.length);
  return right ? fill + text : text + fill;
}

/** Writes one line to stdout. */
export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Writes one line to stderr. */
export function err(line: string): void {
  process.stderr.write(`${line}\n`);
}
