/**
 * Node built-ins that only some paths need, loaded on first use: importing
 * 'forkjoin' should not pay for modules (crypto, v8, child_process) that a
 * program using only a ThreadPool never touches.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const crypto = (): typeof import('node:crypto') => require('node:crypto') as typeof import('node:crypto');
export const v8 = (): typeof import('node:v8') => require('node:v8') as typeof import('node:v8');
export const util = (): typeof import('node:util') => require('node:util') as typeof import('node:util');
export const fsPromises = (): typeof import('node:fs/promises') => require('node:fs/promises') as typeof import('node:fs/promises');
export const http = (): typeof import('node:http') => require('node:http') as typeof import('node:http');
export const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');

/** util.types.isProxy, looked up once: util() requires node:util on every call, which costs as much as a search over arguments per object. */
let proxyTest: ((value: unknown) => boolean) | null = null;
export const isProxy = (value: unknown): boolean => (proxyTest ??= util().types.isProxy)(value);
