/**
 * The built library: everything `import 'forkjoin'` gives, and what a worker's lock
 * decoder (dist/sync/decode.js) takes from the same instance, so that a task that imports
 * 'forkjoin' meets the very lock classes the runtime revived for it.
 */
export * from './index.js';
export { decodeSync } from './sync/index.js';
