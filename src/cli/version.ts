/**
 * The package's own version, from its package.json (two levels up from src/cli and dist/cli).
 * @module
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const VERSION: string = (require('../../package.json') as { version: string }).version;
